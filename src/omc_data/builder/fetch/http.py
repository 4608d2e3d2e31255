"""One source's HTTP GETs: timeouts, retries with exponential backoff and jitter, ``Retry-After``, and a
time budget per source.

A :class:`Fetcher` wraps an ``httpx.AsyncClient`` (owned and closed by the caller) for one source. Each
:meth:`Fetcher.get` tries up to ``RetryPolicy.attempts`` times:

- retried after a backoff delay: HTTP 5xx and 408, timeouts, connection errors (refused, reset, a
  response cut mid-body), and a 2xx whose body fails the caller's ``check`` (malformed JSON, an HTML
  error page);
- HTTP 429: waits ``Retry-After`` (seconds or an HTTP date), at most ``retry_after_max``; without the
  header, the backoff delay;
- any other status fails at once; 401/403 say the token was rejected (``retryable=False``).

Every attempt and every sleep of one fetcher shares one time budget, started at its first request: a
retry that would sleep past it is not made. All time comes from an injected :class:`Clock`, so tests
use a fake clock and never sleep; real time is only spent inside an HTTP request, bounded by its
timeout (the smaller of ``RetryPolicy.timeout`` and the budget left).

Secrets never leave this module unscrubbed: the returned URL and body, every failure reason, hint and
log line go through the fetcher's :class:`~omc_data.builder.fetch.scrub.Scrubber`, and failures are
raised ``from None`` so no httpx exception (whose text holds the request URL) is chained. httpx itself
logs request URLs: wrap the collection in :func:`~omc_data.builder.fetch.scrub.scrubbed_logging`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import importlib.metadata
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.fetch.scrub import Scrubber
from omc_data.errors import CollectorError

if TYPE_CHECKING:  # imported where requests are made: an offline build never loads httpx (~0.1 s)
    import httpx

logger = logging.getLogger(__name__)

try:
    _VERSION = importlib.metadata.version("omc-data")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    _VERSION = "dev"

USER_AGENT = f"omc-data/{_VERSION}"
DEFAULT_CONTENT_TYPE = "application/json"
_MESSAGE_MAX = 200  # characters of an API's error message kept in a failure reason


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one source is tried.

    - ``timeout`` (10 s): the timeout of one request (connect, read, write and pool each), lowered to
      the budget left when that is smaller.
    - ``attempts`` (4): tries per request, the first included.
    - ``backoff`` (1 s): the delay before the first retry; it doubles at each further retry...
    - ``backoff_max`` (16 s): ...up to this cap for one delay.
    - ``jitter`` (0.5): each backoff delay is multiplied by ``uniform(1, 1 + jitter)``.
    - ``retry_after_max`` (60 s): a 429's ``Retry-After`` is honoured up to this many seconds.
    - ``budget`` (90 s): total seconds one source may spend, requests and sleeps included.

    With the defaults, a source that keeps failing is tried 4 times over about 1 + 2 + 4 seconds of
    backoff (x1 to x1.5 jitter) plus the requests themselves. Invalid values raise ``ValueError``.
    """

    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 1.0
    backoff_max: float = 16.0
    jitter: float = 0.5
    retry_after_max: float = 60.0
    budget: float = 90.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be an integer >= 1, not {self.attempts!r}")
        positive = {"timeout": self.timeout, "budget": self.budget}
        non_negative = {
            "backoff": self.backoff,
            "backoff_max": self.backoff_max,
            "jitter": self.jitter,
            "retry_after_max": self.retry_after_max,
        }
        for name, value in {**positive, **non_negative}.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"RetryPolicy.{name} must be a finite number of seconds, not {value!r}")
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"RetryPolicy.{name} must be > 0, not {value!r}")
        for name, value in non_negative.items():
            if value < 0:
                raise ValueError(f"RetryPolicy.{name} must be >= 0, not {value!r}")

    def backoff_delay(self, retry_index: int, rng: random.Random) -> float:
        """The delay before retry number ``retry_index`` (0 for the first retry), jitter included."""
        base = min(self.backoff * 2.0**retry_index, self.backoff_max)
        return base * rng.uniform(1.0, 1.0 + self.jitter)


