"""Derive a faster CPU variant of an Ultralytics YOLO ONNX export: fp32 weights, other input size.

ONNX Runtime's CPU provider has few float16 kernels, so an fp16 export runs slowly there; a dynamically
quantised int8 export (``ConvInteger`` + ``DynamicQuantizeLinear`` per layer) runs its convolutions
without the fused fp32 kernels (yolo11n at 320: 69 ms int8 vs 47 ms fp32 on one Zen 1 core); and a static
640x640 export cannot be fed a smaller image. :func:`derive_yolo_onnx` rewrites the graph (needs the
``onnx`` package): every fp16 tensor becomes fp32, every ``ConvInteger`` becomes a ``Conv`` with its
dequantised weights, the input becomes ``1x3xHxW`` and the head's baked anchor/stride tables, DFL reshapes
and YOLO11's attention reshapes (``C2PSA``, stride-32 grid) are recomputed for that size. Results are
cached next to the sha256 cache (``$ALPR_CACHE_DIR/derived``), never in the model folder or in git.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

STRIDES = (8, 16, 32)


def anchor_tables(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """YOLOv8 anchor centres ``1x2xN`` and strides ``1xN`` for an input of ``size`` = (height, width)."""
    points, strides = [], []
    for stride in STRIDES:
        rows, cols = size[0] // stride, size[1] // stride
        ys, xs = np.meshgrid(np.arange(rows) + 0.5, np.arange(cols) + 0.5, indexing="ij")
        points.append(np.stack([xs.ravel(), ys.ravel()]))
        strides.append(np.full(rows * cols, float(stride)))
    anchors = np.concatenate(points, axis=1)[None].astype(np.float32)
    return anchors, np.concatenate(strides)[None].astype(np.float32)


def derived_path(src: Path, size: tuple[int, int]) -> Path:
    base = Path(os.environ.get("ALPR_CACHE_DIR", Path.home() / ".cache" / "ovr-alpr")) / "derived"
    stat = src.stat()
    key = hashlib.sha1(f"{src.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|v2".encode()).hexdigest()[:12]
    return base / f"{src.stem}_fp32_{size[0]}x{size[1]}_{key}.onnx"


def _to_fp32(model) -> None:
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT16:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), init.name))
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.FLOAT
            if attr.type == attr.TENSOR and attr.t.data_type == TensorProto.FLOAT16:
                arr = numpy_helper.to_array(attr.t).astype(np.float32)
                attr.t.CopyFrom(numpy_helper.from_array(arr, attr.t.name))
    for value in [*graph.input, *graph.output]:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT16:
            value.type.tensor_type.elem_type = TensorProto.FLOAT
    del graph.value_info[:]


def _dequantize(model) -> int:
    """``DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul(scale)`` becomes ``Conv`` on fp32 weights."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced: dict[int, Any] = {}
    dropped: set[int] = set()
    weights: list = []
    for node in graph.node:
        if node.op_type != "ConvInteger":
            continue
        x_q, w_q, _x_zero, w_zero = node.input
        cast = consumers[node.output[0]][0]
        scaled = consumers[cast.output[0]][0]
        scale_mul = producer[next(i for i in scaled.input if i != cast.output[0])]
        w_scale = next(i for i in scale_mul.input if i in inits)
        quantised = numpy_helper.to_array(inits[w_q]).astype(np.float32)
        per_channel = (-1, *([1] * (quantised.ndim - 1)))
        zero = numpy_helper.to_array(inits[w_zero]).astype(np.float32).reshape(per_channel)
        scale = numpy_helper.to_array(inits[w_scale]).astype(np.float32).reshape(per_channel)
        weights.append(numpy_helper.from_array((quantised - zero) * scale, f"{w_q}_dequantised"))
        conv = helper.make_node("Conv", [producer[x_q].input[0], weights[-1].name], [scaled.output[0]],
                                name=f"{node.name or 'ConvInteger'}_dequantised_{len(replaced)}")
        conv.attribute.extend(node.attribute)
        replaced[id(node)] = conv
        dropped.update({id(cast), id(scaled), id(scale_mul)})
    nodes = [replaced.get(id(node), node) for node in graph.node if id(node) not in dropped]
    used = {name for node in nodes for name in node.input} | {out.name for out in graph.output}
    nodes = [n for n in nodes if n.op_type != "DynamicQuantizeLinear" or any(o in used for o in n.output)]
    used = {name for node in nodes for name in node.input}
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend([*kept, *weights])
    return len(replaced)


