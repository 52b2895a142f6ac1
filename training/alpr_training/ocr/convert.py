"""ONNX recogniser <-> trainable torch graph, with the weights written back into the original graph.

:func:`load_trainable` converts the ONNX model with onnx2torch and turns every float constant the graph
computes with (onnx2torch keeps MatMul/Add operands as buffers) into a trainable parameter, remembering
which ONNX initializer each tensor came from. :func:`export_onnx` copies the trained tensors back into
those initializers: the exported file is the original graph with new weights, so its input (``N x 64 x 128
x 3`` uint8 RGB) and output (``N x slots x alphabet`` probabilities) are exactly those of the original.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from onnx2torch import convert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TensorLink:
    """Torch tensor ``name`` holds ONNX initializer ``initializer`` (``transposed``: as its transpose)."""

    name: str
    initializer: str
    transposed: bool


@dataclass
class Trainable:
    module: torch.nn.Module
    graph: onnx.ModelProto
    links: list[TensorLink]


def _promote_buffers(module: torch.nn.Module, min_numel: int) -> None:
    """Float buffers with at least ``min_numel`` values become parameters (scalars stay constants)."""
    for full_name, buf in list(module.named_buffers()):
        if not buf.is_floating_point() or buf.numel() < min_numel:
            continue
        owner_name, _, attr = full_name.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        del owner._buffers[attr]
        owner.register_parameter(attr, torch.nn.Parameter(buf.detach().clone()))


def _link(named: dict[str, torch.Tensor], graph: onnx.ModelProto) -> list[TensorLink]:
    """Match each torch tensor to the initializer with the same values (as is, or transposed)."""
    inits = [(i.name, numpy_helper.to_array(i)) for i in graph.graph.initializer]
    links, used = [], set()
    for name, tensor in named.items():
        value = tensor.detach().cpu().numpy()
        for init_name, arr in inits:
            if init_name in used or arr.dtype.kind != "f" or arr.size != value.size:
                continue
            if arr.shape == value.shape and np.array_equal(arr, value):
                links.append(TensorLink(name, init_name, False))
            elif arr.ndim == 2 and arr.T.shape == value.shape and np.array_equal(arr.T, value):
                links.append(TensorLink(name, init_name, True))
            else:
                continue
            used.add(init_name)
            break
    return links


def load_trainable(path: Path, min_numel: int = 2) -> Trainable:
    """The ONNX recogniser as a torch module whose weights can be trained and written back."""
    graph = onnx.load(str(path))
    module = convert(graph)
    _promote_buffers(module, min_numel)
    params = dict(module.named_parameters())
    links = _link(params, graph)
    unlinked = sorted(set(params) - {link.name for link in links})
    for name in unlinked:  # not in the ONNX file as such (e.g. derived): keep it fixed
        params[name].requires_grad_(False)
    logger.info("%d trainable tensors linked to ONNX initializers, %d frozen (unlinked)", len(links), len(unlinked))
    return Trainable(module, graph, links)


def export_onnx(model: Trainable, path: Path) -> Path:
    """Write the original graph with the trained weights to ``path``."""
    graph = onnx.ModelProto()
    graph.CopyFrom(model.graph)
    params = dict(model.module.named_parameters())
    by_name = {init.name: init for init in graph.graph.initializer}
    for link in model.links:
        value = params[link.name].detach().cpu().numpy()
        value = value.T if link.transposed else value
        init = by_name[link.initializer]
        dtype = numpy_helper.to_array(init).dtype
        init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(value.astype(dtype)), link.initializer))
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(graph, str(path))
    return path
