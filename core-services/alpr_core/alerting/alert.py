"""The alert record: what is stored in `alerts`, published on alpr.alerts and sent to the channels."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .rules import Explanation, RuleMatch


@dataclass(frozen=True)
class Alert:
    alert_id: str
    event_id: str
    created_at: datetime
    rule_name: str
    rule_description: str
    severity: str
    plate: str
    confidence: float
    camera_id: str
    site: str | None
    direction: str | None
    captured_at: datetime
    explanation: Explanation
    channels: tuple[str, ...]
    plate_image_url: str | None

    @classmethod
    def from_match(cls, match: RuleMatch, now: datetime | None = None) -> Alert:
        ev, spec = match.event, match.rule.spec
        return cls(
            alert_id=str(uuid.uuid4()),
            event_id=ev.event_id,
            created_at=now or datetime.now(timezone.utc),
            rule_name=spec.name,
            rule_description=spec.description,
            severity=spec.severity,
            plate=ev.plate,
            confidence=ev.confidence,
            camera_id=ev.camera_id,
            site=ev.site,
            direction=ev.direction,
            captured_at=ev.captured_at,
            explanation=match.explanation,
            channels=tuple(a.channel for a in spec.actions),
            plate_image_url=ev.plate_image_url,
        )

    def to_avro(self) -> dict[str, Any]:
        """The alert_event record (schemas/alert_event.avsc)."""
        return {
            "alert_id": self.alert_id,
            "event_id": self.event_id,
            "created_at": self.created_at,
            "rule_name": self.rule_name,
            "severity": self.severity,
            "plate_text": self.plate,
            "camera_id": self.camera_id,
            "site": self.site,
            "captured_at": self.captured_at,
            "explanation": self.explanation.to_avro(),
            "channels": list(self.channels),
            "plate_image_url": self.plate_image_url,
        }

    def to_payload(self) -> dict[str, Any]:
        """JSON body of webhooks and dead letters: the Avro fields plus context, times as ISO 8601."""
        return {
            **self.to_avro(),
            "created_at": self.created_at.isoformat(),
            "captured_at": self.captured_at.isoformat(),
            "explanation": self.explanation.to_json(),
            "rule_description": self.rule_description,
            "confidence": round(self.confidence, 4),
            "direction": self.direction,
        }

    def headline(self) -> str:
        return f"[{self.severity.upper()}] {self.rule_name}: plate {self.plate} at {self.camera_id}"

    def summary_lines(self) -> list[str]:
        e = self.explanation
        ops = ", ".join(e.operations) or "none"
        return [
            f"Rule: {self.rule_name} ({self.severity})"
            + (f" - {self.rule_description}" if self.rule_description else ""),
            f"Plate: {self.plate} (confidence {self.confidence:.2f})",
            f"Camera: {self.camera_id}" + (f", site {self.site}" if self.site else ""),
            f"Seen at: {self.captured_at.isoformat()}",
            f"Match: candidate {e.candidate} vs {e.entry} ({e.match_type}, score {e.score:g}, "
            f"operations: {ops})",
            f"Event: {self.event_id}",
        ]
