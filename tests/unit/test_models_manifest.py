"""models/manifest.yaml and model resolution (sha256, missing files)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from alpr_edge import models
from alpr_edge.models import ModelError, load_manifest, resolve_model

SHARED_FILES = {
    "yolo11n_coco_int8_320.onnx", "yolov8n_coco_int8_640.onnx", "platedet_yolov8s-seg_plate_640_fp16.onnx",
    "yolov8n_plate_int8_320.onnx", "cct_xs_v1_global.onnx", "cct_xs_v1_global_plate_config.yaml",
}


# Made by scripts/train_ocr.py (docs/training.md), not downloadable: the source says how to make them.
TRAINED_FILES = {"cct_xs_v1_alpr_ft.onnx", "cct_xs_v1_alpr_ft_plate_config.yaml"}


def test_manifest_lists_every_shared_model_with_sha_and_source():
    entries = {e.file: e for e in load_manifest().values()}
    assert set(entries) == SHARED_FILES | TRAINED_FILES
    for entry in entries.values():
        made_here = entry.file in TRAINED_FILES and "scripts/train_ocr.py" in entry.source
        assert len(entry.sha256) == 64 and (entry.source.startswith("https://") or made_here) and entry.license


@pytest.fixture()
def model_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPR_CACHE_DIR", str(tmp_path / "cache"))
    models.file_sha256.cache_clear()
    return tmp_path / "models"


def test_missing_model_names_file_and_url(model_dir):
    model_dir.mkdir()
    with pytest.raises(ModelError) as err:
        resolve_model("cct_xs_v1_global.onnx", model_dir)
    assert "cct_xs_v1_global.onnx" in str(err.value)
    assert "https://github.com/ankandrew/fast-plate-ocr" in str(err.value)


def test_sha256_mismatch_is_an_error(model_dir):
    model_dir.mkdir()
    (model_dir / "cct_xs_v1_global.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="sha256"):
        resolve_model("cct_xs_v1_global", model_dir)
    assert resolve_model("cct_xs_v1_global", model_dir, verify=False).name == "cct_xs_v1_global.onnx"


def test_sha256_match_and_cache(model_dir, monkeypatch):
    model_dir.mkdir()
    data = b"fake weights"
    (model_dir / "w.onnx").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    entry = models.ModelEntry("w", "w.onnx", digest, "https://example.org/w", "", "", "")
    monkeypatch.setattr(models, "load_manifest", lambda: {"w": entry, "w.onnx": entry})
    assert resolve_model("w", model_dir) == model_dir / "w.onnx"
    assert (Path(models._cache_file())).is_file()
    models.file_sha256.cache_clear()
    monkeypatch.setattr(models.hashlib, "sha256", None)  # a second resolve must come from the disk cache
    assert resolve_model("w.onnx", model_dir) == model_dir / "w.onnx"


def test_unknown_model_outside_manifest_resolves_unverified(model_dir):
    model_dir.mkdir()
    (model_dir / "custom.onnx").write_bytes(b"x")
    assert resolve_model("custom.onnx", model_dir) == model_dir / "custom.onnx"


@pytest.fixture()
def trained_dir(tmp_path, monkeypatch):
    path = tmp_path / "trained"
    path.mkdir()
    monkeypatch.setenv("ALPR_TRAINED_MODEL_DIR", str(path))
    return path


def _fake_entry(monkeypatch, name: str, data: bytes, source: str) -> None:
    entry = models.ModelEntry(name, f"{name}.onnx", hashlib.sha256(data).hexdigest(), source, "", "ocr", "MIT")
    monkeypatch.setattr(models, "load_manifest", lambda: {name: entry, entry.file: entry})


def test_a_model_made_here_is_found_in_the_trained_folder_after_the_model_folder(
        model_dir, trained_dir, monkeypatch):
    model_dir.mkdir()
    _fake_entry(monkeypatch, "ft", b"trained", "made here: scripts/train_ocr.py --config x.yaml")
    (trained_dir / "ft.onnx").write_bytes(b"trained")
    assert resolve_model("ft", model_dir) == trained_dir / "ft.onnx"
    (model_dir / "ft.onnx").write_bytes(b"trained")   # the model folder wins when it has the file
    assert resolve_model("ft", model_dir) == model_dir / "ft.onnx"


def test_a_missing_model_made_here_names_the_command_that_makes_it(model_dir, trained_dir, monkeypatch):
    model_dir.mkdir()
    _fake_entry(monkeypatch, "ft", b"trained", "made here: scripts/train_ocr.py --config x.yaml")
    with pytest.raises(models.ModelMissingError, match=r"scripts/train_ocr.py --config x.yaml"):
        resolve_model("ft", model_dir)


def test_a_trained_file_with_the_wrong_sha256_is_an_error_not_a_miss(model_dir, trained_dir, monkeypatch):
    model_dir.mkdir()
    _fake_entry(monkeypatch, "ft", b"trained", "made here: scripts/train_ocr.py")
    (trained_dir / "ft.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="sha256") as err:
        resolve_model("ft", model_dir)
    assert not isinstance(err.value, models.ModelMissingError)


@pytest.mark.parametrize(("record", "accepted"), [
    ({"sha256": hashlib.sha256(b"local build").hexdigest()}, True),   # made on this machine: intact
    ({"sha256": hashlib.sha256(b"other").hexdigest()}, False),        # changed since it was made
    (None, False),                                                    # no training record
])
def test_a_local_build_of_a_model_made_here_is_accepted_by_its_training_record(
        model_dir, trained_dir, monkeypatch, record, accepted):
    import json

    model_dir.mkdir()
    _fake_entry(monkeypatch, "ft", b"reference build", "made here: scripts/train_ocr.py")
    (trained_dir / "ft.onnx").write_bytes(b"local build")
    if record is not None:
        (trained_dir / "ft.json").write_text(json.dumps(record), encoding="utf-8")
    if accepted:
        assert resolve_model("ft", model_dir) == trained_dir / "ft.onnx"
    else:
        with pytest.raises(ModelError, match="sha256"):
            resolve_model("ft", model_dir)


def test_a_downloaded_model_is_never_accepted_by_a_record(model_dir, monkeypatch):
    import json

    model_dir.mkdir()
    _fake_entry(monkeypatch, "m", b"reference", "https://example.org/m.onnx")
    (model_dir / "m.onnx").write_bytes(b"tampered")
    (model_dir / "m.json").write_text(json.dumps({"sha256": hashlib.sha256(b"tampered").hexdigest()}))
    with pytest.raises(ModelError, match="sha256"):
        resolve_model("m", model_dir)
