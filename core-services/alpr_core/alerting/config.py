"""Alert-engine configuration: `config/alert_rules.yaml` (section `alerting`) on top of CoreConfig.

Rules and static watchlists (``alerting.rules`` / ``alerting.lists``) are re-read while the engine runs
(:mod:`.sources`); everything else (channels, retries, limits) is read once at start. Secrets (SMTP
password, Slack URL, Twilio token, webhook secret) come from the environment, e.g.
``ALPR_ALERTING__CHANNELS__SMS__AUTH_TOKEN``.
"""

from __future__ import annotations

import re
from datetime import time
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from alpr_common.settings import StrictModel

from ..config import CoreConfig

MatchType = Literal["exact", "prefix", "suffix", "contains", "regex", "fuzzy"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Severity = Literal["info", "warning", "critical"]
ChannelName = Literal["email", "slack", "webhook", "sms"]


class PatternSpec(StrictModel):
    pattern: str = Field(
        min_length=1, max_length=64, description="Plate pattern; '*' is a wildcard ('ABC*')."
    )
    match: MatchType | None = Field(None, description="Match type; default: inferred from '*' or the rule's.")


class TimeWindow(StrictModel):
    start: time = Field(description="Start of the window, HH:MM local time of the rule's timezone.")
    end: time = Field(description="End (exclusive); a window whose end is before its start spans midnight.")


class Conditions(StrictModel):
    watchlists: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Names of lists (alerting.lists or the watchlists table).",
    )
    plates: list[PatternSpec | str] = Field(
        default_factory=list, max_length=10_000, description="Inline plate patterns."
    )
    match: MatchType = Field("exact", description="Match type of patterns without their own and without '*'.")
    max_cost: float = Field(
        1.0, ge=0, le=4, description="Fuzzy: largest weighted edit distance that matches."
    )
    use_candidates: bool = Field(True, description="Match every OCR candidate, not only the voted text.")
    cameras: list[str] = Field(default_factory=list, description="Camera ids (empty: all).")
    sites: list[str] = Field(default_factory=list, description="Sites (empty: all).")
    time_windows: list[TimeWindow] = Field(
        default_factory=list, description="Local time windows (empty: always)."
    )
    days: list[Day] = Field(default_factory=list, description="Days of the week (empty: every day).")
    timezone: str = Field("UTC", description="IANA timezone of time_windows and days.")
    min_confidence: float = Field(0.0, ge=0, le=1, description="Minimum plate confidence of the event.")
    directions: list[str] = Field(default_factory=list, description="extras.direction values (empty: any).")
    unknown_direction_matches: bool = Field(
        False, description="Whether an event without extras.direction satisfies `directions`."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {name!r} (use an IANA name such as Europe/Paris)") from None
        return name


class ActionSpec(StrictModel):
    channel: ChannelName = Field(description="Channel registry name.")
    to: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Recipients (email addresses, phone numbers); default: the channel's.",
    )
    url: str | None = Field(None, description="Override of the channel URL (webhook, slack).")


class RuleSpec(StrictModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="Rule id.")
    description: str = Field("", max_length=1000, description="What the rule is for.")
    enabled: bool = Field(True, description="Evaluate this rule.")
    severity: Severity = Field("warning", description="Severity carried by its alerts.")
    conditions: Conditions = Field(default_factory=Conditions, description="All must hold.")
    allowlist: bool = Field(False, description="Alert when the plate matches NONE of the patterns/lists.")
    actions: list[ActionSpec] = Field(
        default_factory=list, max_length=10, description="Notifications to send."
    )
    cooldown_s: float = Field(300.0, ge=0, le=7 * 86400, description="Per rule and plate: quiet period.")

    @model_validator(mode="after")
    def _allowlist_needs_a_list(self) -> RuleSpec:
        if self.allowlist and not (self.conditions.watchlists or self.conditions.plates):
            raise ValueError("an allowlist rule needs conditions.watchlists or conditions.plates")
        return self


class RuleSet(StrictModel):
    """The part of alert_rules.yaml that is reloaded on change."""

    lists: dict[str, list[PatternSpec | str]] = Field(
        default_factory=dict, description="Static watchlists: name -> patterns."
    )
    rules: list[RuleSpec] = Field(default_factory=list, max_length=1000, description="Alert rules.")

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[RuleSpec]) -> list[RuleSpec]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate rule names: {dupes}")
        for rule in rules:
            for spec in rule.conditions.plates:
                pat = spec.pattern if isinstance(spec, PatternSpec) else spec
                if (spec.match if isinstance(spec, PatternSpec) else None) == "regex":
                    try:
                        re.compile(pat)
                    except re.error as exc:
                        raise ValueError(f"rule {rule.name}: invalid regex {pat!r}: {exc}") from None
        return rules


