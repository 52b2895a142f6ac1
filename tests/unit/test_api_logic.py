"""query-api pure logic: plate normalisation, fuzzy ranking, DSL building, limits, retention, SQL shape."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from alpr_core.api import event_sql, search_dsl
from alpr_core.api.auth import hash_key, new_secret, role_allows
from alpr_core.api.context import ApiContext, page, time_window
from alpr_core.api.errors import ApiError
from alpr_core.api.fuzzy import ocr_key, rank
from alpr_core.api.models import (
    BBoxOut,
    EventOut,
    ImagesOut,
    MatchType,
    PlateOut,
    VehicleOut,
    WatchlistIn,
    normalize_plate,
)
from alpr_core.api.retention import expired_indices
from alpr_core.config import CoreConfig


def _ctx(**api: object) -> ApiContext:
    cfg = CoreConfig()
    for key, value in api.items():
        setattr(cfg.api, key, value)
    return ApiContext(cfg=cfg, pool=None, keys=None, audit=None)  # type: ignore[arg-type]


def test_normalize_plate_matches_the_edge() -> None:
    assert normalize_plate("ab-12 3.cd") == "AB123CD"
    assert normalize_plate("--") == ""


def test_ocr_key_folds_confusions() -> None:
    assert ocr_key("B0O8") == ocr_key("8OD8") == "8008"
    assert ocr_key("ABC123") != ocr_key("XYZ123")


def test_fuzzy_rank_finds_ocr_confusions_and_orders_exact_first() -> None:
    candidates = ["ABC123", "A8C123", "ABC1Z3", "XYZ999", "A8CI23", "ABC12"]
    got = rank("ABC123", candidates)
    assert got[0] == "ABC123"
    assert {"A8C123", "ABC1Z3", "A8CI23", "ABC12"} <= set(got)
    assert "XYZ999" not in got


def test_fuzzy_rank_budget_is_tight_for_short_plates() -> None:
    assert rank("AB12", ["XY12"]) == []


def test_sql_ocr_expression_matches_init_db_index() -> None:
    root = Path(__file__).resolve().parents[2]
    sql = (root / "scripts" / "init_db.sql").read_text()
    expr = event_sql.OCR_KEY_EXPR.replace("e.plate_normalized_text", "plate_normalized_text")
    assert expr in sql


def test_event_json_keys_match_the_model() -> None:
    keys = set(re.findall(r"'(\w+)',", event_sql.EVENT_JSON))
    for model in (EventOut, PlateOut, VehicleOut, BBoxOut, ImagesOut):
        assert set(model.model_fields) <= keys, model.__name__
    assert "%s" in event_sql.BY_PLATE and "'" not in event_sql.BY_PLATE.split("FROM plate_events")[1]


def test_search_sql_uses_only_constant_fragments() -> None:
    sql = event_sql.search_sql(["plate", "camera"])
    assert "%(plate)s" in sql and "%(camera)s" in sql and "%(site)s" not in sql
    assert "LIMIT %(limit)s OFFSET %(offset)s" in sql


def test_page_limits() -> None:
    ctx = _ctx()
    assert page(ctx, None, 0) == (100, 0)
    assert page(ctx, 1000, 5) == (1000, 5)
    with pytest.raises(ApiError) as err:
        page(ctx, 1001, 0)
    assert err.value.status == 422
    with pytest.raises(ApiError):
        page(ctx, 10, 10_000_000)


def test_time_window_cap_and_order() -> None:
    ctx = _ctx(max_time_range_days=7)
    end = datetime(2026, 1, 10, tzinfo=timezone.utc)
    start, got_end = time_window(ctx, None, end)
    assert got_end - start == timedelta(days=7)
    naive_start, _ = time_window(ctx, datetime(2026, 1, 9), end)
    assert naive_start.tzinfo is not None
    with pytest.raises(ApiError, match="longer than 7 days"):
        time_window(ctx, end - timedelta(days=8), end)
    with pytest.raises(ApiError, match="after end_time"):
        time_window(ctx, end + timedelta(seconds=1), end)


def test_keys_are_hashed_and_roles_ordered() -> None:
    secret = new_secret()
    assert secret.startswith("alpr_") and len(secret) > 40
    assert hash_key(secret) != secret and len(hash_key(secret)) == 64
    assert role_allows("admin", "viewer") and role_allows("admin", "admin")
    assert role_allows("viewer", "viewer") and not role_allows("viewer", "admin")
    assert not role_allows("nobody", "viewer")


def test_watchlist_input_validation() -> None:
    assert WatchlistIn(plate_pattern="ab-123").plate_pattern == "AB123"
    assert WatchlistIn(plate_pattern="^AB[0-9]+$", match_type=MatchType.regex).plate_pattern == "^AB[0-9]+$"
    for bad in (
        {"plate_pattern": "'; DROP TABLE x;--", "match_type": "regex"},
        {"plate_pattern": "(", "match_type": "regex"},
        {"plate_pattern": "--"},
        {"plate_pattern": "AB1", "unknown": 1},
        {"plate_pattern": "AB1", "list_name": "a b"},
    ):
        with pytest.raises(ValidationError):
            WatchlistIn(**bad)


def test_structured_query_is_validated_and_built() -> None:
    now = datetime.now(timezone.utc)
    q = search_dsl.SearchQuery(plates=["ab-123"], cameras=["cam-1"], min_confidence=0.5, sort="oldest")
    body = search_dsl.structured(q, now - timedelta(days=1), now)
    filters = body["query"]["bool"]["filter"]
    assert {"terms": {"plate.normalized_text": ["AB123"]}} in filters
    assert {"terms": {"camera_id": ["cam-1"]}} in filters
    assert body["sort"] == [{"captured_at": "asc"}]
    for bad in (
        {"query": {"match_all": {}}},
        {"cameras": ['x" OR 1']},
        {"limit": 1000, "offset": 9500},
        {"plates": ["<script>"]},
        {"sort": "_id"},
    ):
        with pytest.raises(ValidationError):
            search_dsl.SearchQuery(**bad)


def test_fulltext_never_uses_query_string_syntax() -> None:
    now = datetime.now(timezone.utc)
    body = search_dsl.fulltext("AB-12*", True, now - timedelta(hours=1), now, 10, 0)
    text = str(body)
    assert "query_string" not in text and "script" not in text
    assert {"term": {"plate.normalized_text": {"value": "AB12", "boost": 5}}} in body["query"]["bool"][
        "should"
    ]


def test_expired_indices_whole_months_only() -> None:
    names = [
        "alpr-events-2026.01",
        "alpr-events-2026.02",
        "alpr-events-2026.03",
        "other-2020.01",
        "alpr-events-2025.12",
    ]
    limit = datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert expired_indices(names, "alpr-events", limit) == [
        "alpr-events-2025.12",
        "alpr-events-2026.01",
        "alpr-events-2026.02",
    ]
    assert expired_indices(names, "alpr-events", datetime(2026, 2, 15, tzinfo=timezone.utc)) == [
        "alpr-events-2025.12",
        "alpr-events-2026.01",
    ]


def test_api_config_defaults() -> None:
    api = CoreConfig().api
    assert api.port == 8000 and api.page_size_default == 100 and api.page_size_max == 1000
    assert "*" not in api.cors_origins and api.retention.days in (30, 90)


def test_fast_lane_only_takes_plain_requests() -> None:
    from alpr_core.api.fastlane import Skip, _headers, _int, _params

    assert _params(b"limit=5&offset=2", {"limit", "offset"}) == {"limit": "5", "offset": "2"}
    for query in (b"limit=5&limit=6", b"other=1", b"limit=5&fuzzy=true"):
        with pytest.raises(Skip):
            _params(query, {"limit", "offset"})
    assert _int(None, 1, 10) is None and _int("10", 1, 10) == 10
    for bad in ("0", "11", "-1", "1e3", " 5", ""):
        with pytest.raises(Skip):
            _int(bad, 1, 10)
    assert _headers({"headers": [(b"x-api-key", b"k"), (b"x-reason", b" case 1 ")]}) == ("k", "case 1")
    for headers in (
        [],
        [(b"x-api-key", b"k"), (b"x-api-key", b"k")],
        [(b"x-api-key", b"k"), (b"x-reason", b"a\x01")],
        [(b"x-api-key", b"k" * 201)],
    ):
        with pytest.raises(Skip):
            _headers({"headers": headers})


def test_image_urls_are_signed_for_the_public_host() -> None:
    from alpr_core.api.app import _signer

    cfg = CoreConfig()
    assert _signer(cfg) is None
    cfg.api.image_public_url = "https://images.example.org"
    url = _signer(cfg).presigned_get_object("alpr-plate-images", "a/b.jpg", expires=timedelta(seconds=60))
    assert url.startswith("https://images.example.org/alpr-plate-images/a/b.jpg?")
    assert "X-Amz-Signature" in url
    with pytest.raises(ValidationError):
        cfg.api.image_public_url = "javascript:alert(1)"
