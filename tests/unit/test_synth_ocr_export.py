"""ONNX -> trainable torch -> ONNX: trained weights land in the original graph (same I/O contract).

Needs the training venv (torch, onnx2torch; requirements-training.txt); skipped elsewhere.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

torch = pytest.importorskip("torch")
pytest.importorskip("onnx2torch")
ort = pytest.importorskip("onnxruntime")

from alpr_training.ocr.convert import export_onnx, load_trainable  # noqa: E402


def tiny_recogniser(path):
    """uint8 N x 4 x 6 x 3 -> Cast, /255, flatten, Gemm(transB), MatMul + Add, reshape N x 3 x 5, Softmax."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("scale", np.array(1 / 255, np.float32)), ("shape_in", np.array([-1, 72], np.int64)),
        ("w1", rng.normal(0, 0.1, (16, 72)).astype(np.float32)), ("b1", np.zeros(16, np.float32)),
        ("w2", rng.normal(0, 0.1, (16, 15)).astype(np.float32)), ("b2", rng.normal(0, 0.1, 15).astype(np.float32)),
        ("shape_out", np.array([-1, 3, 5], np.int64))]]
    nodes = [helper.make_node("Cast", ["input"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["f", "scale"], ["s"]),
             helper.make_node("Reshape", ["s", "shape_in"], ["flat"]),
             helper.make_node("Gemm", ["flat", "w1", "b1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["m"]),
             helper.make_node("Add", ["m", "b2"], ["logits"]),
             helper.make_node("Reshape", ["logits", "shape_out"], ["l3"]),
             helper.make_node("Softmax", ["l3"], ["probs"], axis=-1)]
    inputs = [helper.make_tensor_value_info("input", TensorProto.UINT8, ["N", 4, 6, 3])]
    outputs = [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3, 5])]
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))
    return path


def test_trained_weights_are_written_back(tmp_path):
    src = tiny_recogniser(tmp_path / "tiny.onnx")
    model = load_trainable(src)
    linked = {link.initializer for link in model.links}
    assert {"w1", "b1", "w2", "b2"} <= linked and "scale" not in linked  # scalars stay constants
    with torch.no_grad():
        for p in model.module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = np.random.default_rng(1).integers(0, 255, (5, 4, 6, 3), dtype=np.uint8)
    expected = model.module(torch.from_numpy(x)).detach().numpy()
    out = export_onnx(model, tmp_path / "trained.onnx")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    original = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert got.shape == (5, 3, 5)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - original).max() > 1e-3  # the weights did change
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ["input"] and [o.name for o in graph.output] == ["probs"]
