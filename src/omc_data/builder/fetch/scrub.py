"""Secrets out of URLs, bodies, messages and log records.

API tokens travel in request URLs (CryptoPanic's ``?auth_token=...``) and come back inside response bodies
(its ``"next"`` links). Everything omc-data writes, raises or logs about a collector goes through a
:class:`Scrubber` first; :func:`scrubbed_logging` extends that to log records made by anyone (httpx logs
every request URL at INFO).

A scrubber replaces:

- every occurrence of each known secret, raw and percent-encoded (``quote``/``quote_plus``, upper- and
  lower-case hex), with ``REDACTED``;
- the value of any ``auth_token``, ``access_token``, ``api_token``, ``api_key``, ``apikey``, ``token`` or
  ``key`` query parameter (case-insensitive),
  known secret or not, whether the parameter follows ``?``, ``&`` or ``;`` (``&amp;``) or their
  percent-encoded forms (a URL inside another URL's query).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "REDACTED"

_PARAM_NAMES = r"auth_token|access_token|api_token|api_key|apikey|token|key"
# name=value after ?, & or ; (the ; also covers &amp; in HTML); the value runs to the next delimiter.
_PLAIN_PARAM = re.compile(rf"(?i)(?<=[?&;])({_PARAM_NAMES})=([^&#;\s\"'<>\\]+)")
# The same inside a percent-encoded URL: %3F / %26 before, %3D between, the value runs to %26 or %23.
_ENCODED_PARAM = re.compile(rf"(?i)(%3F|%26)({_PARAM_NAMES})%3D((?:(?!%26|%23)[^&#;\s\"'<>\\])+)")
_HEX = re.compile(r"%[0-9A-F]{2}")
# Every parameter match ends its name with "token" or "key" followed by "=" or "%3d" (lower-cased text).
_PARAM_MARKERS = ("token=", "key=", "token%3d", "key%3d")


def _variants(secret: str) -> set[str]:
    """The secret as it may appear in text: raw and percent-encoded in the usual ways."""
    out = {secret}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        out.add(encoded)
        out.add(_HEX.sub(lambda m: m.group(0).lower(), encoded))
    return out


class Scrubber:
    """Replaces known secrets and token-like query parameter values with ``REDACTED``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique: list[str] = []
        for secret in secrets:
            if secret and secret not in unique:
                unique.append(secret)
        self._secrets = tuple(unique)
        forms: set[str] = set()
        for secret in self._secrets:
            forms |= _variants(secret)
        # Longest first, so a secret that contains another one is replaced whole.
        ordered = sorted(forms, key=lambda s: (-len(s), s))
        self._forms = tuple(ordered)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def text(self, value: str) -> str:
        # Plain substring tests first: a 10 MB DeFiLlama body holds neither a secret nor a token-like
        # parameter, and the regular expressions would scan it for nothing (~110 ms).
        if self._pattern is not None and any(form in value for form in self._forms):
            value = self._pattern.sub(REDACTED, value)
        lowered = value.lower()
        if any(marker in lowered for marker in _PARAM_MARKERS):
            value = _PLAIN_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", value)
            value = _ENCODED_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}%3D{REDACTED}", value)
        return value

    def url(self, value: str) -> str:
        """A URL with its secrets redacted (the same as :meth:`text`)."""
        return self.text(value)

    def bytes(self, value: bytes) -> bytes:
        """The same on UTF-8 bytes; bytes that are not UTF-8 pass through unchanged."""
        text = value.decode("utf-8", errors="surrogateescape")
        scrubbed = self.text(text)
        if scrubbed == text:
            return value
        return scrubbed.encode("utf-8", errors="surrogateescape")

    def __repr__(self) -> str:  # never show the secrets themselves
        return f"Scrubber(<{len(self._secrets)} secrets>)"


def _exception_summary(exc_info: Any) -> str:
    exc = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) >= 2 else exc_info
    if not isinstance(exc, BaseException):
        return ""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _ScrubbingFactory:
    """A log record factory that scrubs each record the previous factory makes."""

    def __init__(self, previous: Callable[..., logging.LogRecord], scrubber: Scrubber) -> None:
        self.previous = previous
        self.scrubber = scrubber
        self.active = True

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        if not self.active:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, scrubbed
            message = f"{record.msg} {record.args!r}"
        if record.exc_info:
            summary = _exception_summary(record.exc_info)
            if summary:
                message = f"{message} ({summary})"
            record.exc_info = None
        record.exc_text = None
        record.msg = self.scrubber.text(message)
        record.args = None
        return record


_factory_lock = threading.Lock()


@contextlib.contextmanager
def scrubbed_logging(scrubber: Scrubber) -> Iterator[None]:
    """While active, every log record created anywhere (httpx, httpcore, ours) is scrubbed.

    The record's message is formatted, scrubbed and stored back as ``msg`` with ``args = None``. An
    attached exception becomes a scrubbed one-line summary appended to the message (``exc_info`` is
    cleared: a traceback printed by a handler would show the URL of an httpx error).

    Implemented with :func:`logging.setLogRecordFactory`, wrapping the previous factory, which is
    restored on exit. Nesting is safe; if another factory was installed on top of ours meanwhile, ours
    stays in the chain but stops scrubbing.
    """
    with _factory_lock:
        previous = logging.getLogRecordFactory()
        factory = _ScrubbingFactory(previous, scrubber)
        logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        with _factory_lock:
            factory.active = False
            if logging.getLogRecordFactory() is factory:
                logging.setLogRecordFactory(previous)
