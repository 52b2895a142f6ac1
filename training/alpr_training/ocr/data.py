"""Training data of the recogniser: synthetic plates and crops of the dev photos' *training* split only.

Crops follow the reader's: the labelled box widened by a margin (the edge's ``ocr.margin`` is 0.1 of the
width), resized to the model input exactly as ``FastPlateRecognizer.prepare`` does (linear, RGB).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..splits import in_split, normalize_plate


@dataclass(frozen=True)
class InputSpec:
    """The model's input and output contract (from its fast-plate-ocr plate config)."""

    width: int
    height: int
    slots: int
    alphabet: str
    pad_char: str

    @classmethod
    def from_plate_config(cls, data: dict) -> InputSpec:
        return cls(int(data["img_width"]), int(data["img_height"]), int(data["max_plate_slots"]),
                   str(data["alphabet"]), str(data["pad_char"]))


@dataclass(frozen=True)
class LabelledPhoto:
    """One dev photo with its plate box ``(x1, y1, x2, y2)`` and normalised plate text."""

    image: Path
    box: tuple[float, float, float, float]
    plate: str


def prepare(crop_bgr: np.ndarray, spec: InputSpec) -> np.ndarray:
    """BGR crop -> ``H x W x 3`` uint8 RGB model input (as ``FastPlateRecognizer.prepare``)."""
    resized = cv2.resize(crop_bgr, (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)


def encode(label: str, spec: InputSpec) -> np.ndarray | None:
    """Slot indices of ``label`` padded with the pad char; None if it does not fit the model."""
    text = normalize_plate(label)
    if not text or len(text) > spec.slots or any(c not in spec.alphabet for c in text):
        return None
    return np.array([spec.alphabet.index(c) for c in text.ljust(spec.slots, spec.pad_char)], dtype=np.int64)


def decode(indices: Iterable[int], spec: InputSpec) -> str:
    return "".join(spec.alphabet[i] for i in indices).replace(spec.pad_char, "")


def load_photos(folders: Iterable[Path], split: str) -> list[LabelledPhoto]:
    """Photos of ``split`` (``training``/``validation``/``all``) from openalpr-format folders."""
    photos = []
    for folder in folders:
        for txt in sorted(folder.glob("*.txt")):
            parts = txt.read_text(encoding="utf-8").strip().split("\t")
            if len(parts) < 6:
                continue
            x, y, w, h = (float(v) for v in parts[1:5])
            plate = normalize_plate(parts[5])
            if in_split(plate, split):
                photos.append(LabelledPhoto(txt.parent / parts[0], (x, y, x + w, y + h), plate))
    return photos


def crop_box(image: np.ndarray, box: tuple[float, float, float, float], margin_x: float,
             margin_y: float) -> np.ndarray:
    """The box widened by ``margin_x`` of its width and ``margin_y`` of its height on each side."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin_x, (y2 - y1) * margin_y
    h, w = image.shape[:2]
    xa, ya = max(0, round(x1 - dx)), max(0, round(y1 - dy))
    xb, yb = min(w, round(x2 + dx)), min(h, round(y2 + dy))
    return image[ya:yb, xa:xb]


class RealCrops:
    """Dev-photo crops with a fresh random margin, brightness and blur each time they are drawn."""

    def __init__(self, photos: list[LabelledPhoto], spec: InputSpec):
        self.spec = spec
        self.items = []
        for photo in photos:
            image = cv2.imread(str(photo.image))
            target = encode(photo.plate, spec)
            if image is not None and target is not None:
                self.items.append((image, photo.box, target))

    def __len__(self) -> int:
        return len(self.items)

    def draw(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        image, box, target = self.items[index]
        crop = crop_box(image, box, rng.uniform(0.0, 0.2), rng.uniform(0.0, 0.35))
        out: np.ndarray = crop.astype(np.float32) * rng.uniform(0.75, 1.25) + rng.uniform(-25, 25)
        if rng.random() < 0.3:
            out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5))
        return prepare(np.clip(out, 0, 255).astype(np.uint8), self.spec), target

    def fixed(self) -> tuple[np.ndarray, np.ndarray]:
        """Every crop once at the reader's default margin (0.1), for evaluation."""
        xs = [prepare(crop_box(img, box, 0.1, 0.1), self.spec) for img, box, _ in self.items]
        ys = [t for _, _, t in self.items]
        empty = np.zeros((0, self.spec.height, self.spec.width, 3), np.uint8)
        return (np.stack(xs) if xs else empty), np.array(ys, dtype=np.int64).reshape(len(ys), self.spec.slots)
