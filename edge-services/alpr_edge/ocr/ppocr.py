"""PP-OCRv4 second opinion on a plate crop: text-line detection, then recognition of the tallest line.

The ONNX files are the ones inside the ``rapidocr_onnxruntime`` wheel (``rapidocr:FILE`` in
``models.ppocr_det_model`` / ``models.ppocr_rec_model``), run here with ONNX Runtime directly. US plates
carry a state name and a slogan above and below the registration, so the whole crop is not one text line:
the detector's probability map is split into lines and the tallest one (the registration) is recognised.
The recogniser's output (about 6600 classes, Chinese included) is reduced to blank + ``0-9A-Z`` (a lower-case
letter counts as its capital, every other class as a separator) and CTC-decoded greedily.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..types import BBox, OcrResult, PlateCandidate

logger = logging.getLogger(__name__)

PLATE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
REC_HEIGHT = 48
MAX_REC_RATIO = 12  # recogniser input width at most 12 x its height
DET_THRESH, BOX_THRESH, UNCLIP = 0.3, 0.5, 1.6  # PP-OCR DB post-processing defaults


def resolve_ppocr_model(name: str, model_dir: Path) -> Path:
    """``rapidocr:FILE`` -> FILE in the installed rapidocr_onnxruntime package's models folder (the
    package is located, not imported); anything else is a path, relative ones under ``model_dir``."""
    if name.startswith("rapidocr:"):
        spec = importlib.util.find_spec("rapidocr_onnxruntime")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{name} needs `pip install rapidocr_onnxruntime` (requirements-edge.txt)")
        path = Path(next(iter(spec.submodule_search_locations))) / "models" / name.split(":", 1)[1]
    else:
        path = Path(name) if Path(name).is_absolute() else model_dir / name
    if not path.is_file():
        raise RuntimeError(f"PP-OCR model not found: {path}")
    return path


def plate_groups(characters: list[str]) -> list[list[int]]:
    """For each of ``0-9A-Z``: the recogniser classes that mean it (the character and its lower case)."""
    index: dict[str, list[int]] = {}
    for i, ch in enumerate(characters):
        key = ch.upper() if len(ch) == 1 else ""
        if key and key in PLATE_ALPHABET:
            index.setdefault(key, []).append(i)
    return [index.get(c, []) for c in PLATE_ALPHABET]


def plate_table(probs: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """``T x classes`` softmax -> ``T x 37``: column 0 blank or any non-plate class, then ``0-9A-Z``."""
    table = np.zeros((probs.shape[0], len(groups) + 1), np.float32)
    for j, cols in enumerate(groups, 1):
        if cols:
            table[:, j] = probs[:, cols].sum(axis=1)
    table[:, 0] = np.clip(1.0 - table[:, 1:].sum(axis=1), 0.0, 1.0)
    return table


def ctc_greedy(table: np.ndarray, alphabet: str = PLATE_ALPHABET) -> OcrResult:
    """Greedy CTC decoding of a ``T x (1 + len(alphabet))`` table (column 0 blank).

    A character's confidence is its best step's probability; the read's confidence is their product.
    """
    text: list[str] = []
    confs: list[float] = []
    prev = 0
    for step, cls in enumerate(table.argmax(axis=1)):
        p = float(table[step, cls])
        if cls and cls == prev:
            confs[-1] = max(confs[-1], p)
        elif cls:
            text.append(alphabet[cls - 1])
            confs.append(p)
        prev = int(cls)
    read = "".join(text)
    conf = float(np.prod(confs)) if confs else 0.0
    return OcrResult(text=read, confidence=conf, char_confidences=tuple(confs),
                     candidates=(PlateCandidate(read, conf),) if read else ())


def text_lines(prob_map: np.ndarray, scale_x: float, scale_y: float) -> list[tuple[BBox, float]]:
    """Axis-aligned text boxes (crop pixels) and their mean probability from a DB probability map."""
    binary = cv2.dilate((prob_map > DET_THRESH).astype(np.uint8), np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=4)
    lines = []
    for i in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[i])
        score = float(prob_map[labels == i].mean())
        if min(w, h) < 2 or score < BOX_THRESH:
            continue
        grow = w * h * UNCLIP / (2 * (w + h))  # the DB "unclip" distance of an axis-aligned box
        box = ((x - grow) * scale_x, (y - grow) * scale_y, (x + w + grow) * scale_x, (y + h + grow) * scale_y)
        lines.append((box, score))
    return lines


@dataclass
class PpOcrLineReader:
    """``read(crop)``: the tallest text line of a BGR plate crop, read by PP-OCRv4 (``0-9A-Z`` only)."""

    det_session: object
    rec_session: object
    det_imgsz: int = 160

    def __post_init__(self) -> None:
        meta = self.rec_session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
        self.groups = plate_groups(["<blank>", *meta["character"].splitlines(), " "])

    def tallest_line(self, crop: np.ndarray) -> np.ndarray:
        h, w = crop.shape[:2]
        scale = self.det_imgsz / max(h, w)
        size = (max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32))
        blob = ((cv2.resize(crop, size).astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        sess = self.det_session
        prob = sess.run(None, {sess.get_inputs()[0].name: blob})[0][0, 0]  # type: ignore[attr-defined]
        lines = text_lines(prob, w / prob.shape[1], h / prob.shape[0])
        if not lines:
            return crop[0:0]
        x1, y1, x2, y2 = max(lines, key=lambda line: line[0][3] - line[0][1])[0]
        return crop[max(0, round(y1)):min(h, round(y2)), max(0, round(x1)):min(w, round(x2))]

    def recognise(self, line: np.ndarray) -> OcrResult:
        h, w = line.shape[:2]
        width = min(REC_HEIGHT * MAX_REC_RATIO, max(REC_HEIGHT, math.ceil(REC_HEIGHT * w / h)))
        blob = np.zeros((1, 3, REC_HEIGHT, width), np.float32)
        blob[0] = ((cv2.resize(line, (width, REC_HEIGHT)).astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        sess = self.rec_session
        probs = sess.run(None, {sess.get_inputs()[0].name: blob})[0][0]  # type: ignore[attr-defined]
        return ctc_greedy(plate_table(probs, self.groups))

    def read(self, crop: np.ndarray) -> OcrResult:
        if crop.size == 0 or min(crop.shape[:2]) < 4:
            return OcrResult(text="", confidence=0.0)
        line = self.tallest_line(crop)
        if line.size == 0 or min(line.shape[:2]) < 4:
            return OcrResult(text="", confidence=0.0)
        return self.recognise(line)
