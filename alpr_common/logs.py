"""Logging set-up of every entry point: text or JSON lines (for Promtail/Loki), optional file."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from alpr_common.settings import LoggingSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: LoggingSettings) -> None:
    formatter: logging.Formatter = JsonFormatter() if settings.json_format else logging.Formatter(TEXT_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if settings.file:
        handlers.append(logging.FileHandler(settings.file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
    logging.basicConfig(level=settings.level, handlers=handlers, force=True)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("opensearch").setLevel(logging.ERROR)  # the runner logs each failure once
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # callers log their own retries once
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per registry request otherwise
