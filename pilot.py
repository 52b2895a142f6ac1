#!/usr/bin/env python3
"""Edge launcher: ``python pilot.py [--config DIR] [--source URI] ...`` (see alpr_edge.cli)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
for sub in ("", "edge-services"):
    path = str(ROOT / sub) if sub else str(ROOT)
    if path not in sys.path:
        sys.path.insert(0, path)

from alpr_edge.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
