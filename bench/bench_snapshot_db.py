"""The ``omc_snapshot_db`` fixture's per-test cost: a ``CREATE DATABASE ... TEMPLATE`` clone of a template
loaded once, against loading the snapshot afresh for every test (``load_snapshot(create_schema=True)``
into a new empty database), which is what a fixture without templates would do.

Both contenders are child processes that make one database holding the snapshot and drop it again; the
snapshot is ``--days 7 --coins 10`` (20,160 price rows plus the default rest; ``--quick``: 1 day x 3
coins). One throwaway cluster (fsync off) serves both. Target: the clone at least 2x faster (measured
2.3x here; in process, without the interpreter start, 0.34 s against 0.63 s: CREATE DATABASE itself
costs about 0.3 s, so the gain grows with the snapshot).

    .venv/bin/python -m bench snapshot-db-clone-vs-reload          # 5 rounds
    .venv/bin/python -m bench snapshot-db-clone-vs-reload --quick  # smoke run
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from bench.harness import BenchContext, Benchmark, Contender, faster_by

NAME = "snapshot-db-clone-vs-reload"
TAG = "bench-snapdb"

_CLONE = """
import sys
from omc_data.localdb.cluster import create_database, drop_database
admin, template = sys.argv[1], sys.argv[2]
create_database(admin, "bench_clone", template=template)
drop_database(admin, "bench_clone")
"""

_RELOAD = """
import sys
import omc_data
from omc_data.localdb.cluster import create_database, drop_database
from omc_data.testing.server import with_dbname
admin, store = sys.argv[1], sys.argv[2]
create_database(admin, "bench_reload")
omc_data.load_snapshot(sys.argv[3], db=with_dbname(admin, "bench_reload"), store=store, create_schema=True)
drop_database(admin, "bench_reload")
"""


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    days, coins = (1, 3) if ctx.quick else (7, 10)
    root = ctx.data_dir(NAME)
    state = root / "state.json"
    stack = contextlib.ExitStack()

    def setup(directory: Path) -> None:
        import omc_data
        from omc_data.testing.server import TestServer, throwaway_cluster

        store = directory / "store"
        omc_data.build_snapshot(
            TAG, store=store, seed=1, as_of="2026-11-01T00:00:00Z", days=days, coins=coins, bcrypt_rounds=4
        )
        server = TestServer(stack.enter_context(throwaway_cluster()))
        template = server.snapshot_template(TAG, store)
        state.write_text(json.dumps({"admin": server.admin_url, "template": template, "store": str(store)}))

    def teardown(directory: Path) -> None:
        stack.close()

    def info() -> dict[str, str]:
        data: dict[str, str] = json.loads(state.read_text())
        return data

    return [
        Benchmark(
            name=NAME,
            description="a test's snapshot database: clone of a template vs a fresh load",
            thing=Contender(
                "template clone", lambda: [ctx.python, "-c", _CLONE, info()["admin"], info()["template"]]
            ),
            baselines=[
                Contender(
                    "load_snapshot",
                    lambda: [ctx.python, "-c", _RELOAD, info()["admin"], info()["store"], TAG],
                )
            ],
            setup=setup,
            teardown=teardown,
            max_ratio=faster_by(2),
        )
    ]
