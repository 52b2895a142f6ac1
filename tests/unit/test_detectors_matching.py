"""Plate-to-vehicle matching, box expansion and detection shifting."""

from __future__ import annotations

import pytest

from alpr_edge.detectors.base import expand_box, match_plates_to_vehicles, onnx_providers, shift_detection
from alpr_edge.types import Detection


def det(box, label="plate", score=0.9, class_id=0):
    return Detection(xyxy=tuple(float(v) for v in box), score=score, class_id=class_id, label=label)


CAR_A = det((0, 0, 400, 300), "car", class_id=2)
CAR_B = det((350, 0, 800, 300), "car", class_id=2)
BUS = det((0, 0, 800, 600), "bus", class_id=5)


@pytest.mark.parametrize(
    ("plate", "vehicles", "expected"),
    [
        ((100, 200, 180, 230), [CAR_A, CAR_B], CAR_A),
        ((500, 200, 580, 230), [CAR_A, CAR_B], CAR_B),
        ((360, 200, 390, 230), [CAR_A, CAR_B], CAR_A),  # inside both: the smaller box
        ((100, 200, 180, 230), [BUS, CAR_A], CAR_A),  # nested: the smaller (nearer) vehicle
        ((900, 200, 980, 230), [CAR_A, CAR_B], None),  # outside all
        ((380, 200, 460, 230), [CAR_A], None),  # only 25% inside
        ((100, 200, 180, 230), [], None),
    ],
)
def test_match_plates_to_vehicles(plate, vehicles, expected):
    (match,) = match_plates_to_vehicles([det(plate)], vehicles, min_overlap=0.5)
    assert match.vehicle == expected


def test_match_prefers_the_vehicle_holding_more_of_the_plate():
    plate = det((390, 200, 450, 230))  # 1/6 in A, 5/6 in B... and all of it in BUS
    (match,) = match_plates_to_vehicles([plate], [CAR_A, CAR_B], min_overlap=0.5)
    assert match.vehicle == CAR_B


def test_match_no_plates():
    assert match_plates_to_vehicles([], [CAR_A]) == []


@pytest.mark.parametrize(
    ("box", "fx", "fy", "expected"),
    [((100, 100, 200, 150), 0.1, 0.2, (90, 90, 210, 160)), ((0, 0, 50, 50), 0.5, 0.5, (0, 0, 75, 75))],
)
def test_expand_box(box, fx, fy, expected):
    assert expand_box(box, fx, fy, width=100 if box[0] == 0 else 1000, height=1000) == pytest.approx(expected)


def test_shift_detection():
    moved = shift_detection(det((1, 2, 3, 4)), 10, 20)
    assert moved.xyxy == (11, 22, 13, 24) and moved.label == "plate"


def test_cpu_provider_always_last():
    assert onnx_providers("cpu") == ["CPUExecutionProvider"]
    assert onnx_providers("auto")[-1] == "CPUExecutionProvider"