def _resize_attention(model, old: tuple[int, int], size: tuple[int, int]) -> None:
    """YOLO11's C2PSA reshapes to ``[.., h*w]`` and back to ``[.., h, w]`` on the stride-32 grid."""
    from onnx import numpy_helper

    graph = model.graph
    targets = {node.input[1] for node in graph.node if node.op_type == "Reshape"}
    (oh, ow), (nh, nw) = [(h // STRIDES[-1], w // STRIDES[-1]) for h, w in (old, size)]
    for i, init in enumerate(graph.initializer):
        if init.name not in targets:
            continue
        arr = numpy_helper.to_array(init)
        if arr.ndim != 1 or arr.size != 4 or arr.dtype != np.int64:
            continue
        if tuple(arr[-2:]) == (oh, ow):
            new = np.array([*arr[:2], nh, nw], dtype=np.int64)
        elif arr[-1] == oh * ow and arr[0] == 1 and arr[1] > 0:
            new = np.array([*arr[:3], nh * nw], dtype=np.int64)
        else:
            continue
        graph.initializer[i].CopyFrom(numpy_helper.from_array(new, init.name))


def _resize_head(model, size: tuple[int, int], old_n: int) -> None:
    from onnx import numpy_helper

    graph = model.graph
    anchors, strides = anchor_tables(size)
    new_n = anchors.shape[-1]
    for i, init in enumerate(graph.initializer):
        arr = numpy_helper.to_array(init)
        is_target = arr.ndim == 1 and arr.dtype == np.int64 and old_n in arr
        if old_n not in arr.shape and not is_target:
            continue
        if arr.ndim == 3 and arr.shape[1] == 2 and arr.size == 2 * old_n:
            new = anchors
        elif arr.size == old_n and np.all(np.isin(arr, STRIDES)):
            new = strides.reshape((*arr.shape[:-1], new_n))
        elif is_target:  # DFL reshape target
            new = np.where(arr == old_n, new_n, arr).astype(np.int64)
        else:
            raise ValueError(f"cannot resize initializer {init.name} of shape {arr.shape}")
        graph.initializer[i].CopyFrom(numpy_helper.from_array(new.astype(arr.dtype), init.name))
    for dim, value in zip(graph.input[0].type.tensor_type.shape.dim[2:], size, strict=True):
        dim.dim_value = value
    for out in graph.output:
        for dim in out.type.tensor_type.shape.dim:
            if dim.dim_value == old_n:
                dim.dim_value = new_n
            elif dim.dim_value and out.name != graph.output[0].name:
                dim.dim_value = 0  # protos: let ORT infer
                dim.dim_param = "p"


def _inline_shape_constants(model) -> None:
    """Turn ``Constant`` nodes into initializers so :func:`_resize_head` sees every table."""
    from onnx import numpy_helper

    graph = model.graph
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(node.attribute[0].t),
                                                             node.output[0]))
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def derive_yolo_onnx(src: Path, size: tuple[int, int] | None = None) -> Path:
    """Path of the fp32 (and ``size`` = (height, width) input) variant of ``src``, built and cached."""
    import onnx

    model = onnx.load(str(src))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    old = (dims[2].dim_value or 640, dims[3].dim_value or 640)
    height, width = size or old
    size = (height, width)
    dst = derived_path(src, size)
    if dst.is_file():
        return dst
    _to_fp32(model)
    dequantised = _dequantize(model)
    if size != old:
        if size[0] % 32 or size[1] % 32:
            raise ValueError(f"input size {size} must be multiples of 32")
        _inline_shape_constants(model)
        old_n = sum((old[0] // s) * (old[1] // s) for s in STRIDES)
        _resize_head(model, size, old_n)
        _resize_attention(model, old, size)
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(dst)
    logger.info("derived %s (fp32%s, %dx%d) from %s", dst.name, f", {dequantised} convs dequantised" if dequantised
                else "", size[0], size[1], src.name)
    return dst
