"""A benchmark of the harness itself, independent of omc_data: hashlib vs coreutils on one file.

The thing streams the file through ``hashlib.sha256`` in 1 MiB chunks; the baseline is the
``sha256sum`` binary. Both read the same file, just written by setup (so from the page cache).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.harness import BenchContext, Benchmark, Contender

NAME = "sha256-python-vs-coreutils"
CHUNK = 1 << 20

HASH_FILE = """\
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())
"""


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    size_mib = 8 if ctx.quick else 64
    data = ctx.data_dir(NAME) / "data.bin"

    def setup(directory: Path) -> None:
        with (directory / data.name).open("wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(CHUNK))

    return [
        Benchmark(
            name=NAME,
            description=f"SHA-256 of a {size_mib} MiB file: hashlib in 1 MiB chunks vs coreutils sha256sum",
            thing=Contender("python-hashlib", [ctx.python, "-c", HASH_FILE, str(data)]),
            baselines=[Contender("sha256sum", ["sha256sum", str(data)])],
            setup=setup,
            repeat=7,
            quick_repeat=1,
            warmup=1,
            # Loose, informative targets: hashlib and sha256sum both hash at memory-ish speed, and
            # streaming in chunks must not hold the file in memory.
            max_ratio=2.0,
            max_rss_mb=48,
            work=size_mib,
            work_unit="MiB",
        )
    ]
