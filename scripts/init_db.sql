-- OVR-ALPR database schema (PostgreSQL 15; TimescaleDB where the extension is available).
--
-- Idempotent: every statement can run again on an existing database (CREATE ... IF NOT EXISTS,
-- DO blocks that look before they act), so `psql -f scripts/init_db.sql` and scripts/init_db.py may
-- be applied on every start. TimescaleDB features (hypertable, compression, retention, continuous
-- aggregate) sit in DO blocks that skip when the extension is not installed, so the same file works
-- on plain PostgreSQL (the local stack) and on the TimescaleDB image (docker-compose).
--
-- Run it as the application role (owner of alpr_db). Creating the extensions needs a superuser the
-- first time (scripts/stack does that); afterwards CREATE EXTENSION IF NOT EXISTS is a no-op.

SET client_min_messages = warning;

-- ------------------------------------------------------------------------------------------------
-- Extensions
-- ------------------------------------------------------------------------------------------------

-- pg_trgm: trigram GIN index for partial plate search (`plate_normalized_text ILIKE '%AB12%'`).
-- Trusted since PostgreSQL 13, so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- TimescaleDB when the server has it (it also needs shared_preload_libraries = 'timescaledb').
-- A failure (not preloaded, not superuser) is reported as a notice and the schema stays plain.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN others THEN
            RAISE NOTICE 'timescaledb available but not created (%); using plain PostgreSQL', SQLERRM;
        END;
    END IF;
END
$$;

-- ------------------------------------------------------------------------------------------------
-- plate_events: one row per plate event (schemas/plate_event.avsc flattened), written by the
-- storage-consumer with a binary COPY (INSERT ... ON CONFLICT DO NOTHING after a duplicate). The
-- primary key includes captured_at because a hypertable's unique keys must contain its time column; a
-- redelivered event carries the same event_id and captured_at, so the key makes the sink idempotent
-- on event_id. camera_id and plate_normalized_text use the "C" collation: they are only compared for
-- equality (and trigrams), and byte-wise comparison spares each B-tree descent on every insert the
-- locale's strcoll (docs/consumers.md).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS plate_events (
    event_id              uuid             NOT NULL,
    captured_at           timestamptz      NOT NULL,            -- first sighting of the track
    published_at          timestamptz,                          -- when the edge published it
    created_at            timestamptz      NOT NULL DEFAULT now(), -- when the row was stored
    camera_id             text COLLATE "C" NOT NULL,            -- also the Kafka key
    track_id              bigint,
    site                  text,                                 -- node.site
    host                  text,                                 -- node.host
    plate_text            text             NOT NULL,            -- raw OCR text after voting
    plate_normalized_text text COLLATE "C" NOT NULL,            -- upper case, no separators
    plate_confidence      real,
    plate_region          text,                                 -- matched format / country code
    candidates            jsonb,                                -- [{"text": ..., "confidence": ...}]
    char_confidences      real[],                               -- per character
    vehicle_type          text,
    vehicle_make          text,
    vehicle_model         text,
    vehicle_color         text,
    bbox_x1               real,                                 -- best plate shot, pixels
    bbox_y1               real,
    bbox_x2               real,
    bbox_y2               real,
    plate_image_url       text,                                 -- s3://alpr-plate-images/...
    vehicle_image_url     text,
    frame_image_url       text,
    latency_ms            real,                                 -- capture -> publish
    quality_score         real,                                 -- extras.quality_score
    direction             text,                                 -- extras.direction
    roi                   text,                                 -- extras.roi
    frame_number          bigint,                               -- extras.frame_number
    read_count            integer,                              -- extras.read_count (votes)
    matches_format        boolean,                              -- plate matched a configured format
    preview               boolean          NOT NULL DEFAULT false, -- early preview of a track
    raw                   jsonb,                                -- the full decoded event
    PRIMARY KEY (event_id, captured_at)
);

