"""``collect`` on a schedule and ``build --from-collected``: what gets filed, and what a build makes of it."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fakeapi import FakeApi, FakeClock, Reply
from recorded import COINSPOT, PAGE_1, PAGE_2, TOKEN, _post, request, serve

import omc_data
from omc_data.builder.fetch.collection import Collection
from omc_data.errors import UsageError

SMALL: dict[str, Any] = {
    "seed": 7,
    "users": 1,
    "coins": 2,
    "days": 1,
    "algorithms": 1,
    "agent_sessions": 1,
    "bcrypt_rounds": 4,
}


def coinspot_at(btc_last: str) -> Reply:
    doc = copy.deepcopy(COINSPOT)
    doc["prices"]["btc"] = {"bid": btc_last, "ask": btc_last, "last": btc_last}
    return Reply(body=doc)


def files(store: Path, source: str) -> list[Path]:
    return [p for _, p in Collection.of_store(store).files(source)]


def test_each_run_files_coinspot_defillama_daily_and_only_new_posts(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    first = omc_data.collect_once(store=tmp_path, collector=request(fake_api, fake_clock))
    assert {s: f.outcome for s, f in first.items()} == dict.fromkeys(
        ("coinspot", "defillama", "cryptopanic"), "collected"
    )
    assert first["cryptopanic"].new_posts == 3  # the post on both pages is filed once
    fake_clock.advance(300)
    second = omc_data.collect_once(store=tmp_path, collector=request(fake_api, fake_clock))
    assert second["coinspot"].outcome == "collected"
    assert second["defillama"].outcome == "skipped" and "at most daily" in (second["defillama"].reason or "")
    assert second["cryptopanic"].new_posts == 0 and second["cryptopanic"].files == []
    # paging stopped at the first page that reached a held post
    assert [r.query.get("page") for r in fake_api.requests_to("/api/developer/v2/posts/")] == [
        None,
        "2",
        None,
    ]

    newer = {
        **PAGE_1,
        "results": [
            _post(24016000, "Solana rallies", "2026-11-24T11:58:00Z", {}, ["SOL"]),
            *PAGE_1["results"],
        ],
    }
    fake_api.route_pages("/api/developer/v2/posts/", {"1": Reply(body=newer), "2": Reply(body=PAGE_2)})
    fake_clock.advance(24 * 3600)
    third = omc_data.collect_once(store=tmp_path, collector=request(fake_api, fake_clock))
    assert third["cryptopanic"].new_posts == 1
    assert third["defillama"].outcome == "collected"  # a new UTC day
    assert len(files(tmp_path, "coinspot")) == 3
    assert len(files(tmp_path, "defillama")) == 2
    assert len(files(tmp_path, "cryptopanic")) == 3
    for path in (tmp_path / ".collected").rglob("*.json.gz"):
        assert TOKEN.encode() not in gzip.decompress(path.read_bytes())


def test_a_failed_page_keeps_the_watermark_so_no_post_is_lost(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api, pages={"1": Reply(body=PAGE_1), "2": Reply(status=500)})
    first = omc_data.collect_once(
        store=tmp_path, sources=["cryptopanic"], collector=request(fake_api, fake_clock)
    )
    assert first["cryptopanic"].outcome == "collected" and first["cryptopanic"].new_posts == 2
    assert "stopped after page 1" in (first["cryptopanic"].reason or "")
    assert Collection.of_store(tmp_path).state("cryptopanic") == {}  # page 2's posts are still owed
    fake_api.route_pages("/api/developer/v2/posts/", {"1": Reply(body=PAGE_1), "2": Reply(body=PAGE_2)})
    second = omc_data.collect_once(
        store=tmp_path, sources=["cryptopanic"], collector=request(fake_api, fake_clock)
    )
    assert second["cryptopanic"].reason is None
    assert Collection.of_store(tmp_path).state("cryptopanic") == {"newest_id": 24015501}
    posts, _ = Collection.of_store(tmp_path).responses("cryptopanic")
    held = {p["id"] for r in posts for p in r.json()["results"]}
    assert 24014977 in held  # the post only page 2 had


def test_overlapping_runs_never_file_defillama_twice(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api, defillama=[Reply(body=[{"name": "Lido", "slug": "lido", "tvl": 1.0}], delay=0.3)])
    results: list[dict[str, Any]] = []

    def run() -> None:
        results.append(
            omc_data.collect_once(
                store=tmp_path, sources=["coinspot", "defillama"], collector=request(fake_api, fake_clock)
            )
        )

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(files(tmp_path, "coinspot")) == 4  # every run is one more tick
    assert len(files(tmp_path, "defillama")) == 1
    assert sum(r["defillama"].outcome == "collected" for r in results) == 1
    assert not list((tmp_path / ".collected").rglob(".tmp-*"))


def test_build_from_collected_uses_every_real_tick_and_lists_the_gaps(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api, coinspot=[coinspot_at("100000"), coinspot_at("100500"), coinspot_at("99000")])
    for _ in range(3):
        omc_data.collect_once(store=tmp_path, collector=request(fake_api, fake_clock))
        fake_clock.advance(300)
    fake_api.close()  # a --from-collected build never goes online
    m = omc_data.build_snapshot("week", store=tmp_path, real_data="collected", **SMALL)
    assert m.inputs["as_of"] == "2026-11-24T12:10:00Z"  # the latest collected tick
    table = pq.read_table(next((tmp_path / "week" / "tables" / "price_data_5min").glob("*.parquet")))
    btc = [r for r in table.to_pylist() if r["coin_type"] == "btc"]
    assert len(btc) == 288
    assert [str(r["last"]) for r in btc[-3:]] == ["100000.00000000", "100500.00000000", "99000.00000000"]
    sol = [r for r in table.to_pylist() if r["coin_type"] == "sol"]
    assert len(sol) == 3  # a collected coin outside the history keeps its real ticks only
    cs = m.sources["coinspot"]
    assert cs["outcome"] == "collected" and cs["rows"] == 3 * 7
    assert cs["synthetic_ticks"] == 2 * 285
    assert cs["gaps"] == [
        {
            "coins": ["btc", "eth"],
            "ticks": 285,
            "ranges": [{"from": "2026-11-23T12:15:00Z", "to": "2026-11-24T11:55:00Z", "ticks": 285}],
        }
    ]
    assert len(cs["raw"]) == 3  # the files used are kept, so the build can be replayed
    assert m.inputs["real_data"]["mode"] == "collected"
    again = omc_data.replay_snapshot("week-again", "week", store=tmp_path)
    assert {n: t.parts[0].sha256 for n, t in again.tables.items()} == {
        n: t.parts[0].sha256 for n, t in m.tables.items()
    }


def test_from_collected_without_a_collection_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="omc-data collect"):
        omc_data.build_snapshot("v1", store=tmp_path, real_data="collected")


def test_an_unreadable_collected_file_is_reported_not_fatal(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    omc_data.collect_once(store=tmp_path, sources=["coinspot"], collector=request(fake_api, fake_clock))
    fake_clock.advance(300)
    omc_data.collect_once(store=tmp_path, sources=["coinspot"], collector=request(fake_api, fake_clock))
    files(tmp_path, "coinspot")[0].write_bytes(b"not gzip")
    m = omc_data.build_snapshot("v1", store=tmp_path, real_data="collected", sources=["coinspot"], **SMALL)
    assert m.sources["coinspot"]["outcome"] == "collected"
    assert "1 unreadable files skipped" in m.sources["coinspot"]["reason"]


def test_prune_bounds_the_collection_and_keeps_each_sources_newest(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    for _ in range(4):
        omc_data.collect_once(store=tmp_path, collector=request(fake_api, fake_clock))
        fake_clock.advance(12 * 3600)
    before = {s: len(files(tmp_path, s)) for s in ("coinspot", "defillama", "cryptopanic")}
    # runs at 12:00 on the 24th, then 00:00 and 12:00 on the 25th, 00:00 on the 26th; now is 12:00 on the 26th
    assert before == {"coinspot": 4, "defillama": 3, "cryptopanic": 2}  # both pages of the first run
    now = fake_clock.now()
    dry = omc_data.prune_collection(store=tmp_path, keep_days=1, now=now, dry_run=True)
    assert len(dry.files) == 4 and all(p.exists() for p in dry.files)
    done = omc_data.prune_collection(store=tmp_path, keep_days=1, now=now)
    assert [p.name for p in done.files] == [p.name for p in dry.files] and not any(
        p.exists() for p in done.files
    )
    # the newest run's files of each source stay, however old (CryptoPanic's pages remember what is held)
    assert {s: len(files(tmp_path, s)) for s in before} == {"coinspot": 2, "defillama": 1, "cryptopanic": 2}
    tiny = omc_data.prune_collection(store=tmp_path, max_bytes=1, now=now)
    assert len(tiny.files) == 1  # down to each source's newest files
    assert {s: len(files(tmp_path, s)) for s in before} == {"coinspot": 1, "defillama": 1, "cryptopanic": 2}
    with pytest.raises(UsageError, match="needs a limit"):
        omc_data.prune_collection(store=tmp_path)


def test_the_collection_is_invisible_to_the_snapshot_store(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    omc_data.collect_once(store=tmp_path, sources=["coinspot"], collector=request(fake_api, fake_clock))
    assert omc_data.list_snapshots(tmp_path) == []
    omc_data.build_snapshot(
        "v1", store=tmp_path, **{**SMALL, "as_of": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)}
    )
    assert files(tmp_path, "coinspot")  # a build's cleanup never touches it
