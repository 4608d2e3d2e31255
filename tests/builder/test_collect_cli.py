"""The collectors at the command line, run as a user would: flags, loud degradation, and no token anywhere."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest
from fakeapi import FakeApi, FakeClock, Reply
from recorded import TOKEN, env, request, serve

import omc_data
from snaptools import assert_json_error, run_cli, run_cli_many

QUICK = [
    "--seed",
    "7",
    "--users",
    "1",
    "--days",
    "1",
    "--coins",
    "2",
    "--bcrypt-rounds",
    "4",
    "--algorithms",
    "1",
    "--agent-sessions",
    "1",
    # generous: the fake server answers from this busy test process; a 503 costs ~10 s of real backoff
    "--source-budget",
    "30",
    "--http-timeout",
    "10",
]


def test_the_token_never_reaches_output_logs_manifest_raw_or_errors(
    tmp_path: Path, fake_api: FakeApi
) -> None:
    serve(fake_api)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    ok = run_cli("-vv", "--store", str(tmp_path), "build", "--tag", "v1", *QUICK, env=env(fake_api))
    assert ok.code == 0, ok
    assert "HTTP Request: GET" in ok.stderr  # -vv shows httpx's request lines: they were scrubbed, not hidden
    assert "auth_token=REDACTED" in ok.stderr
    from_file = run_cli(
        "-vv",
        "--store",
        str(tmp_path),
        "build",
        "--tag",
        "v2",
        "--json",
        *QUICK,
        "--cryptopanic-token-file",
        str(token_file),
        env={**env(fake_api), "CRYPTOPANIC_API_KEY": ""},
    )
    assert from_file.code == 0, from_file
    assert from_file.json()["sources"]["cryptopanic"]["outcome"] == "collected"
    # the server echoes the token back in an error body: the JSON error must not carry it
    fake_api.route_pages(
        "/api/developer/v2/posts/", {"1": Reply(status=401, body={"detail": f"bad token {TOKEN}"})}
    )
    failed = run_cli(
        "-vv",
        "--store",
        str(tmp_path),
        "build",
        "--tag",
        "v3",
        "--json",
        "--require-real-data",
        *QUICK,
        env=env(fake_api),
    )
    error = assert_json_error_lines(failed)
    assert "401" in error["message"] and not (tmp_path / "v3").exists()
    collected = run_cli(
        "-vv", "--store", str(tmp_path), "collect", "--json", "--source-budget", "1", env=env(fake_api)
    )
    assert collected.code == 1 and collected.json()["sources"]["cryptopanic"]["outcome"] == "degraded"

    seen = [
        ok.stdout,
        ok.stderr,
        from_file.stdout,
        from_file.stderr,
        failed.stdout,
        failed.stderr,
        collected.stdout,
        collected.stderr,
    ]
    for snapshot in ("v1", "v2"):
        seen.append((tmp_path / snapshot / "manifest.json").read_text())
        seen.extend(
            gzip.decompress(p.read_bytes()).decode() for p in (tmp_path / snapshot / "raw").rglob("*.gz")
        )
    seen.extend(gzip.decompress(p.read_bytes()).decode() for p in (tmp_path / ".collected").rglob("*.gz"))
    assert len(seen) > 12
    leaks = [text[:200] for text in seen if TOKEN in text]
    assert not leaks


def assert_json_error_lines(run: object) -> dict[str, str]:
    """A JSON error on stdout (stderr also carries -vv log lines here, so only stdout is parsed)."""
    import json

    doc = json.loads(run.stdout)  # type: ignore[attr-defined]
    assert run.code == 1, run  # type: ignore[attr-defined]
    return dict(doc["error"])


def test_the_python_api_scrubs_httpx_logs_at_debug(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    serve(fake_api)
    with caplog.at_level(logging.DEBUG):
        omc_data.build_snapshot(
            "v1",
            store=tmp_path,
            real_data="live",
            collector=request(fake_api, fake_clock),
            seed=7,
            users=1,
            days=1,
            coins=2,
            bcrypt_rounds=4,
        )
    assert any("cryptopanic" in r.getMessage() or "posts" in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_degraded_sources_are_said_loudly_and_flags_that_contradict_are_usage_errors(
    tmp_path: Path, fake_api: FakeApi
) -> None:
    serve(fake_api, coinspot=[Reply(status=503, body={"status": "error", "message": "maintenance"})])
    store = str(tmp_path)
    degraded, both, replay_and_live, as_of, replay_sources = run_cli_many(
        [
            ["--store", store, "build", "--tag", "v1", *QUICK],
            ["--store", store, "build", "--tag", "v2", "--no-real-data", "--no-synthetic", "--json"],
            ["--store", store, "build", "--tag", "v3", "--replay", "v1", "--no-real-data"],
            ["--store", store, "build", "--tag", "v4", "--as-of", "2026-11-01T00:00:00Z", *QUICK],
            ["--store", store, "build", "--tag", "v6", "--replay", "v1", "--sources", "coinspot"],
        ],
        env=env(fake_api),
    )
    assert degraded.code == 0, degraded
    assert "coinspot DEGRADED" in degraded.stderr and "maintenance" in degraded.stderr
    assert "synthetic stand-in used for price_data_5min" in degraded.stderr
    assert_json_error(both, kind="usage_error", code=2)
    assert replay_and_live.code == 2 and "cannot be combined" in replay_and_live.stderr
    assert as_of.code == 2 and "--as-of cannot be combined with live collection" in as_of.stderr
    assert replay_sources.code == 2 and "--sources does not apply to --replay" in replay_sources.stderr
    replayed = run_cli(
        "--store", store, "build", "--tag", "v5", "--replay", "v1", "--json", env=env(fake_api)
    )
    assert replayed.code == 0, replayed
    assert (
        replayed.json()["sources"]["coinspot"]["outcome"] == "degraded"
    )  # the stand-in is rebuilt as it was
    assert replayed.json()["sources"]["defillama"]["outcome"] == "replayed"


def test_collect_cli_files_and_prunes(tmp_path: Path, fake_api: FakeApi) -> None:
    serve(fake_api)
    store = str(tmp_path)
    first = run_cli("--store", store, "collect", "--json", env=env(fake_api))
    assert first.code == 0, first
    filed = first.json()["sources"]
    assert filed["coinspot"]["outcome"] == "collected" and len(filed["coinspot"]["files"]) == 1
    assert filed["cryptopanic"]["new_posts"] == 3
    human = run_cli("--store", store, "collect", env=env(fake_api))
    assert human.code == 0, human
    assert "coinspot: filed 1 responses" in human.stderr and "defillama: skipped" in human.stderr
    quiet = run_cli("-q", "--store", store, "collect", env=env(fake_api))
    assert quiet.code == 0 and quiet.stdout == quiet.stderr == "", quiet  # cron mails only on failure
    pruned, bad = run_cli_many(
        [
            ["--store", store, "collect", "--prune", "--max-size", "1B", "--json"],
            ["--store", store, "collect", "--keep-days", "3"],
        ]
    )
    assert pruned.code == 0 and pruned.json()["removed_bytes"] > 0, pruned
    assert bad.code == 2 and "--prune" in bad.stderr
    built = run_cli("--store", store, "build", "--tag", "c1", "--from-collected", "--json", *QUICK[:-4])
    assert built.code == 0, built
    assert built.json()["sources"]["coinspot"]["outcome"] == "collected"
