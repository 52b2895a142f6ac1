"""Draw a clean plate (RGBA, transparent outside its rounded corners) from a :class:`PlateLayout`."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .fonts import load_font, resolve_font
from .layout import Band, PlateLayout, TextRow
from .text import SEPARATORS, PlateText

RGB = tuple[int, int, int]


def hex_rgb(colour: str) -> RGB:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@lru_cache(maxsize=4096)
def glyph_mask(font_path: Path, char: str, cell_w: int, cell_h: int) -> Image.Image:
    """``char`` fitted to ``cell_h`` (full height) and at most ``cell_w`` wide, centred in an L image."""
    font = load_font(font_path, cell_h * 2)
    left, top, right, bottom = (int(v) for v in font.getbbox(char))
    glyph = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(glyph).text((-left, -top), char, font=font, fill=255)
    scale = cell_h / glyph.height
    width = max(1, min(cell_w, round(glyph.width * scale)))
    glyph = glyph.resize((width, cell_h), Image.Resampling.LANCZOS)
    cell = Image.new("L", (cell_w, cell_h), 0)
    cell.paste(glyph, ((cell_w - width) // 2, 0))
    return cell


def _text_area(layout: PlateLayout) -> tuple[float, float]:
    """Left and right x (mm) the character rows may use."""
    left = layout.border_mm + 3
    if layout.band is not None and layout.band.side == "left":
        left = layout.band.size_mm + 2
    return left, layout.width_mm - layout.border_mm - 3


def _row_cells(row: TextRow, text: str, scale: float) -> list[tuple[str, float, float]]:
    """(char, x offset mm, width mm) of each character or separator of ``text``, squeezed by ``scale``."""
    cells, x = [], 0.0
    for i, char in enumerate(text):
        width = row.separator_width_mm if char in SEPARATORS else row.char_width_mm
        cells.append((char, x * scale, width * scale))
        x += width + (row.spacing_mm if i < len(text) - 1 else 0)
    return cells


def _row_width_mm(row: TextRow, text: str) -> float:
    cells = _row_cells(row, text, 1.0)
    return cells[-1][1] + cells[-1][2] if cells else 0.0


def draw_row(img: Image.Image, layout: PlateLayout, row: TextRow, text: str, px_mm: float, font_key: str) -> None:
    left, right = _text_area(layout)
    width = _row_width_mm(row, text)
    scale = min(1.0, (right - left) / width) if width else 1.0
    x0 = left + (right - left - width * scale) / 2
    y0 = row.centre_y_mm - row.height_mm / 2
    font_path = resolve_font(font_key, layout.fonts)
    colour = hex_rgb(row.colour)
    draw = ImageDraw.Draw(img)
    for char, dx, w in _row_cells(row, text, scale):
        x, h = (x0 + dx) * px_mm, row.height_mm * px_mm
        if char == "-":
            bar = max(2.0, h * 0.1)
            draw.rectangle([x + w * px_mm * 0.15, y0 * px_mm + h / 2 - bar / 2,
                            x + w * px_mm * 0.85, y0 * px_mm + h / 2 + bar / 2], fill=colour)
        elif char == "·":
            r = max(1.5, w * px_mm * 0.35)
            cx, cy = x + w * px_mm / 2, y0 * px_mm + h / 2
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif char != " ":
            mask = glyph_mask(font_path, char, max(2, round(w * px_mm)), max(2, round(h)))
            img.paste(Image.new("RGB", mask.size, colour), (round(x), round(y0 * px_mm)), mask)


def draw_band(img: Image.Image, band: Band, layout: PlateLayout, px_mm: float) -> None:
    draw = ImageDraw.Draw(img)
    w, h = img.size
    size = band.size_mm * px_mm
    box = (0, 0, size, h) if band.side == "left" else (0, 0, w, size)
    draw.rectangle(box, fill=hex_rgb(band.colour))
    if band.stars:
        cx, cy, radius = size / 2, h * 0.32, size * 0.3
        for k in range(12):
            sx, sy = cx + radius * math.cos(k * math.pi / 6), cy + radius * math.sin(k * math.pi / 6)
            r = max(1.0, size * 0.045)
            draw.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(255, 204, 0))
    if band.code:
        font = load_font(resolve_font(band.code_font, layout.fonts), round(band.code_height_mm * px_mm * 1.3))
        anchor_xy = (size / 2, h * 0.75) if band.side == "left" else (w * 0.9, size / 2)
        draw.text(anchor_xy, band.code, font=font, fill=(255, 255, 255), anchor="mm")


def draw_captions(img: Image.Image, layout: PlateLayout, rng: np.random.Generator, px_mm: float) -> None:
    draw = ImageDraw.Draw(img)
    for cap in layout.captions:
        if rng.random() >= cap.probability:
            continue
        text = cap.texts[int(rng.integers(len(cap.texts)))]
        font = load_font(resolve_font(cap.font, layout.fonts), round(cap.height_mm * px_mm * 1.3))
        cx = (cap.centre_x_mm if cap.centre_x_mm is not None else layout.width_mm / 2) * px_mm
        draw.text((cx, cap.centre_y_mm * px_mm), text, font=font, fill=hex_rgb(cap.colour), anchor="mm")


def draw_extras(img: Image.Image, layout: PlateLayout, rng: np.random.Generator, px_mm: float) -> None:
    """Stickers, screws and a dealer frame."""
    draw = ImageDraw.Draw(img)
    for st in layout.stickers:
        if rng.random() < st.probability:
            box = [st.x_mm * px_mm, st.y_mm * px_mm, (st.x_mm + st.width_mm) * px_mm,
                   (st.y_mm + st.height_mm) * px_mm]
            fill = hex_rgb(st.colours[int(rng.integers(len(st.colours)))])
            (draw.ellipse if st.round else draw.rectangle)(box, fill=fill)
    if layout.screws is not None and rng.random() < layout.screws.probability:
        r = layout.screws.radius_mm * px_mm
        for x, y in layout.screws.positions_mm:
            shade = int(rng.integers(90, 200))
            draw.ellipse([x * px_mm - r, y * px_mm - r, x * px_mm + r, y * px_mm + r], fill=(shade,) * 3)
    frame = layout.frame
    if frame is not None and rng.random() < frame.probability:
        w, h = img.size
        fw = frame.width_mm * px_mm
        colour = hex_rgb(frame.colours[int(rng.integers(len(frame.colours)))])
        draw.rectangle([0, 0, w - 1, h - 1], outline=colour, width=max(1, round(fw)))
        draw.rectangle([0, h - fw * 1.6, w, h], fill=colour)
        if frame.texts:
            text = frame.texts[int(rng.integers(len(frame.texts)))]
            font = load_font(resolve_font("sans_bold", layout.fonts), round(fw * 1.2))
            inv = tuple(255 - c for c in colour)
            draw.text((w / 2, h - fw * 0.8), text, font=font, fill=inv, anchor="mm")


def _background(layout: PlateLayout, rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    colours = [layout.background, *layout.background_alt]
    base = np.array(hex_rgb(colours[int(rng.integers(len(colours)))]), dtype=np.float32)
    ramp = 1 + layout.gradient * np.linspace(0.5, -0.5, size[1], dtype=np.float32) * rng.uniform(-1, 1)
    arr = np.clip(base[None, None, :] * ramp[:, None, None], 0, 255).astype(np.uint8)
    return Image.fromarray(np.repeat(arr, size[0], axis=1), "RGB")


def render_plate(layout: PlateLayout, text: PlateText, rng: np.random.Generator,
                 px_per_mm: float = 1.2) -> np.ndarray:
    """``H x W x 4`` uint8 RGBA plate (alpha 0 outside the rounded corners)."""
    size = (round(layout.width_mm * px_per_mm), round(layout.height_mm * px_per_mm))
    img = _background(layout, rng, size)
    if layout.band is not None:
        draw_band(img, layout.band, layout, px_per_mm)
    if layout.border_mm > 0:
        ImageDraw.Draw(img).rounded_rectangle([0, 0, size[0] - 1, size[1] - 1],
                                              radius=layout.corner_radius_mm * px_per_mm,
                                              outline=hex_rgb(layout.border_colour),
                                              width=max(1, round(layout.border_mm * px_per_mm)))
    draw_captions(img, layout, rng, px_per_mm)
    for row, row_text in zip(layout.rows, text.rows, strict=True):
        draw_row(img, layout, row, row_text, px_per_mm, row.fonts[int(rng.integers(len(row.fonts)))])
    draw_extras(img, layout, rng, px_per_mm)
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).rounded_rectangle([0, 0, size[0] - 1, size[1] - 1],
                                            radius=layout.corner_radius_mm * px_per_mm, fill=255)
    img.putalpha(alpha)
    return np.asarray(img)
