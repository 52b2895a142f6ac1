"""Box maths shared by the detector backends: letterbox, un-letterbox, IoU, NMS, YOLO head decoding."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

logger = logging.getLogger(__name__)

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the network input: ``net = orig * scale + (pad_x, pad_y)``."""

    scale: float
    pad_x: float
    pad_y: float
    orig_w: int
    orig_h: int


def letterbox(image: np.ndarray, size: tuple[int, int], pad: int = PAD_VALUE) -> tuple[np.ndarray, Letterbox]:
    """Resize ``image`` (HxWxC) keeping aspect ratio into ``size`` = (height, width), centred, padded."""
    net_h, net_w = size
    h, w = image.shape[:2]
    scale = min(net_h / h, net_w / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x, pad_y = (net_w - new_w) / 2, (net_h - new_h) / 2
    left, top = round(pad_x - 0.1), round(pad_y - 0.1)
    resized = image
    if (new_w, new_h) != (w, h):
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    out = np.full((net_h, net_w, image.shape[2]), pad, dtype=image.dtype)
    out[top:top + new_h, left:left + new_w] = resized
    return out, Letterbox(scale=scale, pad_x=float(left), pad_y=float(top), orig_w=w, orig_h=h)


def unletterbox(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """Map Nx4 xyxy boxes from network pixels back to the original image, clipped to it."""
    out = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - lb.pad_x) / lb.scale
    out[:, [1, 3]] = (out[:, [1, 3]] - lb.pad_y) / lb.scale
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, lb.orig_w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, lb.orig_h)
    return out


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    half_w, half_h = b[:, 2] / 2, b[:, 3] / 2
    return np.stack([b[:, 0] - half_w, b[:, 1] - half_h, b[:, 0] + half_w, b[:, 1] + half_h], axis=1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of Nx4 and Mx4 xyxy boxes -> NxM."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (ix2 - ix1).clip(0) * (iy2 - iy1).clip(0)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def intersection_over_first(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NxM fraction of each box of ``a`` that lies inside each box of ``b`` (plate inside vehicle)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    ix = (np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])).clip(0)
    iy = (np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])).clip(0)
    area_a = ((a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0))[:, None]
    return np.where(area_a > 0, ix * iy / np.maximum(area_a, 1e-9), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_thresh: float) -> np.ndarray:
    """Greedy non-maximum suppression; indices of kept boxes, highest score first."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        ious = iou_matrix(boxes[best:best + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_thresh]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_thresh: float) -> np.ndarray:
    """Class-aware NMS (boxes of different classes never suppress each other)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    offset = (np.asarray(classes, dtype=np.float32) * (float(np.max(boxes)) + 1.0))[:, None]
    return nms(np.asarray(boxes, dtype=np.float32) + offset, scores, iou_thresh)


@dataclass(frozen=True)
class RawDetections:
    """Decoded head output in network pixels, before NMS: boxes Nx4 xyxy, scores N, classes N, coefs NxK."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    mask_coefs: np.ndarray | None = None


def decode_yolo(output: np.ndarray, num_classes: int, conf_thresh: float,
                allowed: frozenset[int] | None = None) -> RawDetections:
    """Decode a YOLOv8/YOLO11 head ``1 x (4 + nc [+ nm]) x N`` (cx, cy, w, h, class scores, mask coefs)."""
    pred = np.asarray(output, dtype=np.float32).reshape(output.shape[-2], output.shape[-1]).T  # N x C
    cls_scores = pred[:, 4:4 + num_classes]
    if allowed is not None:
        mask = np.zeros(num_classes, dtype=bool)
        mask[[c for c in allowed if c < num_classes]] = True
        cls_scores = np.where(mask[None, :], cls_scores, 0.0)
    classes = cls_scores.argmax(axis=1)
    scores = cls_scores[np.arange(len(classes)), classes]
    keep = scores >= conf_thresh
    coefs = pred[keep, 4 + num_classes:] if pred.shape[1] > 4 + num_classes else None
    return RawDetections(boxes=cxcywh_to_xyxy(pred[keep, :4]), scores=scores[keep], classes=classes[keep],
                         mask_coefs=coefs)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def masks_in_boxes(coefs: np.ndarray, protos: np.ndarray, net_boxes: np.ndarray, orig_boxes: np.ndarray,
                   lb: Letterbox, net_size: tuple[int, int]) -> list[np.ndarray]:
    """Per-detection bool masks cropped to each original-image box (HxW of the box, rounded out)."""
    nm, ph, pw = protos.shape[-3:]
    protos = np.asarray(protos, dtype=np.float32).reshape(nm, ph * pw)
    sx, sy = pw / net_size[1], ph / net_size[0]
    out: list[np.ndarray] = []
    for coef, nb, ob in zip(coefs, net_boxes, orig_boxes, strict=True):
        x1, y1 = max(0, int(nb[0] * sx)), max(0, int(nb[1] * sy))
        x2, y2 = min(pw, int(np.ceil(nb[2] * sx)) + 1), min(ph, int(np.ceil(nb[3] * sy)) + 1)
        ow = max(1, int(np.ceil(ob[2])) - int(ob[0]))
        oh = max(1, int(np.ceil(ob[3])) - int(ob[1]))
        if x2 <= x1 or y2 <= y1:
            out.append(np.zeros((oh, ow), dtype=bool))
            continue
        sub = protos.reshape(nm, ph, pw)[:, y1:y2, x1:x2].reshape(nm, -1)
        logits = (coef.astype(np.float32) @ sub).reshape(y2 - y1, x2 - x1)
        gx1, gy1 = x1 / sx, y1 / sy  # network pixels of the patch corner
        scale = 1.0 / (lb.scale * sx)  # original px per proto cell
        warped = cv2.warpAffine(logits, _proto_to_box(scale, gx1, gy1, lb, ob), (ow, oh),
                                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out.append(warped > 0.0)
    return out


def _proto_to_box(scale: float, gx1: float, gy1: float, lb: Letterbox, ob: np.ndarray) -> np.ndarray:
    """Affine map proto-patch cell (u, v) -> pixel in the original box crop."""
    ox = (gx1 - lb.pad_x) / lb.scale - int(ob[0])
    oy = (gy1 - lb.pad_y) / lb.scale - int(ob[1])
    return np.array([[scale, 0, ox + scale / 2 - 0.5], [0, scale, oy + scale / 2 - 0.5]], dtype=np.float32)
