"""Derive a faster CPU variant of an Ultralytics YOLO ONNX export: float16 -> float32, other input size.

ONNX Runtime's CPU provider has few float16 kernels, so an fp16 export runs slowly there; and a static
640x640 export cannot be fed a smaller image. :func:`derive_yolo_onnx` rewrites the graph (needs the
``onnx`` package): every fp16 tensor becomes fp32, the input becomes ``1x3xSxS`` and the head's baked
anchor/stride tables and DFL reshapes are recomputed for ``S``. Results are cached next to the sha256
cache (``$ALPR_CACHE_DIR/derived``), never in the model folder or in git.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

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
    key = hashlib.sha1(f"{src.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|v1".encode()).hexdigest()[:12]
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
    if size != old:
        if size[0] % 32 or size[1] % 32:
            raise ValueError(f"input size {size} must be multiples of 32")
        _inline_shape_constants(model)
        old_n = sum((old[0] // s) * (old[1] // s) for s in STRIDES)
        _resize_head(model, size, old_n)
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(dst)
    logger.info("derived %s (fp32, %dx%d) from %s", dst.name, size[0], size[1], src.name)
    return dst