class Clock(Protocol):
    """Where a fetcher's time comes from: the system, or a fake one in tests."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def now(self) -> dt.datetime: ...  # aware, UTC


class SystemClock:
    """Real time: ``time.monotonic``, ``asyncio.sleep`` and ``datetime.now(UTC)``."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


SYSTEM_CLOCK = SystemClock()


class FetchFailed(CollectorError):
    """A request to a public API failed for good (after retries, or at once for a terminal status).

    ``reason`` is one line, secrets scrubbed; ``status`` the last HTTP status received during the
    request (None when no response arrived); ``attempts`` the tries made for it.
    """

    def __init__(
        self,
        source: str,
        reason: str,
        *,
        status: int | None,
        attempts: int,
        retryable: bool,
        hint: str | None = None,
    ) -> None:
        super().__init__(f"{source}: {reason}", source=source, retryable=retryable, hint=hint)
        self.reason = reason
        self.status = status
        self.attempts = attempts


def require_json(body: bytes) -> None:
    """A ``check`` for :meth:`Fetcher.get`: ``ValueError`` unless the body is JSON."""
    json.loads(body)


@dataclass(frozen=True)
class _Problem:
    """Why one attempt did not succeed."""

    reason: str
    retryable: bool
    retry_after: float | None = None  # seconds asked for by a 429
    hint: str | None = None


def _one_line(text: str, limit: int | None = None) -> str:
    line = " ".join(text.split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 3].rstrip() + "..."
    return line


def _status_text(status: int) -> str:
    import httpx

    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def _content_type(response: httpx.Response) -> str:
    value = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or DEFAULT_CONTENT_TYPE


def _looks_like_html(content_type: str, body: bytes) -> bool:
    return content_type == "text/html" or body.lstrip()[:1] == b"<"


