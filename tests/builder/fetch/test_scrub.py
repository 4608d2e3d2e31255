"""Secrets out of text, URLs, bodies and log records, httpx's own request logs included."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import quote, quote_plus

import httpx
import pytest
from fakeapi import FakeApi, Reply
from hypothesis import given, settings
from hypothesis import strategies as st

from omc_data.builder.fetch.scrub import REDACTED, Scrubber, scrubbed_logging

TOKEN = "c0ffee/Tok+en=42&x"  # every character class that percent-encoding touches


def test_plain_occurrences_are_redacted() -> None:
    scrubber = Scrubber([TOKEN])
    assert scrubber.text(f"a {TOKEN} b {TOKEN}") == f"a {REDACTED} b {REDACTED}"
    assert scrubber.url(f"https://x/{TOKEN}/y") == f"https://x/{REDACTED}/y"
    assert scrubber.secrets == (TOKEN,)


@pytest.mark.parametrize(
    "encoded",
    [quote(TOKEN, safe=""), quote(TOKEN), quote_plus(TOKEN)],
)
def test_percent_encoded_occurrences_are_redacted(encoded: str) -> None:
    assert encoded != TOKEN
    assert Scrubber([TOKEN]).text(f"https://x/p?q={encoded}&page=2") == f"https://x/p?q={REDACTED}&page=2"


def test_lower_case_hex_is_redacted() -> None:
    lower = "c0ffee%2ftok%2ben%3d42%26x"
    assert Scrubber(["c0ffee/tok+en=42&x"]).text(f"?q={lower}") == f"?q={REDACTED}"


def test_empty_secrets_are_ignored_and_duplicates_collapse() -> None:
    scrubber = Scrubber(["", "abc123", "abc123", ""])
    assert scrubber.secrets == ("abc123",)
    assert Scrubber([""]).text("nothing to hide") == "nothing to hide"
    assert Scrubber().secrets == ()


def test_a_longer_secret_containing_another_is_redacted_whole() -> None:
    assert Scrubber(["abc", "xxabcxx"]).text("1 xxabcxx 2 abc") == f"1 {REDACTED} 2 {REDACTED}"


@pytest.mark.parametrize("name", ["auth_token", "api_key", "token", "key", "AUTH_TOKEN", "Api_Key"])
def test_token_parameters_are_redacted_even_when_unknown(name: str) -> None:
    url = f"https://cryptopanic.com/api/v1/posts/?{name}=unknown-value-123&page=2"
    assert Scrubber().url(url) == f"https://cryptopanic.com/api/v1/posts/?{name}={REDACTED}&page=2"
    assert Scrubber().url(f"https://x/?page=2&{name}=v#frag") == f"https://x/?page=2&{name}={REDACTED}#frag"
    assert (
        Scrubber().text(f"<a href='/p?page=2&amp;{name}=v'>") == f"<a href='/p?page=2&amp;{name}={REDACTED}'>"
    )


def test_cryptopanic_next_link_in_a_json_body() -> None:
    body = json.dumps(
        {
            "count": 200,
            "next": f"https://cryptopanic.com/api/v1/posts/?auth_token={TOKEN}&page=2",
            "previous": None,
            "results": [{"title": "Bitcoin key levels to watch", "url": "https://cryptopanic.com/news/1/"}],
        }
    ).encode()
    scrubbed = Scrubber([TOKEN]).bytes(body)
    assert TOKEN.encode() not in scrubbed
    doc = json.loads(scrubbed)  # still JSON
    assert doc["next"] == "https://cryptopanic.com/api/v1/posts/?auth_token=REDACTED&page=2"
    assert doc["results"][0]["title"] == "Bitcoin key levels to watch"
    # an unknown token in the same place is caught by the parameter rule
    other = body.replace(TOKEN.encode(), b"someone-elses-token")
    assert json.loads(Scrubber().bytes(other))["next"].endswith("?auth_token=REDACTED&page=2")


def test_a_percent_encoded_url_inside_a_query() -> None:
    inner = quote("https://x/?auth_token=abc123&page=2", safe="")
    scrubbed = Scrubber().text(f"https://proxy/?next={inner}")
    assert "abc123" not in scrubbed
    assert scrubbed == "https://proxy/?next=https%3A%2F%2Fx%2F%3Fauth_token%3DREDACTED%26page%3D2"


@pytest.mark.parametrize(
    "text",
    [
        "The key to success is a token of appreciation.",
        "https://x/?monkey=1&turkey=2&donkey=3&tokens=4&keys=5&page=2",
        "key = value; token: abc; api_key is set",
        "keyboard tokenizer auth_tokens",
        '{"key": "BTC", "token": "ETH", "next": "https://api.llama.fi/protocols?page=2"}',
        "?token=&page=2",  # an empty value has nothing to hide
    ],
)
def test_no_false_positives(text: str) -> None:
    assert Scrubber(["s3cret-value"]).text(text) == text


def test_bytes_that_are_not_utf8_pass_through() -> None:
    data = b"\xff\xfe binary \x00 s3cret-value \xc3"
    assert Scrubber(["s3cret-value"]).bytes(data) == b"\xff\xfe binary \x00 REDACTED \xc3"
    assert Scrubber(["nope"]).bytes(b"\xff\xfe") == b"\xff\xfe"


def test_repr_does_not_show_secrets() -> None:
    assert TOKEN not in repr(Scrubber([TOKEN]))


@settings(max_examples=200, deadline=None, database=None)
@given(
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./+=&%", min_size=8, max_size=40),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_no_form_of_a_secret_survives(secret: str, before: str, after: str) -> None:
    scrubber = Scrubber([secret])
    for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
        out = scrubber.text(before + form + after)
        # REDACTED is upper-case: it cannot join the text around it into a new occurrence
        assert secret not in out.replace(REDACTED, "\x00")
        assert quote(secret, safe="") not in out.replace(REDACTED, "\x00")


# --- log records ------------------------------------------------------------------------------------------


def test_httpx_request_logs_never_show_the_token(fake_api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    fake_api.route("/posts", Reply(200, {"ok": True}))
    scrubber = Scrubber([TOKEN])
    previous = logging.getLogRecordFactory()

    async def request() -> None:
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(fake_api.url_for("/posts"), params={"auth_token": TOKEN, "page": "1"})
            assert response.status_code == 200

    caplog.set_level(logging.DEBUG)
    with scrubbed_logging(scrubber):
        asyncio.run(request())
        logging.getLogger("omc_data.test").debug("token is %s, url %s", TOKEN, f"/?key={quote(TOKEN)}")

    assert fake_api.requests_to("/posts")[0].query["auth_token"] == TOKEN  # the token really was sent
    httpx_records = [r for r in caplog.records if r.name == "httpx"]
    assert httpx_records and "auth_token=REDACTED" in httpx_records[0].getMessage()
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG traces were captured too
    for record in caplog.records:
        message = record.getMessage()
        assert (
            TOKEN not in message and quote(TOKEN, safe="") not in message and quote_plus(TOKEN) not in message
        )
        assert record.args is None
    assert TOKEN not in caplog.text and quote_plus(TOKEN) not in caplog.text
    assert caplog.records[-1].getMessage() == "token is REDACTED, url /?key=REDACTED"
    assert logging.getLogRecordFactory() is previous


def test_exceptions_become_a_scrubbed_summary(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with scrubbed_logging(Scrubber([TOKEN])):
        try:
            raise ValueError(f"bad request to https://x/?auth_token={TOKEN}\n  more")
        except ValueError:
            logging.getLogger("omc_data.test").exception("fetch of %s failed", TOKEN)
    [record] = caplog.records
    assert record.exc_info is None and record.exc_text is None
    assert (
        record.getMessage()
        == "fetch of REDACTED failed (ValueError: bad request to https://x/?auth_token=REDACTED more)"
    )
    assert TOKEN not in caplog.text and "Traceback" not in caplog.text


def test_nesting_restores_each_factory(caplog: pytest.LogCaptureFixture) -> None:
    original = logging.getLogRecordFactory()
    caplog.set_level(logging.INFO)
    log = logging.getLogger("omc_data.test")
    with scrubbed_logging(Scrubber(["first-secret"])):
        outer = logging.getLogRecordFactory()
        with scrubbed_logging(Scrubber(["second-secret"])):
            log.info("first-secret second-secret")
        assert logging.getLogRecordFactory() is outer
        log.info("first-secret second-secret")
    assert logging.getLogRecordFactory() is original
    log.info("first-secret")
    assert [r.getMessage() for r in caplog.records] == [
        "REDACTED REDACTED",
        "REDACTED second-secret",
        "first-secret",
    ]


def test_a_factory_installed_on_top_is_kept() -> None:
    original = logging.getLogRecordFactory()

    def on_top(*args: object, **kwargs: object) -> logging.LogRecord:
        return inner(*args, **kwargs)

    try:
        with scrubbed_logging(Scrubber(["hidden-secret"])):
            inner = logging.getLogRecordFactory()
            logging.setLogRecordFactory(on_top)
        assert logging.getLogRecordFactory() is on_top  # not clobbered; ours now passes records through
        record = logging.getLogger("omc_data.test").makeRecord(
            "t", logging.INFO, "f", 1, "x %s", ("hidden-secret",), None
        )
        assert record.getMessage() == "x hidden-secret"
    finally:
        logging.setLogRecordFactory(original)
