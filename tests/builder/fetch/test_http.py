"""The collectors' HTTP layer against a real local server, with a fake clock: retries, backoff and jitter,
Retry-After, timeouts, the time budget, terminal statuses, and secrets kept out of results and errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest
from fakeapi import FAKE_START_NOW, FakeApi, FakeClock, Reply, closed_port_url

from omc_data.builder.fetch.http import (
    SYSTEM_CLOCK,
    USER_AGENT,
    Fetcher,
    FetchFailed,
    RetryPolicy,
    require_json,
)
from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.fetch.scrub import REDACTED, Scrubber
from omc_data.errors import CollectorError

TOKEN = "tok-3f9a/b+c=d7e1"  # with characters that get percent-encoded in a query
NO_JITTER = RetryPolicy(jitter=0.0)
HANG = 60.0  # a reply this late never comes: the fake server lets it go when the test ends
# Which timeout fires first is a race on a stalled event loop: httpx's read timeout (usual) or the
# whole-request deadline just after it. Both say the same thing to the user.
TIMED_OUT = re.compile(r"timed out after [0-9.]+s \((ReadTimeout|no complete response)\)")
HTML = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>"


def _fetch(
    api_url: str,
    clock: FakeClock,
    *,
    policy: RetryPolicy = NO_JITTER,
    params: Mapping[str, str] | None = None,
    check: Callable[[bytes], None] | None = require_json,
    scrubber: Scrubber | None = None,
    rng: random.Random | None = None,
    urls: tuple[str, ...] = (),
) -> tuple[RawResponse | FetchFailed, Fetcher]:
    """GET ``api_url`` (then each of ``urls``) through one fetcher: the last response or failure."""

    async def go() -> tuple[RawResponse | FetchFailed, Fetcher]:
        async with httpx.AsyncClient(trust_env=False) as client:
            fetcher = Fetcher(
                client,
                source="coinspot",
                policy=policy,
                clock=clock,
                scrubber=scrubber or Scrubber([TOKEN]),
                rng=rng or random.Random(0),
            )
            result: RawResponse | FetchFailed
            for url in (api_url, *urls):
                try:
                    result = await fetcher.get(url, params, check=check)
                except FetchFailed as exc:
                    result = exc
            return result, fetcher

    return asyncio.run(go())


def _ok(api_url: str, clock: FakeClock, **kwargs: Any) -> tuple[RawResponse, Fetcher]:
    result, fetcher = _fetch(api_url, clock, **kwargs)
    assert isinstance(result, RawResponse), result
    return result, fetcher


def _failed(api_url: str, clock: FakeClock, **kwargs: Any) -> tuple[FetchFailed, Fetcher]:
    result, fetcher = _fetch(api_url, clock, **kwargs)
    assert isinstance(result, FetchFailed), result
    assert result.__cause__ is None and result.__suppress_context__  # no httpx error (with its URL) chained
    assert TOKEN not in str(result) and TOKEN not in (result.hint or "")
    return result, fetcher


# --- success ----------------------------------------------------------------------------------------------


def test_raw_response_fields_are_scrubbed_and_timed_by_the_clock(
    fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    next_link = f"https://cryptopanic.com/api/v1/posts/?auth_token={TOKEN}&page=2"
    fake_api.route(
        "/posts",
        Reply(
            200,
            {"next": next_link, "echo": TOKEN},
            headers={"Content-Type": "application/json; charset=utf-8"},
        ),
    )
    raw, fetcher = _ok(fake_api.url_for("/posts"), fake_clock, params={"auth_token": TOKEN, "kind": "news"})

    assert raw.source == "coinspot"
    assert raw.status == 200
    assert raw.fetched_at == FAKE_START_NOW
    assert raw.content_type == "application/json"
    assert TOKEN not in raw.url and "auth_token=REDACTED" in raw.url and "kind=news" in raw.url
    assert TOKEN.encode() not in raw.body
    assert raw.json() == {
        "next": "https://cryptopanic.com/api/v1/posts/?auth_token=REDACTED&page=2",
        "echo": REDACTED,
    }
    # the real token was sent, with the documented headers
    [request] = fake_api.requests_to("/posts")
    assert request.query == {"auth_token": TOKEN, "kind": "news"}
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("omc-data/")
    assert fetcher.attempts == 1 and fetcher.last_status == 200 and fake_clock.sleeps == []


def test_params_are_merged_into_the_query(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/list", Reply(200, []))
    raw, _ = _ok(fake_api.url_for("/list?a=1&page=3"), fake_clock, params={"page": "2", "b": "x y"})
    assert fake_api.requests_to("/list")[0].query == {"a": "1", "page": "2", "b": "x y"}
    assert raw.url.startswith(fake_api.url_for("/list?"))


def test_content_type_defaults_to_json_and_check_is_optional(
    fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    fake_api.route("/html", Reply(200, "<html>not json</html>", headers={"Content-Type": ""}))
    raw, _ = _ok(fake_api.url_for("/html"), fake_clock, check=None)
    assert raw.content_type == "application/json"
    assert raw.body == b"<html>not json</html>"


# --- retried failures -------------------------------------------------------------------------------------


def test_500_then_success_sleeps_one_backoff(
    fake_api: FakeApi, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.route("/p", Reply(500, {"status": "error", "message": "boom"}), Reply(200, {"ok": True}))
    policy = RetryPolicy(backoff=1.0, jitter=0.5)
    with caplog.at_level(logging.INFO, logger="omc_data.builder.fetch.http"):
        raw, fetcher = _ok(fake_api.url_for("/p"), fake_clock, policy=policy, rng=random.Random(3))

    assert raw.json() == {"ok": True}
    assert fake_clock.sleeps == [pytest.approx(random.Random(3).uniform(1.0, 1.5))]
    assert len(fake_api.requests_to("/p")) == 2
    assert fetcher.attempts == 2 and fetcher.last_status == 200
    assert fetcher.elapsed == pytest.approx(fake_clock.sleeps[0])
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    delay = f"{fake_clock.sleeps[0]:.1f}s"
    assert (
        warning.getMessage()
        == f"coinspot: HTTP 500 Internal Server Error: boom, retrying in {delay} (attempt 2/4)"
    )


def test_503_every_time_gives_up_naming_the_attempts(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(503, b""))
    exc, fetcher = _failed(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(attempts=3, jitter=0.0))

    assert exc.reason == "gave up after 3 attempts: HTTP 503 Service Unavailable"
    assert str(exc).startswith("coinspot: gave up after 3 attempts")
    assert isinstance(exc, CollectorError) and exc.source == "coinspot"
    assert (exc.status, exc.attempts, exc.retryable) == (503, 3, True)
    assert exc.hint
    assert len(fake_api.requests_to("/p")) == 3
    assert fake_clock.sleeps == [1.0, 2.0]  # no sleep after the last attempt
    assert fetcher.attempts == 3


def test_408_is_retried(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(408), Reply(200, {}))
    _ok(fake_api.url_for("/p"), fake_clock)
    assert fake_clock.sleeps == [1.0]


def test_429_honours_retry_after_seconds(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(429, headers={"Retry-After": "7"}), Reply(200, {}))
    _, fetcher = _ok(fake_api.url_for("/p"), fake_clock)
    assert fake_clock.sleeps == [7.0]
    assert fetcher.attempts == 2  # the 429 counted as an attempt


def test_429_honours_retry_after_as_an_http_date(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    when = email.utils.format_datetime(FAKE_START_NOW + dt.timedelta(seconds=30), usegmt=True)
    fake_api.route("/p", Reply(429, headers={"Retry-After": when}), Reply(200, {}))
    _ok(fake_api.url_for("/p"), fake_clock)
    assert fake_clock.sleeps == [30.0]


def test_429_retry_after_is_capped_and_takes_no_real_time(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route(
        "/p",
        Reply(429, headers={"Retry-After": "3600"}),
        Reply(429, headers={"Retry-After": "60"}),
        Reply(200, {}),
    )
    started = time.monotonic()
    _ok(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(retry_after_max=45.0, budget=200.0))
    assert fake_clock.sleeps == [45.0, 45.0]
    assert time.monotonic() - started < 30  # 90 s if the sleeps were real


def test_429_without_retry_after_uses_the_backoff(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(429, headers={"Retry-After": "soon"}), Reply(429), Reply(200, {}))
    _ok(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(backoff=0.5, jitter=0.0))
    assert fake_clock.sleeps == [0.5, 1.0]


def test_a_hang_past_the_timeout_is_retried(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    # The first reply hangs until the server closes, so only the timeout can end that attempt; the
    # timeout leaves the second (prompt) reply plenty of time on a busy machine.
    fake_api.route("/p", Reply(200, {"late": True}, delay=HANG), Reply(200, {"late": False}))
    started = time.monotonic()
    raw, fetcher = _ok(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(timeout=2.0, jitter=0.0))
    assert time.monotonic() - started < HANG / 2
    assert raw.json() == {"late": False}
    assert fake_clock.sleeps == [1.0]
    assert fetcher.attempts == 2 and len(fake_api.requests_to("/p")) == 2


def test_hanging_every_time_gives_up_with_the_timeout(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(200, {}, delay=HANG))
    exc, _ = _failed(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(timeout=0.2, attempts=2))
    # httpx's read timeout normally speaks first; on a stalled event loop the whole-request deadline may
    assert TIMED_OUT.fullmatch(exc.reason.removeprefix("gave up after 2 attempts: ")), exc.reason
    assert exc.reason.startswith("gave up after 2 attempts: timed out after 0.2s (")
    assert exc.status is None and exc.retryable


def test_a_server_trickling_bytes_is_cut_off_at_the_request_timeout(
    fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    # each byte comes before httpx's read timeout, so only a deadline on the whole request stops it
    fake_api.route("/p", Reply(200, {"slow": "x" * 400}, trickle=0.1))
    started = time.monotonic()
    exc, _ = _failed(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(timeout=0.5, attempts=2))
    assert time.monotonic() - started < 30  # two attempts of 0.5 s, not 2 x 41 s of trickle
    assert exc.reason.startswith("gave up after 2 attempts: timed out after 0.5s")


def test_a_body_cut_mid_way_is_retried(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    full = {"prices": {f"c{i}": {"bid": i, "ask": i + 1} for i in range(50)}}
    fake_api.route("/p", Reply(200, full, truncate=40), Reply(200, full))
    raw, _ = _ok(fake_api.url_for("/p"), fake_clock)
    assert raw.json() == full
    assert len(fake_api.requests_to("/p")) == 2 and fake_clock.sleeps == [1.0]


def test_a_body_cut_every_time_fails_as_a_connection_problem(
    fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    fake_api.route("/p", Reply(200, {"a": list(range(100))}, truncate=10))
    exc, _ = _failed(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(attempts=2))
    assert exc.reason.startswith("gave up after 2 attempts: connection failed (RemoteProtocolError: ")
    assert exc.status is None


def test_truncated_json_failing_check_is_retried_then_fails(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(200, b'{"prices": [1, 2, 3'))  # complete HTTP, cut JSON
    exc, fetcher = _failed(fake_api.url_for("/p"), fake_clock)
    assert exc.reason.startswith("gave up after 4 attempts: HTTP 200 OK: invalid response body (")
    assert (exc.status, exc.attempts, exc.retryable) == (200, 4, True)
    assert len(fake_api.requests_to("/p")) == 4
    assert fake_clock.sleeps == [1.0, 2.0, 4.0]
    assert fetcher.last_status == 200


def test_a_check_rejecting_then_accepting(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    def has_prices(body: bytes) -> None:
        if "prices" not in json.loads(body):
            raise ValueError("no prices")

    fake_api.route("/p", Reply(200, {"status": "ok"}), Reply(200, {"prices": {}}))
    raw, _ = _ok(fake_api.url_for("/p"), fake_clock, check=has_prices)
    assert raw.json() == {"prices": {}}
    assert fake_clock.sleeps == [1.0]


def test_an_html_page_with_200_is_retried_and_named(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(200, HTML, headers={"Content-Type": "text/html; charset=UTF-8"}))
    exc, _ = _failed(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(attempts=2, jitter=0.0))
    assert exc.reason == "gave up after 2 attempts: HTTP 200 OK: expected JSON, got an HTML page (text/html)"
    assert len(fake_api.requests_to("/p")) == 2


def test_an_html_body_labelled_json_is_named_too(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(200, HTML.encode()), Reply(200, {"ok": 1}))
    raw, _ = _ok(fake_api.url_for("/p"), fake_clock)
    assert raw.json() == {"ok": 1}


def test_a_502_html_page_is_retried(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(502, HTML, headers={"Content-Type": "text/html"}))
    exc, _ = _failed(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(attempts=3, jitter=0.0))
    assert (
        exc.reason
        == "gave up after 3 attempts: HTTP 502 Bad Gateway: expected JSON, got an HTML page (text/html)"
    )
    assert exc.status == 502 and fake_clock.sleeps == [1.0, 2.0]


def test_connection_refused_is_retried_then_fails(fake_clock: FakeClock) -> None:
    exc, fetcher = _failed(closed_port_url() + "/p", fake_clock)
    assert exc.reason.startswith("gave up after 4 attempts: connection failed (ConnectError")
    assert (exc.status, exc.attempts, exc.retryable) == (None, 4, True)
    assert fake_clock.sleeps == [1.0, 2.0, 4.0]
    assert fetcher.attempts == 4 and fetcher.last_status is None


# --- terminal failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "phrase"), [(401, "Unauthorized"), (403, "Forbidden")])
def test_a_rejected_token_fails_at_once(
    fake_api: FakeApi, fake_clock: FakeClock, status: int, phrase: str
) -> None:
    fake_api.route("/p", Reply(status, {"status": "error", "message": f"invalid key {TOKEN}"}))
    exc, fetcher = _failed(fake_api.url_for("/p"), fake_clock, params={"auth_token": TOKEN})
    assert exc.reason == f"HTTP {status} {phrase}: the API rejected the token: invalid key {REDACTED}"
    assert (exc.status, exc.attempts, exc.retryable) == (status, 1, False)
    assert exc.hint and "token" in exc.hint
    assert fake_clock.sleeps == [] and len(fake_api.requests_to("/p")) == 1 and fetcher.attempts == 1


def test_other_4xx_fail_at_once_with_the_api_message(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    message = "unknown coin " + "x" * 500
    fake_api.route("/p", Reply(400, {"status": "error", "message": message}))
    exc, _ = _failed(fake_api.url_for("/p"), fake_clock)
    assert exc.reason.startswith("HTTP 400 Bad Request: unknown coin xxx")
    assert exc.reason.endswith("...") and len(exc.reason) < 260
    assert (exc.status, exc.attempts, exc.retryable) == (400, 1, False)
    assert len(fake_api.requests_to("/p")) == 1


def test_unknown_path_is_a_404(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    exc, _ = _failed(fake_api.url_for("/nowhere"), fake_clock)
    assert exc.reason == "HTTP 404 Not Found: not found"
    assert not exc.retryable


def test_an_invalid_url_makes_no_request(fake_clock: FakeClock) -> None:
    exc, fetcher = _failed(f"http://host:abc/p?auth_token={TOKEN}", fake_clock)
    assert exc.attempts == 0 and not exc.retryable and fetcher.attempts == 0
    assert exc.reason.startswith("invalid URL 'http://host:abc/p?auth_token=REDACTED': ")


def test_an_unsupported_scheme_is_not_retried(fake_clock: FakeClock) -> None:
    exc, fetcher = _failed("ftp://127.0.0.1/p", fake_clock)
    assert (exc.attempts, exc.retryable, fetcher.attempts) == (1, False, 1)
    assert exc.reason.startswith("request failed (UnsupportedProtocol")
    assert fake_clock.sleeps == []


# --- time budget, jitter, timeouts ------------------------------------------------------------------------


def test_budget_exhaustion_stops_before_sleeping_past_it(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(500))
    policy = RetryPolicy(attempts=10, backoff=2.0, jitter=0.0, budget=5.0)
    exc, fetcher = _failed(fake_api.url_for("/p"), fake_clock, policy=policy)
    # 2 s of backoff fit; the next 4 s would end at 6 s > 5 s: no sleep, no third request
    assert fake_clock.sleeps == [2.0]
    assert exc.reason == (
        "gave up after 2 attempts in 2.0s (time budget 5.0s): HTTP 500 Internal Server Error"
    )
    assert (exc.attempts, exc.retryable, exc.status) == (2, True, 500)
    assert len(fake_api.requests_to("/p")) == 2
    assert fetcher.elapsed == 2.0


def test_a_retry_after_beyond_the_budget_is_not_waited(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(429, headers={"Retry-After": "30"}))
    exc, _ = _failed(fake_api.url_for("/p"), fake_clock, policy=RetryPolicy(budget=20.0))
    assert fake_clock.sleeps == []
    assert exc.reason == "gave up after 1 attempt in 0.0s (time budget 20.0s): HTTP 429 Too Many Requests"


def test_the_budget_is_shared_by_all_requests_of_a_fetcher(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/a", Reply(500), Reply(500), Reply(200, {}))  # sleeps 1 + 2
    fake_api.route("/b", Reply(500))  # would sleep 1, but 3 + 1 reaches the budget of 4
    policy = RetryPolicy(jitter=0.0, budget=4.0)
    exc, fetcher = _failed(fake_api.url_for("/a"), fake_clock, policy=policy, urls=(fake_api.url_for("/b"),))
    assert fake_clock.sleeps == [1.0, 2.0]
    assert exc.reason.startswith("gave up after 1 attempt in 3.0s (time budget 4.0s)")
    assert fetcher.attempts == 4 and fetcher.elapsed == 3.0


def test_jitter_stays_in_bounds_and_follows_the_rng(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route("/p", Reply(500))
    policy = RetryPolicy(attempts=6, backoff=1.0, backoff_max=3.0, jitter=0.5, budget=1000.0)
    _failed(fake_api.url_for("/p"), fake_clock, policy=policy, rng=random.Random(42))
    bases = [1.0, 2.0, 3.0, 3.0, 3.0]  # doubling, capped at backoff_max
    assert len(fake_clock.sleeps) == len(bases)
    for slept, base in zip(fake_clock.sleeps, bases, strict=True):
        assert base <= slept <= base * 1.5
    expected = random.Random(42)
    assert fake_clock.sleeps == [pytest.approx(base * expected.uniform(1.0, 1.5)) for base in bases]
    assert len(set(fake_clock.sleeps[2:])) == 3  # jittered, not constant


def test_the_request_timeout_shrinks_to_the_budget_left(
    fake_api: FakeApi, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.route("/p", Reply(500), Reply(200, {}, delay=HANG))
    policy = RetryPolicy(timeout=10.0, backoff=1.7, jitter=0.0, budget=2.0)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG, logger="omc_data.builder.fetch.http"):
        exc, _ = _failed(fake_api.url_for("/p"), fake_clock, policy=policy)
    assert time.monotonic() - started < HANG / 2  # the 2nd request timed out after 0.3 s, not 10 s
    assert fake_clock.sleeps == [1.7]
    prefix = "gave up after 2 attempts in 1.7s (time budget 2.0s): "
    assert exc.reason.startswith(prefix + "timed out after 0.3s ("), exc.reason
    assert TIMED_OUT.fullmatch(exc.reason.removeprefix(prefix)), exc.reason
    assert exc.status == 500  # the last status received
    attempts = [r.getMessage() for r in caplog.records if " GET " in r.getMessage()]
    assert [m.rsplit("timeout ", 1)[1] for m in attempts] == ["2.0s)", "0.3s)"]


def test_own_log_lines_are_scrubbed_without_help(
    fake_api: FakeApi, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.route("/p", Reply(500, {"message": f"bad {TOKEN}"}), Reply(200, {}))
    with caplog.at_level(logging.DEBUG, logger="omc_data.builder.fetch.http"):
        _ok(fake_api.url_for("/p"), fake_clock, params={"token": TOKEN})
    ours = [r for r in caplog.records if r.name == "omc_data.builder.fetch.http"]
    assert len(ours) >= 4  # two GETs, two responses, one retry
    for record in ours:
        assert TOKEN not in record.getMessage()
    assert any(REDACTED in r.getMessage() for r in ours)


# --- policy and clock -------------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.timeout, policy.attempts, policy.backoff, policy.backoff_max) == (10.0, 4, 1.0, 16.0)
    assert (policy.jitter, policy.retry_after_max, policy.budget) == (0.5, 60.0, 90.0)
    rng = random.Random(1)
    assert [RetryPolicy(jitter=0).backoff_delay(i, rng) for i in range(7)] == [1, 2, 4, 8, 16, 16, 16]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": 2.5},
        {"timeout": 0},
        {"budget": -1},
        {"backoff": -0.1},
        {"jitter": -1},
        {"retry_after_max": float("inf")},
        {"budget": float("nan")},
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)


def test_system_clock() -> None:
    assert SYSTEM_CLOCK.now().utcoffset() is not None
    before = SYSTEM_CLOCK.monotonic()
    asyncio.run(SYSTEM_CLOCK.sleep(0))
    assert SYSTEM_CLOCK.monotonic() >= before


def test_fake_api_pages_and_unknown_pages(fake_api: FakeApi, fake_clock: FakeClock) -> None:
    fake_api.route_pages("/posts", {"1": Reply(200, {"page": 1}), "2": Reply(200, {"page": 2})})
    first, _ = _ok(fake_api.url_for("/posts"), fake_clock)
    second, _ = _ok(fake_api.url_for("/posts"), fake_clock, params={"page": "2"})
    missing, _ = _failed(fake_api.url_for("/posts?page=3"), fake_clock)
    assert (first.json(), second.json(), missing.status) == ({"page": 1}, {"page": 2}, 404)
    assert [r.query.get("page") for r in fake_api.requests] == [None, "2", "3"]