def _api_message(body: bytes) -> str | None:
    """The message of a JSON error body such as Coinspot's ``{"status": "error", "message": "..."}``."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    for key in ("message", "error", "detail", "info", "msg"):
        value = doc.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return str(value["message"])
    return None


def _attempts_text(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def _format_seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds >= 0.1 or seconds == 0 else f"{seconds:.3f}s"


class Fetcher:
    """One source's requests, sharing one time budget (started at the first request).

    The client is the caller's: its base settings (redirects, proxies, transport) apply, and it is
    closed by the caller. ``rng`` draws the jitter (seed it for reproducible delays).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        source: str,
        policy: RetryPolicy = RetryPolicy(),
        clock: Clock = SYSTEM_CLOCK,
        scrubber: Scrubber = Scrubber(),  # noqa: B008 - immutable
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self.source = source
        self.policy = policy
        self._clock = clock
        self._scrubber = scrubber
        self._rng = rng if rng is not None else random.Random()
        self._started: float | None = None
        self._attempts = 0
        self._last_status: int | None = None

    @property
    def attempts(self) -> int:
        """Total HTTP attempts made so far, over every :meth:`get`."""
        return self._attempts

    @property
    def last_status(self) -> int | None:
        """The status of the last HTTP response received (None before any)."""
        return self._last_status

    @property
    def elapsed(self) -> float:
        """Clock seconds since the first request (0 before it)."""
        if self._started is None:
            return 0.0
        return self._clock.monotonic() - self._started

    def _remaining(self) -> float:
        return self.policy.budget - self.elapsed

    async def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        check: Callable[[bytes], None] | None = None,
    ) -> RawResponse:
        """GET ``url`` (``params`` merged into its query) until it succeeds, or raise :class:`FetchFailed`.

        A parameter in ``params`` replaces the same parameter in ``url``'s query; the others are kept.
        (Do not give the client ``params=`` of its own: httpx would replace the URL's query with them.)

        Success is a 2xx whose (scrubbed) body passes ``check``, which raises ``ValueError`` to reject
        it (see :func:`require_json`); a rejected body is retried like a 5xx.
        """
        import httpx

        policy = self.policy
        try:
            self._request(url, params, policy.timeout)
        except (httpx.InvalidURL, ValueError) as exc:
            reason = self._scrubber.text(f"invalid URL {url!r}: {_one_line(str(exc))}")
            raise FetchFailed(self.source, reason, status=None, attempts=0, retryable=False) from None
        if self._started is None:
            self._started = self._clock.monotonic()
        status: int | None = None
        last = "no attempt made"
        for attempt in range(1, policy.attempts + 1):
            remaining = self._remaining()
            if remaining <= 0:
                raise self._budget_failure(attempt - 1, last, status) from None
            timeout = min(policy.timeout, remaining)
            outcome, attempt_status = await self._attempt(url, params, check, timeout, attempt)
            if attempt_status is not None:
                status = attempt_status
            if isinstance(outcome, RawResponse):
                return outcome
            last = outcome.reason
            if not outcome.retryable:
                raise FetchFailed(
                    self.source, last, status=status, attempts=attempt, retryable=False, hint=outcome.hint
                ) from None
            if attempt == policy.attempts:
                raise FetchFailed(
                    self.source,
                    f"gave up after {_attempts_text(attempt)}: {last}",
                    status=status,
                    attempts=attempt,
                    retryable=True,
                    hint="the API may be down or rate limiting: try again later",
                ) from None
            if outcome.retry_after is not None:
                delay = outcome.retry_after
            else:
                delay = policy.backoff_delay(attempt - 1, self._rng)
            if self.elapsed + delay >= policy.budget:
                logger.debug(
                    "%s: not retrying: %s plus %s would reach the time budget of %s",
                    self.source,
                    _format_seconds(self.elapsed),
                    _format_seconds(delay),
                    _format_seconds(policy.budget),
                )
                raise self._budget_failure(attempt, last, status) from None
            logger.warning(
                "%s: %s, retrying in %s (attempt %d/%d)",
                self.source,
                last,
                _format_seconds(delay),
                attempt + 1,
                policy.attempts,
            )
            await self._clock.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _request(self, url: str, params: Mapping[str, str] | None, timeout: float) -> httpx.Request:
        import httpx

        # Merged here: httpx 0.28 *replaces* a URL's query with ``params=`` instead of merging them.
        target = httpx.URL(url)
        if params:
            target = target.copy_merge_params(dict(params))
        return self._client.build_request(
            "GET",
            target,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout),
        )

    def _budget_failure(self, attempts: int, last: str, status: int | None) -> FetchFailed:
        reason = (
            f"gave up after {_attempts_text(attempts)} in {_format_seconds(self.elapsed)} "
            f"(time budget {_format_seconds(self.policy.budget)}): {last}"
        )
        return FetchFailed(
            self.source,
            reason,
            status=status,
            attempts=attempts,
            retryable=True,
            hint="the API is slow or failing: try again later, or allow a larger time budget",
        )

    async def _attempt(
        self,
        url: str,
        params: Mapping[str, str] | None,
        check: Callable[[bytes], None] | None,
        timeout: float,
        attempt: int,
    ) -> tuple[RawResponse | _Problem, int | None]:
        """One GET: the response, or why it failed, and the HTTP status if one arrived."""
        import httpx

        scrub = self._scrubber.text
        request = self._request(url, params, timeout)
        self._attempts += 1
        logger.debug(
            "%s: GET %s (attempt %d/%d, timeout %s)",
            self.source,
            scrub(str(request.url)),
            attempt,
            self.policy.attempts,
            _format_seconds(timeout),
        )
        try:
            # httpx's timeouts restart with every chunk read: a server trickling bytes would never time
            # out. The whole request (headers and body) must finish within ``timeout`` (plus a grace that
            # lets httpx's own, more precise, timeouts speak first).
            response = await asyncio.wait_for(self._client.send(request), timeout * 1.1 + 0.05)
        except httpx.TimeoutException as exc:
            problem = f"timed out after {_format_seconds(timeout)} ({type(exc).__name__})"
            return self._problem(problem, retryable=True), None
        except (TimeoutError, asyncio.TimeoutError):  # distinct classes before Python 3.11
            problem = f"timed out after {_format_seconds(timeout)} (no complete response)"
            return self._problem(problem, retryable=True), None
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.TooManyRedirects) as exc:
            return self._problem(f"request failed ({type(exc).__name__}: {exc})", retryable=False), None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            detail = _one_line(str(exc)) or "no detail"
            return self._problem(f"connection failed ({type(exc).__name__}: {detail})", retryable=True), None
        except httpx.RequestError as exc:
            return self._problem(f"request failed ({type(exc).__name__}: {exc})", retryable=False), None

        status = response.status_code
        self._last_status = status
        content_type = _content_type(response)
        body = self._scrubber.bytes(response.content)
        logger.debug(
            "%s: %s, %d bytes of %s from %s",
            self.source,
            _status_text(status),
            len(body),
            content_type,
            scrub(str(response.url)),
        )
        if 200 <= status < 300:
            if check is not None:
                try:
                    check(body)
                except ValueError as exc:
                    if _looks_like_html(content_type, body):
                        problem = f"expected JSON, got an HTML page ({content_type})"
                    else:
                        problem = f"invalid response body ({_one_line(str(exc), _MESSAGE_MAX)})"
                    return self._problem(f"{_status_text(status)}: {problem}", retryable=True), status
            return (
                RawResponse(
                    source=self.source,
                    url=self._scrubber.url(str(response.url)),
                    status=status,
                    fetched_at=self._clock.now(),
                    body=body,
                    content_type=content_type,
                ),
                status,
            )
        return self._status_problem(status, response.headers, content_type, body), status

    def _problem(
        self, reason: str, *, retryable: bool, retry_after: float | None = None, hint: str | None = None
    ) -> _Problem:
        scrub = self._scrubber.text
        return _Problem(
            reason=scrub(_one_line(reason)),
            retryable=retryable,
            retry_after=retry_after,
            hint=scrub(hint) if hint is not None else None,
        )

    def _status_problem(
        self, status: int, headers: httpx.Headers, content_type: str, body: bytes
    ) -> _Problem:
        reason = _status_text(status)
        message = _api_message(body)
        if status in (401, 403):
            reason += ": the API rejected the token"
        location = headers.get("location")
        if 300 <= status < 400 and location:  # redirects are not followed: they could carry a token away
            reason += f": redirected to {location} (point the endpoint there if you trust it)"
        elif message is not None:
            reason += f": {_one_line(message, _MESSAGE_MAX)}"
        elif _looks_like_html(content_type, body):
            reason += f": expected JSON, got an HTML page ({content_type})"

        if status == 429:
            return self._problem(reason, retryable=True, retry_after=self._retry_after(headers))
        if status >= 500 or status == 408:
            return self._problem(reason, retryable=True)
        if status in (401, 403):
            return self._problem(
                reason,
                retryable=False,
                hint="check the API token configured for this source (it may be missing, wrong or expired)",
            )
        return self._problem(
            reason,
            retryable=False,
            hint="the API refused the request: it may have changed, or omc-data's collector has a bug",
        )

    def _retry_after(self, headers: httpx.Headers) -> float | None:
        """A 429's ``Retry-After`` in seconds, capped; None when absent or unreadable."""
        value = headers.get("retry-after", "").strip()
        if not value:
            return None
        seconds: float | None
        try:
            seconds = float(value)
            if not math.isfinite(seconds):
                seconds = None
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is None:
                seconds = None
            else:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=dt.timezone.utc)
                seconds = (when - self._clock.now()).total_seconds()
        if seconds is None:
            logger.debug("%s: ignoring unreadable Retry-After %r", self.source, self._scrubber.text(value))
            return None
        return min(max(seconds, 0.0), self.policy.retry_after_max)
