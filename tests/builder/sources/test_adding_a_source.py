"""CONTRIBUTING.md's "Adding a source" walk-through, run as written: a ``desknews`` source works.

The module and the registry entry are the ```python blocks under the ``<!-- example: source -->`` and
``<!-- example: registry -->`` markers. The module block runs as ``omc_data.builder.sources.desknews``;
the registry block runs in the namespace of ``omc_data.builder.sources`` and its ``REGISTRY`` replaces
the real one for the test (everything reads it at call time). Nothing in src/ changes. With it, a live
build, a replay, ``collect`` on its schedule, ``--from-collected``, the endpoint variable and the CLI's
source options work without touching any other module.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fakeapi import FakeApi, FakeClock, Reply

import omc_data
from omc_data.builder import sources
from omc_data.builder.fetch.http import RetryPolicy
from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.generators.spec import Spec
from omc_data.builder.live import CollectRequest
from omc_data.builder.sources.counts import SourceCounts
from omc_data.builder.sources.model import Reading, Source
from omc_data.errors import UsageError

CONTRIBUTING = Path(__file__).resolve().parents[3] / "CONTRIBUTING.md"
PATH = "/v1/stories"
FAST = RetryPolicy(timeout=2.0, attempts=2, backoff=0.01, backoff_max=0.02, budget=10.0)
SMALL: dict[str, Any] = {
    "seed": 7,
    "users": 1,
    "coins": 2,
    "days": 1,
    "algorithms": 1,
    "agent_sessions": 1,
    "bcrypt_rounds": 4,
}
STORIES = {
    "stories": [
        {
            "headline": "Bitcoin holds above support",
            "link": "https://desknews.example/s/1",
            "published": "2026-11-24T09:00:00Z",
            "tickers": ["btc", "BTC"],
            "bullish": 3,
            "bearish": 1,
        },
        {"headline": "  ", "link": "https://desknews.example/s/2", "published": "2026-11-24T09:05:00Z"},
        {
            "headline": "Ether fees fall",
            "link": "https://desknews.example/s/3",
            "published": "2026-11-24T10:00:00Z",
            "tickers": ["eth"],
            "bullish": 0,
            "bearish": 2,
        },
        {
            "headline": "Bitcoin holds (again)",
            "link": "https://desknews.example/s/1",
            "published": "2026-11-24T11:00:00Z",
        },
    ]
}


def example(name: str) -> str:
    """The ```python block right under ``<!-- example: NAME -->`` in CONTRIBUTING.md."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    found = re.findall(rf"<!-- example: {name} -->\n```python\n(.*?)\n```\n", text, flags=re.DOTALL)
    assert len(found) == 1, f"CONTRIBUTING.md needs exactly one block marked 'example: {name}'"
    return str(found[0])


@pytest.fixture
def desknews(monkeypatch: pytest.MonkeyPatch) -> Iterator[Source]:
    """The example module, importable as ``omc_data.builder.sources.desknews``, and the example
    registry in place of the real one."""
    name = "omc_data.builder.sources.desknews"
    module = types.ModuleType(name)
    exec(compile(example("source"), "CONTRIBUTING.md <example: source>", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sources, "desknews", module, raising=False)
    namespace = dict(vars(sources))
    exec(compile(example("registry"), "CONTRIBUTING.md <example: registry>", "exec"), namespace)
    monkeypatch.setattr(sources, "REGISTRY", namespace["REGISTRY"])
    yield module.SOURCE


def collector(api: FakeApi, clock: FakeClock) -> CollectRequest:
    return CollectRequest(endpoints={"desknews": api.url_for(PATH)}, policy=FAST, clock=clock, seed=1)


def news_rows(store: Path, tag: str) -> list[dict[str, Any]]:
    files = sorted((store / tag / "tables" / "news_sentiment").glob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def test_the_example_joins_the_registry_after_the_sources_there(desknews: Source) -> None:
    assert sources.names() == ("coinspot", "defillama", "cryptopanic", "desknews")
    assert sources.source("desknews") is desknews
    # an alternative to cryptopanic: not chosen unless named
    assert sources.defaults() == ("coinspot", "defillama", "cryptopanic")
    assert CollectRequest().sources == ("coinspot", "defillama", "cryptopanic")


def test_its_check_and_parser_map_stories_to_news_rows(desknews: Source) -> None:
    with pytest.raises(ValueError, match="no 'stories' list"):
        desknews.check(b'{"detail": "rate limited"}')
    with pytest.raises(ValueError, match="not JSON"):
        desknews.check(b"<html>")
    at = dt.datetime(2026, 11, 24, 12, tzinfo=dt.timezone.utc)
    response = RawResponse("desknews", "https://desknews.example", 200, at, json.dumps(STORIES).encode())
    spec = Spec(seed=1, as_of=at, news=10)
    counts = SourceCounts()
    parsed = desknews.parse(spec, [response], counts, Reading(collected=False, synthetic=True))
    assert [(r["url"], r["sentiment"], r["currencies"]) for r in parsed.value] == [
        ("https://desknews.example/s/1", "positive", ["BTC"]),
        ("https://desknews.example/s/3", "negative", ["ETH"]),
    ]
    assert counts.to_json() == {
        "records": 4,
        "rows": 2,
        "rounded": 0,
        "skipped": {"duplicate link": 1, "no link or headline": 1},
    }


def test_a_live_build_fetches_it_and_a_replay_rebuilds_the_same_bytes(
    desknews: Source, tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    fake_api.route(PATH, Reply(body=STORIES))
    m = omc_data.build_snapshot(
        "v1",
        store=tmp_path,
        real_data="live",
        sources=["desknews"],
        collector=collector(fake_api, fake_clock),
        **SMALL,
    )
    record = m.sources["desknews"]
    assert record["outcome"] == "collected" and record["table"] == "news_sentiment"
    assert record["rows"] == 2 and record["endpoint"] == fake_api.url_for(PATH)
    assert record["raw"] and all(p.startswith("raw/desknews/") for p in record["raw"])
    assert m.sources["cryptopanic"]["outcome"] == "synthetic"
    rows = news_rows(tmp_path, "v1")
    assert [(r["id"], r["title"], r["source"]) for r in rows] == [
        (1, "Bitcoin holds above support", "DeskNews"),
        (2, "Ether fees fall", "DeskNews"),
    ]
    replay = omc_data.replay_snapshot("v1-again", "v1", store=tmp_path)
    assert replay.sources["desknews"]["outcome"] == "replayed"
    assert replay.tables["news_sentiment"].parts == m.tables["news_sentiment"].parts
    assert len(fake_api.requests_to(PATH)) == 1  # the replay stayed offline


def test_collect_files_it_daily_and_a_collected_build_reads_it(
    desknews: Source, tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    fake_api.route(PATH, Reply(body=STORIES))
    first = omc_data.collect_once(
        store=tmp_path, sources=["desknews"], collector=collector(fake_api, fake_clock)
    )
    assert first["desknews"].outcome == "collected" and len(first["desknews"].files) == 1
    fake_clock.advance(300)
    second = omc_data.collect_once(
        store=tmp_path, sources=["desknews"], collector=collector(fake_api, fake_clock)
    )
    assert second["desknews"].outcome == "skipped"
    assert "at most daily" in (second["desknews"].reason or "")
    m = omc_data.build_snapshot("week", store=tmp_path, real_data="collected", sources=["desknews"], **SMALL)
    assert m.sources["desknews"]["outcome"] == "collected" and m.sources["desknews"]["rows"] == 2
    assert m.inputs["as_of"] == "2026-11-24T12:00:00Z"  # no leading source chosen: its latest fetch


def test_two_chosen_sources_may_not_fill_the_same_table(desknews: Source, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'cryptopanic' and 'desknews' both fill news_sentiment"):
        omc_data.build_snapshot("v1", store=tmp_path, real_data="live", sources=["cryptopanic", "desknews"])
    assert not (tmp_path / "v1").exists()


def test_the_cli_options_and_the_endpoint_variable_come_from_the_registry(
    desknews: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omc_data.cli import source_options

    monkeypatch.setenv("OMC_DATA_DESKNEWS_URL", "http://127.0.0.1:9/mirror/stories")
    request = source_options.collect_request({}, 5.0, 30.0, token=False)
    assert request.endpoint("desknews") == "http://127.0.0.1:9/mirror/stories"
    monkeypatch.setenv("OMC_DATA_DESKNEWS_URL", "desknews.example/stories")
    with pytest.raises(UsageError, match="OMC_DATA_DESKNEWS_URL is not an http"):
        source_options.collect_request({}, 5.0, 30.0, token=False)
