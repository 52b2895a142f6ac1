"""Deriving fp32 variants of ONNX exports: dynamic-int8 convolutions dequantised, attention reshapes resized.

Tiny graphs built here with ``onnx.helper`` (no model files); the int8 one is quantised by ONNX Runtime's own
``quantize_dynamic``, the tool that made the shared int8 exports (``ConvInteger`` + ``DynamicQuantizeLinear``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from alpr_edge.detectors.derive import _dequantize, _resize_attention, derive_yolo_onnx


def _conv_model(path: Path, size: int = 32) -> Path:
    """x (1x3xSxS) -> Conv 3x3 (8 ch, bias) -> Relu -> Conv 1x1 (4 ch) -> y."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.normal(0, 0.5, (4, 8, 1, 1)).astype(np.float32), "w2")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, size, size])
    graph = helper.make_graph(nodes, "tiny", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))
    return path


def _run(path: Path | str, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.fixture
def int8_model(tmp_path: Path) -> tuple[Path, Path]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = _conv_model(tmp_path / "fp32.onnx")
    int8 = tmp_path / "int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv"])
    assert any(n.op_type == "ConvInteger" for n in onnx.load(str(int8)).graph.node)
    return fp32, int8


def test_dequantised_convs_match_the_float_model(int8_model: tuple[Path, Path], tmp_path: Path) -> None:
    fp32, int8 = int8_model
    model = onnx.load(str(int8))
    assert _dequantize(model) == 2
    ops = {n.op_type for n in model.graph.node}
    assert not ops & {"ConvInteger", "DynamicQuantizeLinear", "Cast"} and "Conv" in ops
    onnx.checker.check_model(model)
    out = tmp_path / "dq.onnx"
    onnx.save(model, str(out))
    x = np.random.default_rng(1).random((1, 3, 32, 32), dtype=np.float32)
    want, got, quantised = _run(fp32, x), _run(out, x), _run(int8, x)
    scale = float(np.abs(want).max())
    assert np.abs(got - want).max() < 0.02 * scale  # weights only lose their 8-bit rounding
    assert np.abs(got - want).max() < np.abs(quantised - want).max()  # closer than int8 activations


def test_a_float_model_has_nothing_to_dequantise(tmp_path: Path) -> None:
    model = onnx.load(str(_conv_model(tmp_path / "fp32.onnx")))
    before = [n.op_type for n in model.graph.node]
    assert _dequantize(model) == 0 and [n.op_type for n in model.graph.node] == before


def test_derive_writes_a_cached_fp32_variant(int8_model: tuple[Path, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPR_CACHE_DIR", str(tmp_path / "cache"))
    _, int8 = int8_model
    derived = derive_yolo_onnx(int8)
    assert derived.parent == tmp_path / "cache" / "derived" and derived.is_file()
    assert not any(n.op_type == "ConvInteger" for n in onnx.load(str(derived)).graph.node)
    assert derive_yolo_onnx(int8) == derived  # cached: the same file, not rebuilt
    with pytest.raises(ValueError, match="multiples of 32"):
        derive_yolo_onnx(int8, (200, 320))


def _reshape_model(targets: dict[str, list[int]]) -> onnx.ModelProto:
    inits = [numpy_helper.from_array(np.array(v, dtype=np.int64), k) for k, v in targets.items()]
    nodes = [helper.make_node("Reshape", ["x", name], [f"y_{name}"]) for name in targets]
    graph = helper.make_graph(nodes, "r", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info(f"y_{k}", TensorProto.FLOAT, None) for k in targets],
                              inits)
    return helper.make_model(graph)


@pytest.mark.parametrize(
    ("old", "size", "target", "expected"),
    [
        ((320, 320), (192, 320), [1, 2, 128, 100], [1, 2, 128, 60]),  # C2PSA: heads x dims x (h*w)
        ((320, 320), (192, 320), [1, 128, 10, 10], [1, 128, 6, 10]),  # back to the stride-32 grid
        ((640, 640), (384, 640), [1, 256, 20, 20], [1, 256, 12, 20]),
        ((320, 320), (192, 320), [1, -1, 1, 1], [1, -1, 1, 1]),  # bias reshapes stay
        ((320, 320), (192, 320), [1, 4, 16, 2100], [1, 4, 16, 2100]),  # DFL: the head's job, not this one
    ],
)
def test_attention_reshapes_follow_the_input_size(old: tuple[int, int], size: tuple[int, int],
                                                  target: list[int], expected: list[int]) -> None:
    model = _reshape_model({"shape": target})
    _resize_attention(model, old, size)
    assert numpy_helper.to_array(model.graph.initializer[0]).tolist() == expected
