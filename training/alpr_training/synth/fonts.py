"""Font files for the renderer: keys of a layout's ``fonts`` map to TrueType file names in the font dirs.

The default table names fonts of Debian's ``fonts-dejavu-core``, ``fonts-dejavu-extra`` and
``fonts-liberation`` (free licences; ``scripts/system_deps.sh`` installs them). Font dirs: the
``ALPR_FONT_DIRS`` environment variable (``:``-separated), else ``/usr/share/fonts``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

DEFAULT_FONTS: dict[str, str] = {
    "sans_bold": "DejaVuSans-Bold.ttf",
    "sans_condensed_bold": "DejaVuSansCondensed-Bold.ttf",
    "sans_condensed": "DejaVuSansCondensed.ttf",
    "mono_bold": "DejaVuSansMono-Bold.ttf",
    "serif_bold": "DejaVuSerif-Bold.ttf",
    "serif_italic": "DejaVuSerif-Italic.ttf",
    "narrow_bold": "LiberationSansNarrow-Bold.ttf",
    "narrow": "LiberationSansNarrow-Regular.ttf",
    "liberation_bold": "LiberationSans-Bold.ttf",
    "liberation_mono_bold": "LiberationMono-Bold.ttf",
}


class FontError(LookupError):
    """A font key is unknown or its file is not installed."""


def font_dirs() -> list[Path]:
    raw = os.environ.get("ALPR_FONT_DIRS", "/usr/share/fonts")
    return [Path(p) for p in raw.split(":") if p]


@lru_cache(maxsize=64)
def find_font_file(file_name: str) -> Path:
    """The first ``file_name`` under the font dirs (searched recursively)."""
    for base in font_dirs():
        direct = base / file_name
        if direct.is_file():
            return direct
        for hit in sorted(base.rglob(file_name)) if base.is_dir() else []:
            return hit
    raise FontError(f"font file {file_name} not found under {', '.join(map(str, font_dirs()))} "
                    f"(install fonts-dejavu-core fonts-dejavu-extra fonts-liberation: scripts/system_deps.sh, "
                    f"or set ALPR_FONT_DIRS)")


def resolve_font(key: str, extra: dict[str, str] | None = None) -> Path:
    """Font file of ``key``: the layout's own table first, then :data:`DEFAULT_FONTS`."""
    table = {**DEFAULT_FONTS, **(extra or {})}
    if key not in table:
        raise FontError(f"unknown font key {key!r}; known: {', '.join(sorted(table))}")
    return find_font_file(table[key])


@lru_cache(maxsize=256)
def load_font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size=max(4, size_px))
