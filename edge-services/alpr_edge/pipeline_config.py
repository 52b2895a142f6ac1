"""Configuration sections of the perception pipeline: sources, per-track reading, output.

They are fields of :class:`alpr_edge.config.EdgeConfig` (``sources:``, ``pipeline:``, ``output:`` in
config/*.yaml); kept here so the root config file stays small. ``plate_formats:`` is in
:mod:`alpr_edge.plates.settings`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from alpr_common.settings import StrictModel

COCO_VEHICLE_CLASSES = ("car", "motorcycle", "bus", "truck")


class SourceSettings(StrictModel):
    """How camera threads read, pace and reconnect (all cameras)."""

    as_fast_as_possible: bool = Field(
        default=False,
        description="Read files and image folders without pacing and without dropping frames (benchmarks).")
    frame_queue_size: int = Field(
        default=4, ge=1, le=256, description="Frames buffered between a camera thread and the pipeline.")
    image_folder_fps: float = Field(
        default=2.0, gt=0, le=240, description="Pace of an image folder source (frames per second).")
    open_timeout_s: float = Field(default=10.0, gt=0, le=300, description="Timeout to open a network stream.")
    read_timeout_s: float = Field(
        default=5.0, gt=0, le=300, description="Timeout of one read on a network stream.")
    frozen_stream_timeout_s: float = Field(
        default=10.0, gt=0, le=3600,
        description="A live stream repeating the same image this long is treated as dropped.")
    reconnect_initial_backoff_s: float = Field(
        default=1.0, gt=0, le=600, description="First wait before reconnecting.")
    reconnect_max_backoff_s: float = Field(
        default=30.0, gt=0, le=3600, description="Longest wait between reconnect attempts.")
    stats_window_s: float = Field(
        default=5.0, gt=0, le=600, description="Window of the per-camera fps measurement.")


class PipelineSettings(StrictModel):
    """Per-frame detection and per-track plate reading."""

    model_threads: int | None = Field(
        default=2, ge=1, le=256,
        description="ONNX Runtime intra-op threads of the vehicle detector on each camera's thread (the reading"
        " worker runs in parallel; 2 measured fastest on 2 cores); none: detector.intra_op_threads.")
    reading_model_threads: int | None = Field(
        default=1, ge=1, le=256,
        description="ONNX Runtime intra-op threads of the plate detector and the recogniser on the reading"
        " worker (1 leaves the other core to the cameras: 26.6 vs 23.9 fps with 2); none: detector.intra_op_threads.")
    vehicle_labels: list[str] = Field(
        default=list(COCO_VEHICLE_CLASSES), min_length=1, description="Detector labels kept as vehicles.")
    vehicle_min_score: float = Field(
        default=0.1, ge=0, le=1, description="Vehicle detections below this score are dropped.")
    skip_frames: int = Field(
        default=0, ge=0, le=100, description="Process one frame, then skip this many (pilot --skip-frames).")
    vehicle_imgsz: int | None = Field(
        default=256, ge=64, le=2048, multiple_of=32,
        description="Vehicle detector input long side in px; the ONNX backend derives an fp32 variant with the"
        " frame's aspect (256 on 1280x720: 160x256), none: the model's own input (a static TensorRT engine:"
        " set its size).")
    vehicle_high_res_imgsz: int | None = Field(
        default=480, ge=64, le=2048, multiple_of=32,
        description="Input long side of the periodic high-resolution vehicle pass that finds vehicles too small"
        " or too cut off for vehicle_imgsz (none: off).")
    vehicle_high_res_interval_frames: int = Field(
        default=8, ge=2, le=1000,
        description="The high-resolution pass runs on 2 consecutive frames of every this many (ByteTrack"
        " confirms a new track on its second detection); the other frames use vehicle_imgsz.")
    plate_on_vehicle_crops: bool = Field(
        default=True,
        description="Detect plates on tracked vehicle crops (fast); false: on the whole frame.")
    plate_crop_imgsz: int | None = Field(
        default=288, ge=64, le=1280, multiple_of=32,
        description="Plate detector input long side on vehicle crops (none: the model's own size).")
    vehicle_crop_margin: float = Field(
        default=0.05, ge=0, le=1, description="Margin added around a vehicle box, per side.")
    min_vehicle_width_px: int = Field(
        default=120, ge=1, le=10_000,
        description="Tracks narrower than this are not read yet (a box cut off by the left or right image edge:"
        " its height counts).")
    plate_detect_interval_frames: int = Field(
        default=2, ge=1, le=1000, description="Frames between two plate detections on the same track.")
    plate_miss_backoff_max_frames: int = Field(
        default=16, ge=1, le=1000,
        description="Each plate-detector miss doubles a track's interval, up to this.")
    max_plate_detections_per_frame: int = Field(
        default=2, ge=1, le=100,
        description="Plate detector calls per frame (tracks waiting longest go first).")
    min_plate_score: float = Field(
        default=0.3, ge=0, le=1, description="Plate detections below this score are ignored.")
    min_plate_width_px: int = Field(
        default=24, ge=1, le=10_000, description="Plates narrower than this are not read.")
    min_small_plate_width_px: int = Field(
        default=28, ge=1, le=10_000,
        description="Plates from this width up to min_plate_width_px are read only while the vehicle is not"
        " approaching (standing, leaving, or at the image edge): an approaching vehicle's plate will grow.")
    approach_window_frames: int = Field(
        default=16, ge=2, le=1000,
        description="A track is approaching while the trend of its box height (least squares over the last 2"
        " windows) grows by approach_min_growth per this many frames; younger tracks count as approaching.")
    approach_min_growth: float = Field(
        default=0.03, ge=0, le=10,
        description="Growth of the box height per window, as a share, that counts as approaching.")
    reread_interval_frames: int = Field(
        default=8, ge=1, le=1000,
        description="A shot no better than the best is still read after this many frames while the track has"
        " fewer than stable_read_count reads (a standing vehicle gets reads to vote on).")
    min_quality_gain: float = Field(
        default=0.05, ge=0, le=10,
        description="A new shot is read only if its quality beats the best by this fraction.")
    max_reads_per_track: int = Field(default=5, ge=1, le=1000, description="OCR calls per track at most.")
    stable_read_count: int = Field(
        default=3, ge=1, le=1000, description="Reads agreeing on the voted text that finish a track early.")
    min_read_confidence: float = Field(
        default=0.5, ge=0, le=1, description="Finished reads below this confidence are dropped.")
    min_plate_chars: int = Field(
        default=4, ge=1, le=20, description="Finished reads shorter than this are dropped.")
    read_queue_size: int = Field(
        default=4, ge=1, le=1000,
        description="Queued reading tasks (plate detection, OCR); full: new ones drop.")
    sharpness_ref: float = Field(
        default=200.0, gt=0, le=1e6,
        description="Laplacian variance counted as fully sharp in the shot quality.")
    plate_width_ref_px: int = Field(
        default=120, ge=1, le=10_000, description="Plate width counted as full size in the quality.")


class OutputSettings(StrictModel):
    csv_path: Path | None = Field(
        default=Path("output/reads.csv"), description="CSV log of finished reads (none: off).")
    crops_dir: Path | None = Field(
        default=Path("output/crops"), description="Best plate crop per read as PNG (none: off).")
