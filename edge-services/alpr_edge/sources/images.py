"""A folder of images played as a stream (sorted by name); unreadable files are skipped and counted."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from .base import SourceError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


class ImageFolderSource:
    live = False

    def __init__(self, folder: str, loop: bool = False, fps: float | None = 2.0):
        self.folder, self.loop, self.fps = Path(folder), loop, fps
        self._files: list[Path] = []
        self._next = 0
        self.read_errors = 0

    def open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError(f"image folder not found: {self.folder}")
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.folder}")
        self._next = 0

    def read(self) -> np.ndarray | None:
        for _ in range(len(self._files)):
            if self._next >= len(self._files):
                if not self.loop:
                    return None
                self._next = 0
            path = self._files[self._next]
            self._next += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                return image
            self.read_errors += 1
            logger.warning("folder=%s skipping unreadable image %s", self.folder, path.name)
        return None

    def close(self) -> None:
        self._files = []
