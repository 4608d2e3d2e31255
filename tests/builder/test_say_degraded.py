"""An offline build says it is degraded where it reports success, and `list` shows each source's outcome;
a replay states the original's degradation once, quietly, instead of re-warning (issue 14, item 7)."""

from __future__ import annotations

from pathlib import Path

from snaptools import run_cli

OFFLINE = {  # nothing listens on port 1 here: every source fails to connect
    "OMC_DATA_COINSPOT_URL": "http://127.0.0.1:1/coinspot",
    "OMC_DATA_DEFILLAMA_URL": "http://127.0.0.1:1/defillama",
    "OMC_DATA_CRYPTOPANIC_URL": "http://127.0.0.1:1/cryptopanic",
    "CRYPTOPANIC_API_KEY": "not-a-real-token",
}
QUICK = ["--seed", "7", "--users", "1", "--days", "1", "--coins", "2", "--bcrypt-rounds", "4"]
SOURCES = ("coinspot", "defillama", "cryptopanic")


def test_an_offline_build_says_degraded_and_list_shows_the_outcomes(tmp_path: Path) -> None:
    store = ["--store", str(tmp_path)]
    built = run_cli(*store, "build", "--tag", "v1", *QUICK, env=OFFLINE)
    assert built.code == 0, built
    [last] = [line for line in built.stdout.splitlines() if line.startswith("built v1")]
    assert "(degraded: coinspot, defillama, cryptopanic fell back to synthetic stand-ins)" in last, last
    assert all(f"warning: {name} DEGRADED" in built.stderr for name in SOURCES), built

    replayed = run_cli(*store, "build", "--tag", "v2", "--replay", "v1", env=OFFLINE)
    assert replayed.code == 0, replayed
    assert "DEGRADED" not in replayed.stderr and "warning" not in replayed.stderr, replayed
    for name in SOURCES:
        assert replayed.stderr.count(f"{name}: was degraded in v1") == 1, replayed

    listing = run_cli(*store, "list")
    assert listing.code == 0, listing
    rows = [line for line in listing.stdout.splitlines() if line.split()[:1] in (["v1"], ["v2"])]
    assert len(rows) == 2 and all("degraded (coinspot, defillama, cryptopanic)" in r for r in rows), listing
    doc = run_cli(*store, "list", "--json").json()
    for snap in doc["snapshots"]:
        assert snap["sources"] == dict.fromkeys(SOURCES, "degraded"), snap


def test_a_synthetic_build_lists_as_synthetic_and_reads_as_plain_success(tmp_path: Path) -> None:
    store = ["--store", str(tmp_path)]
    built = run_cli(*store, "build", "--tag", "s", "--no-real-data", *QUICK)
    assert built.code == 0 and "degraded" not in built.stdout and "built s: " in built.stdout, built
    listing = run_cli(*store, "list")
    [row] = [line for line in listing.stdout.splitlines() if line.split()[:1] == ["s"]]
    assert row.split()[-1] == "synthetic", listing