class FuzzySettings(StrictModel):
    confusables: list[str] = Field(
        ["O0", "I1", "B8", "S5", "Z2", "G6", "D0"],
        max_length=50,
        description="Pairs of characters OCR confuses (two characters each).",
    )
    confusable_cost: float = Field(0.25, gt=0, le=1, description="Cost of substituting a confusable pair.")
    substitution_cost: float = Field(1.0, gt=0, le=5, description="Cost of any other substitution.")
    indel_cost: float = Field(1.0, gt=0, le=5, description="Cost of inserting or deleting a character.")

    @field_validator("confusables")
    @classmethod
    def _pairs(cls, pairs: list[str]) -> list[str]:
        bad = [p for p in pairs if len(p) != 2]
        if bad:
            raise ValueError(f"each confusable pair must be two characters: {bad}")
        return [p.upper() for p in pairs]


class RetrySettings(StrictModel):
    delays_s: list[float] = Field(
        [5.0, 10.0, 20.0],
        max_length=10,
        description="Wait before each retry; after the last the notification goes to the DLQ.",
    )
    timeout_s: float = Field(10.0, gt=0, le=120, description="Timeout of one delivery attempt.")
    workers: int = Field(8, ge=1, le=64, description="Delivery threads.")

    @field_validator("delays_s")
    @classmethod
    def _non_negative(cls, delays: list[float]) -> list[float]:
        if any(d < 0 or d > 3600 for d in delays):
            raise ValueError("retry delays must be within 0..3600 s")
        return delays


class RateLimit(StrictModel):
    per_minute: float = Field(60.0, gt=0, le=100_000, description="Sustained notifications per minute.")
    burst: int = Field(20, ge=1, le=10_000, description="Notifications allowed at once.")


class EmailSettings(StrictModel):
    host: str = Field("localhost", description="SMTP server host.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (submission with STARTTLS).")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS (required unless false).")
    ca_file: str | None = Field(None, description="CA bundle to verify the server (default: system CAs).")
    username: str | None = Field(None, description="SMTP user (from the environment).")
    password: SecretStr | None = Field(None, description="SMTP password (from the environment).")
    sender: str = Field("alpr-alerts@localhost", description="From address.")
    to: list[str] = Field(default_factory=list, description="Default recipients.")
    attach_crop: bool = Field(True, description="Attach the plate crop when the object store has it.")


class SlackSettings(StrictModel):
    webhook_url: SecretStr | None = Field(None, description="Incoming webhook URL (from the environment).")


class WebhookSettings(StrictModel):
    url: str | None = Field(None, description="Target URL.")
    method: Literal["POST", "PUT"] = Field("POST", description="HTTP method.")
    auth_header: str = Field("Authorization", min_length=1, description="Name of the auth header.")
    auth_value: SecretStr | None = Field(
        None, description="Auth header value, e.g. 'Bearer ...' (environment)."
    )
    hmac_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key of the signature (environment).")
    signature_header: str = Field(
        "X-ALPR-Signature", min_length=1, description="Header carrying 'sha256=<hex>' of the body."
    )


class SmsSettings(StrictModel):
    api_base: str = Field("https://api.twilio.com/2010-04-01", description="Twilio REST API base URL.")
    account_sid: str | None = Field(None, description="Twilio Account SID (from the environment).")
    auth_token: SecretStr | None = Field(None, description="Twilio auth token (from the environment).")
    sender: str | None = Field(None, description="From number (E.164) or messaging service.")
    to: list[str] = Field(default_factory=list, description="Default recipients (E.164).")


class ChannelsSettings(StrictModel):
    email: EmailSettings = Field(default_factory=EmailSettings, description="SMTP.")
    slack: SlackSettings = Field(default_factory=SlackSettings, description="Slack incoming webhook.")
    webhook: WebhookSettings = Field(default_factory=WebhookSettings, description="Generic webhook.")
    sms: SmsSettings = Field(default_factory=SmsSettings, description="Twilio SMS.")
    rate_limits: dict[ChannelName, RateLimit] = Field(
        default_factory=dict, description="Per-channel rate limits (default: none)."
    )


class AlertingSettings(RuleSet):
    reload_interval_s: float = Field(5.0, gt=0, le=3600, description="How often the rules file is checked.")
    watchlist_refresh_s: float = Field(
        30.0, gt=0, le=3600, description="How often DB watchlists are re-read."
    )
    db_watchlists: bool = Field(True, description="Also read the watchlists table.")
    alert_on_preview: bool = Field(
        True, description="Evaluate preview events (cooldown folds the final read)."
    )
    dashboard_url: str | None = Field(None, description="Base URL of alert links in notifications.")
    fuzzy: FuzzySettings = Field(default_factory=FuzzySettings, description="Weighted edit distance.")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="Delivery retries.")
    channels: ChannelsSettings = Field(default_factory=ChannelsSettings, description="Notification channels.")


class AlertEngineConfig(CoreConfig):
    """Root of `alpr-alert-engine`: the core files plus alert_rules.yaml."""

    config_files: ClassVar[tuple[str, ...]] = (*CoreConfig.config_files, "alert_rules.yaml")

    alerting: AlertingSettings = Field(default_factory=AlertingSettings, description="Alert engine.")
