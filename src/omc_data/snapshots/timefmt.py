"""Timestamps in manifests: RFC 3339, always UTC, always with ``Z``."""

from __future__ import annotations

import datetime as dt
import re

# A fraction of a second of any length (RFC 3339); Python 3.10's fromisoformat takes only 3 or 6 digits.
_FRACTION = re.compile(r"(?<=:\d\d)\.(\d+)")


def format_timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime: every instant in omc-data is timezone-aware")
    utc = value.astimezone(dt.timezone.utc)
    text = utc.replace(tzinfo=None, microsecond=0).isoformat()  # strftime's %Y drops zeros before 1000
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_timestamp(text: str) -> dt.datetime:
    """Parse RFC 3339 with an offset or ``Z``; ValueError for a naive or malformed value."""
    value = dt.datetime.fromisoformat(
        _FRACTION.sub(_six_digits, text.replace("Z", "+00:00").replace("z", "+00:00"))
    )
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no offset: write it with Z, e.g. 2026-11-01T00:00:00Z")
    return value.astimezone(dt.timezone.utc)


def _six_digits(match: re.Match[str]) -> str:
    return "." + match[1][:6].ljust(6, "0")
