"""Model files: resolve a name through ``models/manifest.yaml`` in the model folder, verify its sha256.

The model folder is ``EdgeConfig.model_dir`` (env ``ALPR_MODEL_DIR``). Weights are never committed; a
missing file raises :class:`ModelMissingError` naming the file and the URL to download it from (or, for a
model made here, the command that makes it). Models made here (``scripts/train_ocr.py``) are also found in
the trained-model folder (env ``ALPR_TRAINED_MODEL_DIR``, default ``output/models`` under the repo root),
after the model folder. Verified hashes are cached (in memory and in ``$ALPR_CACHE_DIR/sha256.json``,
keyed by path, size and mtime) so a restart does not re-hash hundreds of megabytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "models" / "manifest.yaml"


class ModelError(RuntimeError):
    """A model file is missing, unreadable, unknown or does not match its sha256."""


class ModelMissingError(ModelError):
    """The model file is in neither the model folder nor the trained-model folder."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    file: str
    sha256: str
    source: str
    input: str
    task: str
    license: str


@lru_cache(maxsize=4)
def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, ModelEntry]:
    """Manifest entries keyed by both ``name`` and ``file``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries: dict[str, ModelEntry] = {}
    for raw in data.get("models", []):
        entry = ModelEntry(**{k: str(raw.get(k, "")) for k in ModelEntry.__dataclass_fields__})
        entries[entry.name] = entry
        entries[entry.file] = entry
    return entries


def resolve_model_dir(model_dir: str | Path | None = None) -> Path:
    """The configured folder; a relative one that does not exist is also tried from the repo root."""
    raw = Path(model_dir) if model_dir else Path(os.environ.get("ALPR_MODEL_DIR", "models"))
    if raw.is_absolute() or raw.is_dir():
        return raw
    alt = REPO_ROOT / raw
    return alt if alt.is_dir() else raw


def trained_model_dir() -> Path:
    """Where ``scripts/train_ocr.py`` writes the models it makes (searched after the model folder)."""
    raw = Path(os.environ.get("ALPR_TRAINED_MODEL_DIR", "output/models"))
    return raw if raw.is_absolute() else REPO_ROOT / raw


def _cache_file() -> Path:
    base = Path(os.environ.get("ALPR_CACHE_DIR", Path.home() / ".cache" / "ovr-alpr"))
    return base / "sha256.json"


def _read_cache() -> dict[str, str]:
    try:
        return json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_cache(cache: dict[str, str]) -> None:
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache, indent=0, sort_keys=True), encoding="utf-8")
    except OSError as exc:  # a read-only home only costs a re-hash next time
        logger.debug("cannot write sha256 cache %s: %s", path, exc)


@lru_cache(maxsize=64)
def file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """sha256 of ``path``; ``size``/``mtime_ns`` are the cache key (in memory and on disk)."""
    key = f"{path.resolve()}|{size}|{mtime_ns}"
    cache = _read_cache()
    if key in cache:
        return cache[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    cache[key] = digest.hexdigest()
    _write_cache(cache)
    return cache[key]


def _missing_message(name: str, path: Path, entry: ModelEntry | None) -> str:
    if entry and entry.source.startswith("made here"):
        where = f"it is {entry.source}; make it, or copy it into the model folder or {trained_model_dir()}"
    elif entry:
        where = f"download it from {entry.source} and put it in the model folder"
    else:
        where = "it is not listed in models/manifest.yaml; put it in the model folder"
    return f"model file {name!r} not found at {path}; {where} (model_dir / ALPR_MODEL_DIR, now {path.parent})"


def _local_build(entry: ModelEntry, path: Path, actual: str) -> bool:
    """A model made here on this machine: its training record (``NAME.json`` beside it, written by
    ``scripts/train_ocr.py``) holds the file's own sha256. Another CPU gives other float bits, so a local
    build cannot have the manifest's (reference) sha256; the record still proves the file is intact."""
    if not entry.source.startswith("made here"):
        return False
    try:
        recorded = json.loads(path.with_suffix(".json").read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):
        return False
    if recorded != actual:
        return False
    logger.info("model %s is a local build (sha256 %s, in its training record %s); the manifest's reference "
                "build is %s", path, actual[:12], path.with_suffix(".json").name, entry.sha256[:12])
    return True


def resolve_model(name: str, model_dir: str | Path | None = None, verify: bool = True) -> Path:
    """Path of model ``name`` (manifest name or file name, or a path) after an optional sha256 check."""
    entry = load_manifest().get(name) or load_manifest().get(Path(name).name)
    candidate = Path(name)
    if candidate.is_absolute() or (len(candidate.parts) > 1 and candidate.is_file()):
        path = candidate
    else:
        path = resolve_model_dir(model_dir) / (entry.file if entry else name)
        made_here = trained_model_dir() / path.name
        if not path.is_file() and made_here.is_file():
            path = made_here
    if not path.is_file():
        raise ModelMissingError(_missing_message(name, path, entry))
    if verify and entry and entry.sha256:
        stat = path.stat()
        actual = file_sha256(path, stat.st_size, stat.st_mtime_ns)
        if actual != entry.sha256 and not _local_build(entry, path, actual):
            raise ModelError(f"model file {path} has sha256 {actual}, the manifest expects {entry.sha256}; "
                             f"re-download it from {entry.source}")
    elif verify and not entry:
        logger.warning("model %s is not in models/manifest.yaml; sha256 not verified", path)
    return path
