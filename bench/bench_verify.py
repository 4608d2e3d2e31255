"""``omc-data verify`` (every checksum of a snapshot, from process start to exit) against coreutils
``sha256sum -c`` over the same files: what the CLI, the manifest and Python cost on top of hashing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.harness import BenchContext, Benchmark, Contender

NAME = "verify-vs-sha256sum"
TAG = "bench"


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    days, coins = (2, 5) if ctx.quick else (90, 40)
    rows = days * 288 * coins
    root = ctx.data_dir(NAME)
    store = root / "store"
    sums = root / "SHA256SUMS"

    def setup(directory: Path) -> None:
        subprocess.run(
            ctx.omc_data_argv(
                "-q",
                "--store",
                str(store),
                "build",
                "--tag",
                TAG,
                "--no-real-data",
                "--seed",
                "1",
                "--as-of",
                "2026-11-01T00:00:00Z",
                "--days",
                str(days),
                "--coins",
                str(coins),
                "--bcrypt-rounds",
                "4",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        snapshot = store / TAG
        files = sorted(p.relative_to(snapshot) for p in snapshot.rglob("*.parquet"))
        files.append(Path("manifest.json"))
        listing = subprocess.run(
            ["sha256sum", *map(str, files)], cwd=snapshot, check=True, capture_output=True, text=True
        )
        sums.write_text(listing.stdout)

    return [
        Benchmark(
            name=NAME,
            description=f"verify a snapshot of {rows:,} price rows: omc-data verify vs sha256sum -c",
            thing=Contender(
                "omc-data verify", ctx.omc_data_argv("--store", str(store), "verify", TAG, "--json")
            ),
            baselines=[Contender("sha256sum -c", ["sha256sum", "--quiet", "-c", str(sums)], cwd=store / TAG)],
            setup=setup,
            repeat=7,
            quick_repeat=1,
            warmup=1,
            max_rss_mb=200,
            work=rows,
        )
    ]