-- Databases created before: the "C" collation (indexes on these columns are rebuilt once). Refused
-- under TimescaleDB once compression or the continuous aggregate exists (the columns then keep the
-- database's collation: only slower).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'plate_events'::regclass
               AND attname IN ('camera_id', 'plate_normalized_text') AND NOT attisdropped
               AND attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C')) THEN
        BEGIN  -- a failure rolls the whole block back, the dropped view included
            -- The plain view reads camera_id; it is created again further down.
            DROP VIEW IF EXISTS plate_events_hourly;
            ALTER TABLE plate_events ALTER COLUMN camera_id TYPE text COLLATE "C",
                                     ALTER COLUMN plate_normalized_text TYPE text COLLATE "C";
        EXCEPTION WHEN others THEN
            RAISE NOTICE 'plate_events keeps its text collation (%)', SQLERRM;
        END;
    END IF;
END
$$;
-- Time columns are indexed ascending: a new row's time is the newest, so it lands at the right end of
-- its key range, where B-tree page splits leave full pages, and the created_at index takes the
-- rightmost-leaf fast path. Descending, each split is 50/50 at the left end: (camera_id, captured_at
-- DESC) took 1,376 pages for 200,000 rows against 776 ascending. Queries ordering by time DESC scan the
-- same index backwards. Databases created before get the three rebuilt ascending once (a failure,
-- e.g. TimescaleDB refusing it on compressed chunks, keeps the old index and only raises a notice).
DO $$
DECLARE
    idx record;
BEGIN
    FOR idx IN SELECT * FROM (VALUES
            ('plate_events_plate_time_idx', 'plate_normalized_text, captured_at'),
            ('plate_events_camera_time_idx', 'camera_id, captured_at'),
            ('plate_events_created_idx', 'created_at')) AS v(name, cols) LOOP
        IF EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = idx.name
                   AND indexdef LIKE '% DESC%') THEN
            BEGIN
                EXECUTE format('DROP INDEX %I', idx.name);
                EXECUTE format('CREATE INDEX %I ON plate_events (%s)', idx.name, idx.cols);
            EXCEPTION WHEN others THEN
                RAISE NOTICE 'index % stays descending (%)', idx.name, SQLERRM;
            END;
        END IF;
    END LOOP;
END
$$;
-- Plate history lookups ("all sightings of AB123CD, newest first").
CREATE INDEX IF NOT EXISTS plate_events_plate_time_idx
    ON plate_events (plate_normalized_text, captured_at);
-- Per-camera timelines.
CREATE INDEX IF NOT EXISTS plate_events_camera_time_idx
    ON plate_events (camera_id, captured_at);
-- "What arrived recently" (ingest monitoring, API polling).
CREATE INDEX IF NOT EXISTS plate_events_created_idx
    ON plate_events (created_at);
-- Partial / fuzzy plate search: LIKE '%12AB%', ILIKE, similarity (%).
CREATE INDEX IF NOT EXISTS plate_events_plate_trgm_idx
    ON plate_events USING gin (plate_normalized_text gin_trgm_ops);
-- Fuzzy plate lookups of the query API: the plate with OCR-confusable letters folded onto digits
-- (O/Q/D->0, I/L->1, Z->2, S->5, B->8, G->6; alpr_core.api.fuzzy), so 'B0O8' finds '8OD8'.
CREATE INDEX IF NOT EXISTS plate_events_plate_ocr_idx
    ON plate_events (translate(plate_normalized_text, 'OQDILZSBG', '000112586'));

-- Hypertable, compression after 7 days, retention 90 days (TimescaleDB only).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RAISE NOTICE 'timescaledb not installed: plate_events stays a plain table';
        RETURN;
    END IF;
    PERFORM create_hypertable('plate_events', 'captured_at',
                              chunk_time_interval => INTERVAL '1 day',
                              if_not_exists => TRUE, migrate_data => TRUE);
    -- Changing compression settings fails once chunks are compressed: set them only the first time.
    -- Every primary-key column must be a segmentby or orderby column, hence event_id in orderby.
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                   WHERE hypertable_name = 'plate_events' AND compression_enabled) THEN
        ALTER TABLE plate_events SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'camera_id',
            timescaledb.compress_orderby = 'captured_at DESC, event_id'
        );
    END IF;
    PERFORM add_compression_policy('plate_events', INTERVAL '7 days', if_not_exists => TRUE);
    PERFORM add_retention_policy('plate_events', INTERVAL '90 days', if_not_exists => TRUE);
END
$$;

-- plate_events_hourly: events per camera and hour. A continuous aggregate under TimescaleDB
-- (refreshed every 30 minutes); a plain view with the same columns otherwise, so dashboards and the
-- query API read the same relation either way. WITH NO DATA because a continuous aggregate cannot
-- be materialised inside the transaction of a DO block; the policy fills it. Plain aggregates only
-- (no FILTER/DISTINCT), which continuous aggregates accept in every TimescaleDB 2.x.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        IF NOT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                       WHERE view_name = 'plate_events_hourly') THEN
            -- The plain view of a database that got TimescaleDB later.
            DROP VIEW IF EXISTS plate_events_hourly;
            EXECUTE $cagg$
                CREATE MATERIALIZED VIEW plate_events_hourly
                WITH (timescaledb.continuous) AS
                SELECT time_bucket(INTERVAL '1 hour', captured_at) AS bucket,
                       camera_id,
                       count(*)                                   AS events,
                       avg(plate_confidence)                      AS avg_confidence,
                       avg(latency_ms)                            AS avg_latency_ms,
                       sum(CASE WHEN matches_format THEN 1 ELSE 0 END) AS matching_format
                FROM plate_events
                GROUP BY bucket, camera_id
                WITH NO DATA
            $cagg$;
        END IF;
        PERFORM add_continuous_aggregate_policy('plate_events_hourly',
                                                start_offset => INTERVAL '3 days',
                                                end_offset => INTERVAL '1 hour',
                                                schedule_interval => INTERVAL '30 minutes',
                                                if_not_exists => TRUE);
    ELSE
        CREATE OR REPLACE VIEW plate_events_hourly AS
        SELECT date_trunc('hour', captured_at)                AS bucket,
               camera_id,
               count(*)                                       AS events,
               avg(plate_confidence)                          AS avg_confidence,
               avg(latency_ms)                                AS avg_latency_ms,
               sum(CASE WHEN matches_format THEN 1 ELSE 0 END) AS matching_format
        FROM plate_events
        GROUP BY 1, 2;
    END IF;
