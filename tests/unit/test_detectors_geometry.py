"""Letterbox/un-letterbox maths, IoU, NMS and YOLO head decoding (table-driven, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.detectors.derive import anchor_tables
from alpr_edge.detectors.geometry import (
    Letterbox,
    batched_nms,
    cxcywh_to_xyxy,
    decode_yolo,
    intersection_over_first,
    iou_matrix,
    letterbox,
    masks_in_boxes,
    nms,
    unletterbox,
)
from alpr_edge.detectors.onnx_yolo import rect_shape


@pytest.mark.parametrize(
    ("img_hw", "net", "scale", "pad_x", "pad_y"),
    [
        ((720, 1280), (640, 640), 0.5, 0, 140),
        ((1280, 720), (640, 640), 0.5, 140, 0),
        ((640, 640), (640, 640), 1.0, 0, 0),
        ((100, 200), (320, 320), 1.6, 0, 80),
        ((720, 1280), (192, 320), 0.25, 0, 6),
    ],
)
def test_letterbox_scale_and_padding(img_hw, net, scale, pad_x, pad_y):
    image = np.zeros((*img_hw, 3), dtype=np.uint8)
    out, lb = letterbox(image, net)
    assert out.shape == (*net, 3)
    assert lb.scale == pytest.approx(scale)
    assert (lb.pad_x, lb.pad_y) == (pad_x, pad_y)
    if pad_y:
        assert (out[: pad_y - 1] == 114).all()
    if pad_x:
        assert (out[:, : pad_x - 1] == 114).all()


@pytest.mark.parametrize(
    ("box", "lb", "expected"),
    [
        ((100, 240, 300, 340), Letterbox(0.5, 0, 140, 1280, 720), (200, 200, 600, 400)),
        ((0, 0, 640, 640), Letterbox(0.5, 0, 140, 1280, 720), (0, 0, 1280, 720)),  # clipped
        ((150, 10, 170, 20), Letterbox(0.5, 140, 0, 720, 1280), (20, 20, 60, 40)),
    ],
)
def test_unletterbox(box, lb, expected):
    assert unletterbox(np.array([box]), lb)[0] == pytest.approx(expected)


def test_letterbox_roundtrip_of_a_box():
    image = np.zeros((480, 1000, 3), dtype=np.uint8)
    _, lb = letterbox(image, (320, 320))
    orig = np.array([[100.0, 50.0, 300.0, 120.0]])
    net = orig * lb.scale + [lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y]
    assert unletterbox(net, lb) == pytest.approx(orig)


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (10, 10, 20, 20), 0.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
        ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),
        ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),
    ],
)
def test_iou(a, b, iou):
    assert iou_matrix(np.array([a]), np.array([b]))[0, 0] == pytest.approx(iou)


def test_intersection_over_first():
    inside = intersection_over_first(np.array([[2, 2, 4, 4], [8, 0, 12, 2]]), np.array([[0, 0, 10, 10]]))
    assert inside[:, 0] == pytest.approx([1.0, 0.5])


@pytest.mark.parametrize(
    ("boxes", "scores", "thresh", "kept"),
    [
        ([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60)], [0.9, 0.8, 0.7], 0.5, [0, 2]),
        ([(0, 0, 10, 10), (1, 1, 11, 11)], [0.6, 0.9], 0.5, [1]),
        ([(0, 0, 10, 10), (5, 0, 15, 10)], [0.9, 0.8], 0.5, [0, 1]),  # IoU 0.33 kept
        ([(0, 0, 10, 10), (5, 0, 15, 10)], [0.9, 0.8], 0.3, [0]),
        ([], [], 0.5, []),
    ],
)
def test_nms(boxes, scores, thresh, kept):
    assert nms(np.array(boxes, dtype=np.float32), np.array(scores), thresh).tolist() == kept


def test_batched_nms_keeps_overlapping_boxes_of_other_classes():
    boxes = np.array([(0, 0, 10, 10), (1, 1, 11, 11)], dtype=np.float32)
    assert sorted(batched_nms(boxes, np.array([0.9, 0.8]), np.array([2, 7]), 0.5).tolist()) == [0, 1]
    assert batched_nms(boxes, np.array([0.9, 0.8]), np.array([2, 2]), 0.5).tolist() == [0]


def test_cxcywh_to_xyxy():
    assert cxcywh_to_xyxy(np.array([[50, 40, 20, 10]]))[0] == pytest.approx([40, 35, 60, 45])


def _head(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float32).T[None]  # 1 x C x N, like the exported head


@pytest.mark.parametrize(
    ("rows", "nc", "conf", "allowed", "classes", "n_coefs"),
    [
        ([[50, 50, 20, 10, 0.9]], 1, 0.25, None, [0], 0),  # one-class detect head
        ([[50, 50, 20, 10, 0.1]], 1, 0.25, None, [], 0),  # below threshold
        ([[50, 50, 20, 10, 0.1, 0.8, 0.3]], 3, 0.25, None, [1], 0),  # argmax class
        ([[50, 50, 20, 10, 0.9, 0.1, 0.3]], 3, 0.25, frozenset({1, 2}), [2], 0),  # class filter
        ([[50, 50, 20, 10, 0.9, *[0.5] * 32]], 1, 0.25, None, [0], 32),  # seg head coefficients
    ],
)
def test_decode_yolo(rows, nc, conf, allowed, classes, n_coefs):
    raw = decode_yolo(_head(rows), nc, conf, allowed)
    assert raw.classes.tolist() == classes
    if classes:
        assert raw.boxes[0] == pytest.approx([40, 45, 60, 55])
    if n_coefs:
        assert raw.mask_coefs.shape == (1, n_coefs)
    else:
        assert raw.mask_coefs is None


def test_masks_in_boxes_follow_the_protos():
    # one prototype equal to +1 in the left half of the grid, -1 in the right half; coefficient 1
    protos = -np.ones((1, 32, 32), dtype=np.float32)
    protos[:, :, :16] = 1.0
    lb = Letterbox(scale=1.0, pad_x=0, pad_y=0, orig_w=128, orig_h=128)
    box = np.array([[32.0, 32.0, 96.0, 64.0]])
    (mask,) = masks_in_boxes(np.ones((1, 1)), protos, box, box, lb, (128, 128))
    assert mask.shape == (32, 64)
    assert mask[:, :28].all() and not mask[:, 36:].any()


@pytest.mark.parametrize(
    ("img_hw", "long_side", "shape"),
    [((720, 1280), 320, (192, 320)), ((1280, 720), 320, (320, 192)), ((600, 600), 384, (384, 384)),
     ((960, 1280), 640, (480, 640))],
)
def test_rect_shape(img_hw, long_side, shape):
    assert rect_shape(img_hw, long_side) == shape


@pytest.mark.parametrize(("size", "n"), [((640, 640), 8400), ((320, 320), 2100), ((192, 320), 1260)])
def test_anchor_tables(size, n):
    anchors, strides = anchor_tables(size)
    assert anchors.shape == (1, 2, n) and strides.shape == (1, n)
    assert anchors[0, :, 0].tolist() == [0.5, 0.5]
    assert strides[0, 0] == 8 and strides[0, -1] == 32
