"""Make the repository's packages importable when a script runs from a plain checkout (no pip install -e)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for sub in (".", "edge-services", "core-services", "training"):
    path = str((ROOT / sub).resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
