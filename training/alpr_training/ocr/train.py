"""Fine-tune the fast-plate-ocr recogniser on synthetic plates + the training split; export ONNX.

Run through ``scripts/train_ocr.py --config training/configs/ocr_default.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field

from ..synth import PlateSynth, load_layouts
from .convert import Trainable, export_onnx, load_trainable
from .data import InputSpec, RealCrops, encode, load_photos, prepare

logger = logging.getLogger(__name__)


class OcrTrainConfig(BaseModel):
    """``training/configs/*.yaml``: what to start from, what to train on, for how long, where to write."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_model: str = Field("cct_xs_v1_global.onnx", description="Start model, in the model dir (ALPR_MODEL_DIR).")
    base_plate_config: str = Field("cct_xs_v1_global_plate_config.yaml", description="Its fast-plate-ocr config.")
    model_dir: Path | None = Field(None, description="Model dir; None: ALPR_MODEL_DIR, else models/.")
    dev_dirs: list[str] = Field(["data/plates-dev/us", "data/plates-dev/br"],
                                description="Labelled photo folders, relative to ALPR_SHARED_DIR (default ../shared).")
    layouts: Path = Field(Path("config/plate_layouts"), description="Synthetic plate layouts.")
    synth_n: int = Field(8000, ge=0, le=2_000_000, description="Synthetic plates rendered for training.")
    synth_seed: int = Field(0, ge=0, description="Seed of the synthetic plates.")
    confusable_p: float = Field(0.35, ge=0, le=1, description="Share of confusable characters in synthetic text.")
    real_share: float = Field(0.5, ge=0, le=1, description="Share of each batch drawn from training-split crops.")
    steps: int = Field(600, ge=1, le=1_000_000, description="Optimiser steps.")
    batch_size: int = Field(48, ge=1, le=4096, description="Crops per step.")
    lr: float = Field(5e-5, gt=0, le=0.1, description="Peak learning rate (AdamW; linear warm-up, cosine decay).")
    warmup_steps: int = Field(50, ge=0, description="Warm-up steps.")
    weight_decay: float = Field(0.01, ge=0, le=1, description="AdamW weight decay.")
    threads: int = Field(1, ge=1, le=256, description="torch CPU threads (1 on a shared machine).")
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:\d+)?)$", description="Torch device.")
    log_every: int = Field(25, ge=1, description="Progress line every N steps.")
    seed: int = Field(0, ge=0, description="Seed of batch sampling and real-crop jitter.")
    out_dir: Path = Field(Path("output/models"), description="Where the model, its config and metadata go "
                                                             "(git-ignored; weights are never committed).")
    out_name: str = Field("cct_xs_v1_alpr_ft.onnx", pattern=r"^[\w.-]+\.onnx$", description="Exported file name.")


@dataclass(frozen=True)
class TrainResult:
    model: Path
    sha256: str
    seconds: float
    synth_n: int
    real_n: int
    val_before: float
    val_after: float
    val_n: int


def _model_dir(cfg: OcrTrainConfig) -> Path:
    return cfg.model_dir or Path(os.environ.get("ALPR_MODEL_DIR", "models"))


def _shared_dir() -> Path:
    return Path(os.environ.get("ALPR_SHARED_DIR", "../shared"))


def render_synth(cfg: OcrTrainConfig, spec: InputSpec) -> tuple[np.ndarray, np.ndarray]:
    """``synth_n`` synthetic model inputs and targets, cached in ``out_dir`` by their parameters and the
    contents of the layout files (an edited layout renders a new set)."""
    files = [cfg.layouts] if cfg.layouts.is_file() else sorted(cfg.layouts.glob("*.yaml"))
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:10]
    cache = cfg.out_dir / (f"synth_{cfg.synth_seed}_{cfg.synth_n}_{cfg.confusable_p}_{spec.width}x{spec.height}"
                           f"_{digest}.npz")
    if cache.is_file():
        data = np.load(cache)
        return data["x"], data["y"]
    synth = PlateSynth(load_layouts(cfg.layouts), cfg.synth_seed, confusable_p=cfg.confusable_p)
    xs, ys, start = [], [], time.perf_counter()
    for i in range(cfg.synth_n):
        plate = synth.sample(i)
        target = encode(plate.label, spec)
        if target is not None:
            xs.append(prepare(plate.image, spec))
            ys.append(target)
        if (i + 1) % 500 == 0:
            ms = (time.perf_counter() - start) / (i + 1) * 1e3
            logger.info("synth %d/%d (%.0f ms/plate)", i + 1, cfg.synth_n, ms)
    x = np.stack(xs) if xs else np.zeros((0, spec.height, spec.width, 3), np.uint8)
    y = np.array(ys, dtype=np.int64).reshape(len(ys), spec.slots)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=x, y=y)
    return x, y


def _batch(synth: tuple[np.ndarray, np.ndarray], real: RealCrops, cfg: OcrTrainConfig,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_real = round(cfg.batch_size * cfg.real_share) if len(real) else 0
    n_synth = cfg.batch_size - n_real if len(synth[0]) else 0
    idx = rng.integers(0, max(1, len(synth[0])), n_synth)
    xs, ys = [synth[0][idx]], [synth[1][idx]]
    for j in rng.integers(0, max(1, len(real)), n_real):
        x, y = real.draw(int(j), rng)
        xs.append(x[None])
        ys.append(y[None])
    return np.concatenate(xs), np.concatenate(ys)


def _lr(step: int, cfg: OcrTrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _loss(model: Trainable, x: np.ndarray, y: np.ndarray, device: str) -> torch.Tensor:
    probs = model.module(torch.from_numpy(x).to(device))
    log_p = torch.log(probs.clamp_min(1e-7))
    return torch.nn.functional.nll_loss(log_p.reshape(-1, log_p.shape[-1]), torch.from_numpy(y).to(device).reshape(-1))


@torch.no_grad()
def plate_accuracy(model: Trainable, x: np.ndarray, y: np.ndarray, device: str, batch: int = 64) -> float:
    """Share of crops whose every slot is read right (the recogniser alone, no priors)."""
    if not len(x):
        return float("nan")
    model.module.eval()
    hits = 0
    for i in range(0, len(x), batch):
        pred = model.module(torch.from_numpy(x[i:i + batch]).to(device)).argmax(-1).cpu().numpy()
        hits += int((pred == y[i:i + batch]).all(axis=1).sum())
    model.module.train()
    return hits / len(x)


def _train_loop(model: Trainable, synth: tuple[np.ndarray, np.ndarray], real: RealCrops, cfg: OcrTrainConfig) -> None:
    params = [p for p in model.module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    model.module.train()
    start, running = time.perf_counter(), []
    for step in range(cfg.steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg)
        x, y = _batch(synth, real, cfg, rng)
        loss = _loss(model, x, y, cfg.device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        running.append(float(loss.detach()))
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            elapsed = time.perf_counter() - start
            eta = elapsed / (step + 1) * (cfg.steps - step - 1)
            logger.info("step %d/%d loss=%.4f lr=%.2e %.2f s/step eta=%.0f s", step + 1, cfg.steps,
                        float(np.mean(running[-cfg.log_every:])), _lr(step, cfg), elapsed / (step + 1), eta)


def _write_outputs(cfg: OcrTrainConfig, model: Trainable, plate_config: Path, meta: dict) -> tuple[Path, str]:
    out = export_onnx(model, cfg.out_dir / cfg.out_name)
    shutil.copyfile(plate_config, cfg.out_dir / (out.stem + "_plate_config.yaml"))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    (cfg.out_dir / (out.stem + ".json")).write_text(json.dumps({**meta, "sha256": digest}, indent=2, default=str))
    return out, digest


def train(cfg: OcrTrainConfig) -> TrainResult:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    model_dir = _model_dir(cfg)
    plate_config = model_dir / cfg.base_plate_config
    spec = InputSpec.from_plate_config(yaml.safe_load(plate_config.read_text(encoding="utf-8")))
    folders = [_shared_dir() / d for d in cfg.dev_dirs]
    real = RealCrops(load_photos(folders, "training"), spec)
    val_x, val_y = RealCrops(load_photos(folders, "validation"), spec).fixed()
    synth = render_synth(cfg, spec)
    logger.info("data: %d synthetic, %d training-split crops, %d validation crops",
                len(synth[0]), len(real), len(val_x))
    model = load_trainable(model_dir / cfg.base_model)
    model.module.to(cfg.device)
    before = plate_accuracy(model, val_x, val_y, cfg.device)
    logger.info("validation crops, recogniser alone, before: %.3f", before)
    _train_loop(model, synth, real, cfg)
    after = plate_accuracy(model, val_x, val_y, cfg.device)
    logger.info("validation crops, recogniser alone, after: %.3f", after)
    model.module.cpu()
    seconds = time.perf_counter() - t0
    meta = {"base_model": cfg.base_model, "config": cfg.model_dump(mode="json"), "seconds": round(seconds, 1),
            "synth_n": len(synth[0]), "real_training_crops": len(real), "val_crop_top1_before": before,
            "val_crop_top1_after": after, "torch": torch.__version__}
    out, digest = _write_outputs(cfg, model, plate_config, meta)
    return TrainResult(out, digest, seconds, len(synth[0]), len(real), before, after, len(val_x))
