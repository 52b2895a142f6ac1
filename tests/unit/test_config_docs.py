"""docs/configuration.md is generated from the pydantic models and must match them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_current() -> None:
    res = subprocess.run([sys.executable, "scripts/gen_config_docs.py", "--check"], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


def test_every_field_is_documented_with_a_description() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) > 100
    undocumented = [row.split("|")[1].strip() for row in rows if row.split("|")[5].strip() == ""]
    assert not undocumented, f"fields without a description: {undocumented}"