END
$$;

-- ------------------------------------------------------------------------------------------------
-- watchlists: plates the alert-engine watches. match_type says how plate_pattern is compared with
-- plate_normalized_text: exact, prefix, regex or fuzzy (edit distance / trigram similarity).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS watchlists (
    id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    plate_pattern  text        NOT NULL,
    match_type     text        NOT NULL DEFAULT 'exact'
                   CHECK (match_type IN ('exact', 'prefix', 'suffix', 'contains', 'regex', 'fuzzy')),
    list_name      text        NOT NULL DEFAULT 'default',
    reason         text,
    case_number    text,
    expires_at     timestamptz,                                  -- NULL = never
    enabled        boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (list_name, plate_pattern, match_type)
);
CREATE INDEX IF NOT EXISTS watchlists_active_idx
    ON watchlists (plate_pattern) WHERE enabled;
-- The alert engine also matches suffix and contains ('*123', '*BC1*'): widen the check of databases
-- created before those match types existed.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'watchlists_match_type_check'
               AND pg_get_constraintdef(oid) NOT LIKE '%contains%') THEN
        ALTER TABLE watchlists DROP CONSTRAINT watchlists_match_type_check;
        ALTER TABLE watchlists ADD CONSTRAINT watchlists_match_type_check
            CHECK (match_type IN ('exact', 'prefix', 'suffix', 'contains', 'regex', 'fuzzy'));
    END IF;
END
$$;

-- ------------------------------------------------------------------------------------------------
-- alerts: alert history written by the alert-engine. (event_id, rule_name) is unique so a
-- redelivered event does not alert twice. explanation says why the rule fired (matched watchlist
-- entry, similarity...); channel_outcomes records each channel's delivery result.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS alerts (
    id                bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    event_id          uuid        NOT NULL,                      -- plate_events.event_id (no FK: hypertable)
    rule_name         text        NOT NULL,
    severity          text        NOT NULL DEFAULT 'info',
    plate             text        NOT NULL,                      -- normalized plate that matched
    camera_id         text,
    captured_at       timestamptz,                               -- of the event
    watchlist_id      bigint REFERENCES watchlists (id) ON DELETE SET NULL,
    explanation       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    channel_outcomes  jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- {"slack": {"ok": true, ...}, ...}
    acknowledged_at   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, rule_name)
);
CREATE INDEX IF NOT EXISTS alerts_created_idx ON alerts (created_at DESC);
CREATE INDEX IF NOT EXISTS alerts_plate_idx ON alerts (plate, created_at DESC);

-- ------------------------------------------------------------------------------------------------
-- dlq_messages: what the dlq-consumer read from alpr.dlq, with the original coordinates from the
-- headers. Unique on the original coordinates so reading the DLQ twice stores each message once.
-- replayed_at is set by the replay tool.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS dlq_messages (
    id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    original_topic  text        NOT NULL,
    "partition"     integer     NOT NULL,
    "offset"        bigint      NOT NULL,
    consumer_group  text,
    error_type      text        NOT NULL,                        -- exception class
    error_message   text,
    headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    message_key     bytea,
    payload         bytea,                                       -- the original value bytes
    received_at     timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz,
    replay_count    integer     NOT NULL DEFAULT 0,
    UNIQUE (original_topic, "partition", "offset")
);
CREATE INDEX IF NOT EXISTS dlq_messages_received_idx ON dlq_messages (received_at DESC);
CREATE INDEX IF NOT EXISTS dlq_messages_pending_idx ON dlq_messages (received_at) WHERE replayed_at IS NULL;

-- ------------------------------------------------------------------------------------------------
-- api_keys: query-api credentials. Only a hash of the key is stored (sha256 hex of the secret).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS api_keys (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    key_hash    text        NOT NULL UNIQUE,
    role        text        NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'admin')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at  timestamptz                                      -- NULL = active
);

-- ------------------------------------------------------------------------------------------------
-- api_audit_log: one row per query-api search (who looked up which plate, why, how many rows).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS api_audit_log (
    id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    key_id        bigint REFERENCES api_keys (id) ON DELETE SET NULL,
    endpoint      text        NOT NULL,
    params        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    result_count  integer,
    reason        text,                                          -- stated purpose of the lookup
    client_addr   text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS api_audit_log_created_idx ON api_audit_log (created_at DESC);
CREATE INDEX IF NOT EXISTS api_audit_log_key_idx ON api_audit_log (key_id, created_at DESC);
