"""Time handling: every time-dependent API takes a keyword-only ``now=``."""

from __future__ import annotations

from datetime import UTC, datetime

from safeshare.errors import UsageError


def resolve_now(now: datetime | None) -> datetime:
    """Return *now* (must be timezone-aware) or the current UTC time."""
    if now is None:
        return datetime.now(UTC)
    return require_aware(now, "now")


def require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise UsageError(f"{name} must be a timezone-aware datetime (for example in UTC)")
    return value.astimezone(UTC)


def to_unix(value: datetime) -> int:
    """Whole seconds since the epoch (JWT NumericDate, RFC 7519 section 2)."""
    return int(require_aware(value, "time").timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def rfc3339(value: datetime) -> str:
    """``2026-11-29T05:00:00Z`` style text (RFC 3339, UTC, no fraction if zero)."""
    v = require_aware(value, "time")
    text = v.isoformat()
    return text.replace("+00:00", "Z")
