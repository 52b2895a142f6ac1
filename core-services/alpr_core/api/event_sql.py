"""SQL of the event reads. PostgreSQL builds the JSON of each event (models.EventOut), so the hot paths
hand bytes straight to the client; every value is a bound parameter, the text is constant."""

from __future__ import annotations

from .fuzzy import OCR_FROM, OCR_TO

# Must stay identical to the plate_events_plate_ocr_idx expression in scripts/init_db.sql.
OCR_KEY_EXPR = f"translate(e.plate_normalized_text, '{OCR_FROM}', '{OCR_TO}')"

EVENT_JSON = """json_build_object(
  'event_id', e.event_id, 'captured_at', e.captured_at, 'published_at', e.published_at,
  'created_at', e.created_at, 'camera_id', e.camera_id, 'track_id', e.track_id, 'site', e.site,
  'host', e.host,
  'plate', json_build_object('text', e.plate_text, 'normalized_text', e.plate_normalized_text,
     'confidence', e.plate_confidence, 'region', e.plate_region, 'matches_format', e.matches_format,
     'candidates', e.candidates, 'char_confidences', e.char_confidences),
  'vehicle', json_build_object('type', e.vehicle_type, 'make', e.vehicle_make, 'model', e.vehicle_model,
     'color', e.vehicle_color),
  'bbox', json_build_object('x1', e.bbox_x1, 'y1', e.bbox_y1, 'x2', e.bbox_x2, 'y2', e.bbox_y2),
  'images', json_build_object('plate_url', e.plate_image_url, 'vehicle_url', e.vehicle_image_url,
     'frame_url', e.frame_image_url),
  'latency_ms', e.latency_ms, 'quality_score', e.quality_score, 'direction', e.direction, 'roi', e.roi,
  'frame_number', e.frame_number, 'read_count', e.read_count, 'preview', e.preview)"""


def page_sql(where: str, order: str = "e.captured_at DESC") -> str:
    """count and JSON array of one page; ``where`` and ``order`` are constants of this module's callers."""
    return (
        f"SELECT count(*), coalesce(json_agg(p.doc ORDER BY p.rn), '[]')::text FROM ("
        f"SELECT {EVENT_JSON} AS doc, row_number() OVER (ORDER BY {order}) AS rn "
        f"FROM plate_events e WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s) p"
    )


BY_ID = f"SELECT {EVENT_JSON}::text FROM plate_events e WHERE e.event_id = %s LIMIT 1"
BY_PLATE = page_sql("e.plate_normalized_text = %s")
BY_PLATES = page_sql("e.plate_normalized_text = ANY(%s)")
RECENT = page_sql("true", "e.created_at DESC")
BY_CAMERA = page_sql("e.camera_id = %s AND e.captured_at >= %s AND e.captured_at <= %s")
# /events/search: the WHERE clause is built from these constant fragments (values stay bound).
SEARCH_CLAUSES = {
    "plate": "e.plate_normalized_text = %(plate)s",
    "camera": "e.camera_id = %(camera)s",
    "site": "e.site = %(site)s",
    "min_confidence": "e.plate_confidence >= %(min_confidence)s",
}
SEARCH_TIME = "e.captured_at >= %(start)s AND e.captured_at <= %(end)s"


def search_sql(present: list[str]) -> str:
    where = " AND ".join([SEARCH_CLAUSES[name] for name in present] + [SEARCH_TIME])
    return page_sql(where).replace("LIMIT %s OFFSET %s", "LIMIT %(limit)s OFFSET %(offset)s")


# Fuzzy candidates: trigram neighbours (GIN index) and plates equal once OCR confusions are folded.
FUZZY_CANDIDATES = (
    "SELECT DISTINCT e.plate_normalized_text FROM plate_events e "
    "WHERE e.plate_normalized_text %% %s OR " + OCR_KEY_EXPR + " = %s LIMIT 500"
)

IMAGE_KEYS = (
    "SELECT plate_image_url, vehicle_image_url, frame_image_url FROM plate_events WHERE event_id = %s LIMIT 1"
)

STATS = """SELECT count(*) AS total_events,
  count(DISTINCT plate_normalized_text) AS unique_plates,
  count(DISTINCT camera_id) AS cameras,
  count(DISTINCT camera_id) FILTER (WHERE captured_at > now() - interval '24 hours') AS active_cameras,
  min(captured_at) AS earliest, max(captured_at) AS latest,
  avg(plate_confidence)::float8 AS avg_confidence, avg(latency_ms)::float8 AS avg_latency_ms
FROM plate_events"""
