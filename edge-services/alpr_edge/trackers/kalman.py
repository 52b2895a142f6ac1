"""Constant-velocity Kalman filter on (cx, cy, aspect, height), ByteTrack's noise model, via filterpy."""

from __future__ import annotations

import numpy as np
from filterpy.kalman import KalmanFilter

from ..types import BBox

STD_WEIGHT_POSITION = 1.0 / 20
STD_WEIGHT_VELOCITY = 1.0 / 160


def xyxy_to_xyah(box: BBox) -> np.ndarray:
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1, 1e-6), max(y2 - y1, 1e-6)
    return np.array([x1 + w / 2, y1 + h / 2, w / h, h], dtype=float)


def xyah_to_xyxy(state: np.ndarray) -> BBox:
    cx, cy, a, h = (float(v) for v in state[:4])
    w = a * h
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class BoxKalman:
    """One track's filter. State: cx, cy, a, h and their velocities; scale-dependent noise as in ByteTrack."""

    def __init__(self, box: BBox):
        kf = KalmanFilter(dim_x=8, dim_z=4)
        kf.F = np.eye(8)
        for i in range(4):
            kf.F[i, i + 4] = 1.0
        kf.H = np.eye(4, 8)
        z = xyxy_to_xyah(box)
        kf.x = np.r_[z, np.zeros(4)].reshape(8, 1)
        h = z[3]
        std = [2 * STD_WEIGHT_POSITION * h, 2 * STD_WEIGHT_POSITION * h, 1e-2, 2 * STD_WEIGHT_POSITION * h,
               10 * STD_WEIGHT_VELOCITY * h, 10 * STD_WEIGHT_VELOCITY * h, 1e-5, 10 * STD_WEIGHT_VELOCITY * h]
        kf.P = np.diag(np.square(std))
        self._kf = kf

    def predict(self, freeze_height_velocity: bool = False) -> None:
        kf = self._kf
        if freeze_height_velocity:
            kf.x[7, 0] = 0.0
        h = kf.x[3, 0]
        std = [STD_WEIGHT_POSITION * h, STD_WEIGHT_POSITION * h, 1e-2, STD_WEIGHT_POSITION * h,
               STD_WEIGHT_VELOCITY * h, STD_WEIGHT_VELOCITY * h, 1e-5, STD_WEIGHT_VELOCITY * h]
        kf.predict(Q=np.diag(np.square(std)))

    def update(self, box: BBox) -> None:
        h = self._kf.x[3, 0]
        std = [STD_WEIGHT_POSITION * h, STD_WEIGHT_POSITION * h, 1e-1, STD_WEIGHT_POSITION * h]
        self._kf.update(xyxy_to_xyah(box).reshape(4, 1), R=np.diag(np.square(std)))

    @property
    def box(self) -> BBox:
        return xyah_to_xyxy(self._kf.x[:, 0])
