"""Edge configuration: the root model read by pilot.py and alpr-read (config/*.yaml + ALPR_* env)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from alpr_common.config import AlprSettings
from alpr_common.settings import (
    KafkaSettings,
    LoggingSettings,
    NodeSettings,
    ObjectStoreSettings,
    StrictModel,
)

from .events.settings import EventSettings
from .pipeline_config import OutputSettings, PipelineSettings, SourceSettings
from .plates.packs import check_region, load_packs
from .plates.settings import PlateFormatSettings
from .plates.verify import PlateVerifierSettings
from .publishing.settings import ImageSettings, MetricsSettings, OutboxSettings, PublisherSettings


class CameraSettings(StrictModel):
    id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="Camera id (Kafka key).")
    source: str = Field(
        min_length=1,
        description="rtsp://..., a video file, a USB device (/dev/video0 or 0) or an image folder.")
    enabled: bool = Field(default=True, description="Start this camera.")
    site: str | None = Field(
        default=None, description="Site override for this camera (defaults to node.site).")
    kind: Literal["auto", "file", "rtsp", "usb", "images"] = Field(
        default="auto", description="Source type; auto guesses it (rtsp://, /dev/videoN, folder, file).")
    loop: bool = Field(default=False, description="Restart a video file or image folder at its end (demos).")
    max_fps: float | None = Field(default=None, gt=0, le=240, description="Cap on frames per second read.")
    decoder: Literal["auto", "cpu", "nvdec"] = Field(
        default="auto", description="RTSP decoding: nvdec = GStreamer nvv4l2decoder (Jetson); cpu = FFmpeg.")
    codec: Literal["h264", "h265"] = Field(
        default="h264", description="RTSP stream codec (GStreamer depay/parse).")
    latency_ms: int = Field(default=200, ge=0, le=10_000, description="RTSP jitter buffer in ms (GStreamer).")


class ModelSettings(StrictModel):
    vehicle_model: str = Field("yolo11n_coco_int8_320.onnx",
                               description="Vehicle detector file name (models/manifest.yaml).")
    plate_model: str = Field("platedet_yolov8s-seg_plate_640_fp16.onnx", description="Plate detector file.")
    ocr_model: str = Field("cct_xs_v1_global.onnx", description="Plate OCR model file name.")
    ocr_config: str = Field("cct_xs_v1_global_plate_config.yaml",
                            description="Plate OCR model config (fast-plate-ocr).")
    ocr_fallback_model: str | None = Field(
        "cct_xs_v1_global.onnx",
        description="Plate OCR model used, with a warning, when ocr_model's file is in neither the model "
                    "folder nor the trained-model folder (e.g. a model made with scripts/train_ocr.py that "
                    "this machine lacks); null: a missing ocr_model is an error. A wrong sha256 is always one.")
    ocr_fallback_config: str | None = Field(
        "cct_xs_v1_global_plate_config.yaml", description="Plate OCR model config of ocr_fallback_model.")
    ppocr_det_model: str = Field("rapidocr:ch_PP-OCRv4_det_infer.onnx",
                                 description="PP-OCR text-line detector for ocr.second_opinion: a file in the "
                                             "model folder, or rapidocr:FILE (inside the rapidocr_onnxruntime wheel).")
    ppocr_rec_model: str = Field("rapidocr:ch_PP-OCRv4_rec_infer.onnx",
                                 description="PP-OCR recogniser for ocr.second_opinion (same forms).")
    verify_sha256: bool = Field(True, description="Check model files against the manifest's sha256.")


class DetectorSettings(StrictModel):
    """Vehicle and plate detectors (alpr_edge.detectors)."""

    backend: Literal["onnx", "ultralytics"] = Field("onnx", description="Detector backend (registry name).")
    vehicle_conf: float = Field(0.3, ge=0.0, le=1.0, description="Minimum vehicle detection score.")
    plate_conf: float = Field(0.25, ge=0.0, le=1.0, description="Minimum plate detection score.")
    iou_thresh: float = Field(0.45, gt=0.0, le=1.0, description="NMS IoU threshold.")
    max_detections: int = Field(50, ge=1, le=1000, description="Detections kept per image after NMS.")
    vehicle_classes: list[int] = Field([2, 3, 5, 7], min_length=1, max_length=80,
                                       description="COCO class ids kept (car, motorcycle, bus, truck).")
    plates_in_vehicles: bool = Field(False, description="Run the plate detector on vehicle crops only.")
    plate_imgsz: int | None = Field(320, ge=64, le=2048, multiple_of=32,
                                    description="Still images: plate detector input long side, first pass.")
    plate_fallback_imgsz: int | None = Field(640, ge=64, le=2048, multiple_of=32,
                                             description="Second-pass long side (first found no plate).")
    escalate_below: float = Field(0.3, ge=0.0, le=1.0,
                                  description="Run the next pass when the best score so far is lower.")
    plate_backup_model: str | None = Field(None, description="Still images: another plate detector (file "
                                                             "name) tried last when both passes find none.")
    tile_grid: int = Field(3, ge=0, le=8,
                           description="Still images, last pass when no plate scored escalate_below: the plate "
                                       "detector on grid x grid overlapping tiles (0 or 1: off).")
    tile_imgsz: int = Field(640, ge=64, le=2048, multiple_of=32, description="Input long side of a tile pass.")
    tile_overlap: float = Field(0.25, ge=0.0, le=1.0, description="Tiles grow by this share of a grid cell.")
    vehicle_pass_imgsz: int | None = Field(
        1280, ge=64, le=2048, multiple_of=32,
        description="Still images, pass after the whole-image ones when none found a plate scoring escalate_below: "
                    "the plate detector on each vehicle crop padded to a square of this side in px (None: off).")
    vehicle_pass_max_vehicles: int = Field(2, ge=1, le=20, description="Vehicle pass: largest vehicles searched.")
    vehicle_pass_margin: float = Field(0.05, ge=0.0, le=1.0,
                                       description="Vehicle pass: the vehicle box grows by this share per side.")
    plate_candidate_conf: float = Field(
        0.15, ge=0.0, le=1.0,
        description="Still images: boxes scoring this up to plate_conf are read only when no read of the boxes "
                    "above plate_conf is plate-like (ocr.verifier); = plate_conf: never.")
    min_plate_vehicle_overlap: float = Field(0.5, ge=0.0, le=1.0,
                                             description="Share of a plate box inside a vehicle to match it.")
    intra_op_threads: int = Field(2, ge=0, le=256, description="ONNX Runtime intra-op threads (0 = default).")


class OcrSettings(StrictModel):
    """Plate OCR (alpr_edge.ocr) and crop preprocessing, chosen by measurement (docs/benchmarks.md)."""

    backend: Literal["fast_plate", "paddle", "rapidocr"] = Field("fast_plate", description="Recogniser.")
    top_n: int = Field(10, ge=1, le=100, description="Candidates kept per plate.")
    margin: float = Field(0.1, ge=0.0, le=1.0, description="Margin left/right, share of the plate width.")
    margin_y: float | None = Field(None, ge=0.0, le=1.0,
                                   description="Margin above/below, share of its height (default: margin).")
    clahe: bool = Field(False, description="Contrast-limited histogram equalisation of the crop.")
    deskew: bool = Field(True, description="Rotate the crop level using the seg mask's rectangle.")
    deskew_min_width_px: int = Field(
        64, ge=0, le=4096,
        description="Plates narrower than this are not deskewed: their coarse mask cannot tell a rotated "
                    "plate from one seen at an angle (sheared), and rotating a sheared one cuts its characters.")
    multi_crop: int = Field(5, ge=1, le=16, description="Test-time crops per plate, probabilities averaged.")
    multi_crop_spread: float = Field(0.08, ge=0.0, le=0.5, description="Margin range (+/-) of multi-crops.")
    region: str = Field(
        "auto", min_length=2, max_length=32, pattern=r"^[A-Za-z0-9-]+$",
        description="Format prior (alpr_edge/plates): auto infers the pack; a pack id, country or group (br, us, "
                    "us-ca, de, eu) is preferred on near-ties; none changes nothing.")
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, description="Reads below this confidence are dropped.")
    max_plates: int = Field(5, ge=1, le=100, description="Plates read per image (the most plate-like first).")
    second_opinion: Literal["none", "ppocr"] = Field(
        "ppocr", description="Still images: recogniser asked when a read is unsure (ocr/fusion.py); none: off.")
    second_opinion_below: float = Field(
        0.3, ge=0.0, le=1.0, description="Ask it when the read's confidence is below this; its read wins when "
                                         "more confident.")
    ppocr_det_imgsz: int = Field(160, ge=64, le=960, multiple_of=32,
                                 description="Long side of the plate crop for the PP-OCR line detector.")
    verifier: PlateVerifierSettings = Field(
        default_factory=PlateVerifierSettings,
        description="Still images: how plate-like a read is (ranking, and when to read low-scoring boxes).")


class TrackingSettings(StrictModel):
    track_thresh: float = Field(
        default=0.5, ge=0.0, le=1.0, description="High-score threshold of ByteTrack's first association.")
    track_buffer: int = Field(
        default=30, ge=1, le=10_000, description="Frames a lost track is kept before removal.")
    match_thresh: float = Field(
        default=0.8, gt=0.0, le=1.0, description="IoU-distance threshold for matching.")
    min_box_area: float = Field(
        default=100.0, ge=0.0, description="Boxes smaller than this (px^2) are not tracked.")
    low_thresh: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Detections below this score are ignored.")
    new_track_thresh: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Score needed to start a new track.")
    second_match_thresh: float = Field(
        default=0.5, gt=0.0, le=1.0, description="IoU-distance threshold of the low-score association.")
    unconfirmed_match_thresh: float = Field(
        default=0.7, gt=0.0, le=1.0, description="IoU-distance threshold of unconfirmed (one-frame) tracks.")
    frame_rate: float = Field(
        default=30.0, gt=0.0, le=240.0, description="Nominal fps; the buffer scales by fps/30.")
    fuse_score: bool = Field(
        default=True, description="Multiply IoU similarity by detection score (non-MOT20).")


class EdgeConfig(AlprSettings):
    """Root of the edge configuration (pilot.py, alpr-read)."""

    config_files: ClassVar[tuple[str, ...]] = ("edge.yaml", "cameras.yaml", "tracking.yaml", "ocr.yaml",
                                               "plate_formats.yaml", "kafka.yaml",
                                               "events.yaml")

    model_dir: Path = Field(Path("models"), description="Folder holding the model files (ALPR_MODEL_DIR).")
    node: NodeSettings = Field(default_factory=NodeSettings, description="Site and host carried in events.")
    cameras: list[CameraSettings] = Field(default_factory=list, description="Camera sources.")
    models: ModelSettings = Field(default_factory=ModelSettings, description="Model files.")
    detector: DetectorSettings = Field(default_factory=DetectorSettings, description="Detectors.")
    ocr: OcrSettings = Field(default_factory=OcrSettings, description="Plate OCR and crop preprocessing.")
    tracking: TrackingSettings = Field(default_factory=TrackingSettings, description="ByteTrack parameters.")
    sources: SourceSettings = Field(default_factory=SourceSettings, description="Camera threads, reconnects.")
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings, description="Per-track reading.")
    plate_formats: PlateFormatSettings = Field(
        default_factory=PlateFormatSettings, description="Plate format packs and the near-tie prior.")
    output: OutputSettings = Field(default_factory=OutputSettings, description="CSV log and crops of reads.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka and Schema Registry.")
    object_store: ObjectStoreSettings = Field(default_factory=ObjectStoreSettings, description="MinIO for crops.")
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logging.")
    device: Literal["auto", "cpu", "cuda", "tensorrt"] = Field("auto", description="Inference device.")
    events: EventSettings = Field(default_factory=EventSettings, description="Event processor.")
    publisher: PublisherSettings = Field(default_factory=PublisherSettings, description="Kafka producer.")
    outbox: OutboxSettings = Field(default_factory=OutboxSettings, description="SQLite outbox.")
    images: ImageSettings = Field(default_factory=ImageSettings, description="Crops to MinIO.")
    metrics: MetricsSettings = Field(default_factory=MetricsSettings, description="Edge /metrics.")

    @model_validator(mode="after")
    def _region_names_a_pack(self) -> EdgeConfig:
        check_region(self.ocr.region, load_packs(self.plate_formats))
        return self
