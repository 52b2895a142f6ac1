"""models.ocr_fallback_model: a missing ocr_model file falls back (with a warning); anything else fails."""

from __future__ import annotations

import hashlib
import logging

import pytest

from alpr_edge import models
from alpr_edge.config import EdgeConfig
from alpr_edge.models import ModelError, ModelMissingError
from alpr_edge.ocr import resolve_ocr_files

FILES = {"primary.onnx": b"p", "primary.yaml": b"pc", "original.onnx": b"o", "original.yaml": b"oc"}


@pytest.fixture()
def model_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ALPR_TRAINED_MODEL_DIR", str(tmp_path / "trained"))
    models.file_sha256.cache_clear()
    entries = {}
    for name, data in FILES.items():
        entry = models.ModelEntry(name, name, hashlib.sha256(data).hexdigest(), "https://example.org", "", "", "")
        entries[name] = entry
    monkeypatch.setattr(models, "load_manifest", lambda: entries)
    path = tmp_path / "models"
    path.mkdir()
    for name in ("original.onnx", "original.yaml"):
        (path / name).write_bytes(FILES[name])
    return path


def _cfg(model_dir, **models_kw) -> EdgeConfig:
    base = {"ocr_model": "primary.onnx", "ocr_config": "primary.yaml",
            "ocr_fallback_model": "original.onnx", "ocr_fallback_config": "original.yaml"}
    return EdgeConfig(model_dir=model_dir, models={**base, **models_kw})


@pytest.mark.parametrize(("present", "fallback", "expected"), [
    (("primary.onnx", "primary.yaml"), "original.onnx", ("primary.onnx", "primary.yaml")),
    ((), "original.onnx", ("original.onnx", "original.yaml")),
    (("primary.onnx",), "original.onnx", ("original.onnx", "original.yaml")),  # its config missing: both fall back
])
def test_fallback_only_when_a_primary_file_is_missing(model_dir, caplog, present, fallback, expected):
    for name in present:
        (model_dir / name).write_bytes(FILES[name])
    with caplog.at_level(logging.WARNING, logger="alpr_edge.ocr"):
        model, config = resolve_ocr_files(_cfg(model_dir, ocr_fallback_model=fallback))
    assert (model.name, config.name) == expected
    warned = any("ocr_fallback_model" in r.getMessage() for r in caplog.records)
    assert warned is (expected[0] == "original.onnx")


def test_no_fallback_configured_means_a_missing_model_is_an_error(model_dir):
    with pytest.raises(ModelMissingError, match=r"primary\.onnx"):
        resolve_ocr_files(_cfg(model_dir, ocr_fallback_model=None))


def test_a_corrupt_primary_never_falls_back(model_dir):
    (model_dir / "primary.onnx").write_bytes(b"corrupt")
    (model_dir / "primary.yaml").write_bytes(FILES["primary.yaml"])
    with pytest.raises(ModelError, match="sha256"):
        resolve_ocr_files(_cfg(model_dir))


def test_a_missing_fallback_is_an_error_naming_it(model_dir):
    (model_dir / "original.onnx").unlink()
    with pytest.raises(ModelMissingError, match=r"original\.onnx"):
        resolve_ocr_files(_cfg(model_dir))
