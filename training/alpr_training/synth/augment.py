"""Camera effects that real plate crops show, applied to a rendered RGBA plate -> BGR crop.

Order: paste on a car-body background with a crop margin, perspective, lighting (night/IR), glare, dirt,
partial occlusion, motion or defocus blur, low resolution, sensor noise, JPEG. Each effect has its own
probability (:class:`AugmentSettings`); everything is drawn from the caller's generator (deterministic).
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class AugmentSettings(BaseModel):
    """Probabilities and strengths of the effects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin_x_max: float = Field(0.15, ge=0, le=0.5, description="Largest crop margin left/right, share of width.")
    margin_y_max: float = Field(0.3, ge=0, le=1, description="Largest crop margin above/below, share of height.")
    perspective: float = Field(0.08, ge=0, le=0.3, description="Largest corner shift, share of the crop size.")
    night_p: float = Field(0.15, ge=0, le=1, description="Chance of a night or infrared look.")
    glare_p: float = Field(0.15, ge=0, le=1, description="Chance of a glare spot.")
    dirt_p: float = Field(0.25, ge=0, le=1, description="Chance of dirt blotches.")
    occlusion_p: float = Field(0.1, ge=0, le=1, description="Chance of an edge partly covered.")
    motion_blur_p: float = Field(0.25, ge=0, le=1, description="Chance of motion blur.")
    defocus_p: float = Field(0.2, ge=0, le=1, description="Chance of defocus blur.")
    low_res_p: float = Field(0.45, ge=0, le=1, description="Chance of a low-resolution round trip.")
    low_res_width_px: tuple[int, int] = Field((40, 110), description="Width range of the low-res step (px).")
    noise_p: float = Field(0.3, ge=0, le=1, description="Chance of sensor noise.")
    jpeg_p: float = Field(0.6, ge=0, le=1, description="Chance of JPEG compression.")
    jpeg_quality: tuple[int, int] = Field((15, 90), description="JPEG quality range.")
    out_width_px: tuple[int, int] = Field((90, 260), description="Width range of the final crop (px).")


def _place(plate: np.ndarray, rng: np.random.Generator, s: AugmentSettings) -> np.ndarray:
    """The plate on a textured car-body colour with random margins (BGR float32)."""
    h, w = plate.shape[:2]
    mx, my = int(w * rng.uniform(0.01, s.margin_x_max)), int(h * rng.uniform(0.03, s.margin_y_max))
    body = rng.uniform(0, 255, 3).astype(np.float32)
    canvas = np.empty((h + 2 * my, w + 2 * mx, 3), np.float32)
    canvas[:] = body
    canvas += rng.normal(0, rng.uniform(2, 12), canvas.shape[:2])[..., None].astype(np.float32)
    alpha = plate[..., 3:4].astype(np.float32) / 255
    rgb = plate[..., 2::-1].astype(np.float32)  # RGBA -> BGR
    region = canvas[my:my + h, mx:mx + w]
    canvas[my:my + h, mx:mx + w] = rgb * alpha + region * (1 - alpha)
    return canvas


def _perspective(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    h, w = img.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = rng.uniform(-strength, strength, (4, 2)) * np.array([w, h])
    tilt = rng.uniform(-0.06, 0.06) * w  # a plate seen from a side: one vertical edge shorter
    dst = (src + jitter + np.array([[0, -tilt], [0, tilt], [0, -tilt], [0, tilt]]) * 0.3).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _lighting(img: np.ndarray, rng: np.random.Generator, s: AugmentSettings) -> np.ndarray:
    if rng.random() < s.night_p:
        gray = img.mean(axis=2, keepdims=True)
        if rng.random() < 0.5:  # infrared: grey, retro-reflective plate bright, characters dark
            img = np.repeat(np.clip((gray - 90) * rng.uniform(1.3, 2.2) + 110, 0, 255), 3, axis=2)
        else:  # night: dark, warm street light
            img = img * rng.uniform(0.15, 0.45) * np.array([0.8, 0.95, 1.15])
    gain, bias = rng.uniform(0.7, 1.25), rng.uniform(-35, 35)
    return img * gain + bias


def _glare(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.1, 0.5) * w
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) * rng.uniform(80, 220)
    return img + blob[..., None]


def _dirt(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    mask: np.ndarray = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(3, 15))):
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (int(rng.integers(2, max(3, w // 10))), int(rng.integers(2, max(3, h // 6))))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.2, 0.6)), -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 100))
    dirt = np.array([40, 60, 80]) * rng.uniform(0.5, 1.2)
    return img * (1 - mask[..., None]) + dirt * mask[..., None]


def _occlude(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Covers a strip at one edge (tow bar, bumper, frame): never a whole character."""
    h, w = img.shape[:2]
    out = img.copy()
    colour = rng.uniform(0, 255, 3)
    side = int(rng.integers(4))
    if side == 0:
        out[: int(h * rng.uniform(0.05, 0.25))] = colour
    elif side == 1:
        out[h - int(h * rng.uniform(0.05, 0.25)):] = colour
    elif side == 2:
        out[:, : int(w * rng.uniform(0.02, 0.08))] = colour
    else:
        out[:, w - int(w * rng.uniform(0.02, 0.08)):] = colour
    return out


def _blur(img: np.ndarray, rng: np.random.Generator, s: AugmentSettings) -> np.ndarray:
    if rng.random() < s.motion_blur_p:
        size = int(rng.integers(3, 10))
        kernel: np.ndarray = np.zeros((size, size), np.float32)
        kernel[size // 2, :] = 1 / size
        rot = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(rng.uniform(-30, 30)), 1)
        kernel = cv2.warpAffine(kernel, rot, (size, size))
        img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    if rng.random() < s.defocus_p:
        radius = int(rng.integers(1, 4))
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)).astype(np.float32)
        img = cv2.filter2D(img, -1, disk / disk.sum())
    return img


def _low_res(img: np.ndarray, rng: np.random.Generator, s: AugmentSettings) -> np.ndarray:
    h, w = img.shape[:2]
    small_w = int(rng.integers(s.low_res_width_px[0], s.low_res_width_px[1] + 1))
    if small_w >= w:
        return img
    small = cv2.resize(img, (small_w, max(2, round(h * small_w / w))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _finish(img: np.ndarray, rng: np.random.Generator, s: AugmentSettings) -> np.ndarray:
    h, w = img.shape[:2]
    out_w = int(rng.integers(s.out_width_px[0], s.out_width_px[1] + 1))
    img = cv2.resize(img, (out_w, max(8, round(h * out_w / w))), interpolation=cv2.INTER_AREA)
    if rng.random() < s.noise_p:
        img = img + rng.normal(0, rng.uniform(2, 12), img.shape).astype(np.float32)
    out: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < s.jpeg_p:
        quality = int(rng.integers(s.jpeg_quality[0], s.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        out = out if decoded is None else decoded
    return out


def augment(plate_rgba: np.ndarray, rng: np.random.Generator, settings: AugmentSettings | None = None) -> np.ndarray:
    """A BGR uint8 crop of the plate as a camera and a plate detector would deliver it."""
    s = settings or AugmentSettings()
    img = _perspective(_place(plate_rgba, rng, s), rng, s.perspective)
    img = _lighting(img, rng, s)
    if rng.random() < s.glare_p:
        img = _glare(img, rng)
    if rng.random() < s.dirt_p:
        img = _dirt(img, rng)
    if rng.random() < s.occlusion_p:
        img = _occlude(img, rng)
    img = _blur(img, rng, s)
    if rng.random() < s.low_res_p:
        img = _low_res(img, rng, s)
    return _finish(img, rng, s)
