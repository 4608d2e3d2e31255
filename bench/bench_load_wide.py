"""``omc-data load`` of a snapshot with a wide text table, process start to exit: does its peak RSS stay
under 500 MB when one table holds more text than that?

The issue's memory target is "loader peak RSS under 500 MB whatever the snapshot size (wide text tables
included)". ``bench_load.py`` proves it for 5M narrow price rows (~260 MB of Parquet); this benchmark
proves it for wide text, where a loader that held a table, a row group or even a column chunk in memory
would blow the target.

The snapshot (untimed setup, ``bench/load_setup.py``'s fixture with a ``derive`` step):

1. ``omc-data build --no-real-data --as-of 2026-11-01T00:00:00Z --agent-sessions 20000 --days 1
   --coins 2 --bcrypt-rounds 4`` (tag ``bench-wide-base``: 149,571 ``agent_session_messages``);
2. :func:`widen` writes a new snapshot ``bench-wide`` through the snapshot writer API
   (``SnapshotWriter``: the same Parquet layout, manifest, checksums, column stats and blocking checks
   as a build, so ``omc-data verify``/``load`` accept it): every table copied as it is, except that
   each message's ``content`` becomes a deterministic text of 2,000-8,000 characters (uniform, seeded),
   cut from a corpus of pseudo-words (~3% non-ASCII: accents, Greek, Cyrillic, CJK, emoji; some quotes,
   commas, backslashes and blank lines, so that the CSV baseline has to quote). At full size: 149,571
   rows, 759 MB of UTF-8 text (295 MB of Parquet in one part, row groups closed at 32 MiB of data by
   the snapshot writer), more than the 500 MB target.

``--quick``: 100 sessions (~750 messages, ~4 MB of text), for CI's smoke run.

Contenders, each in its own database of one throwaway cluster holding the app-like schema
(``tests/loaders/sql/omc_current.sql``); the ``before`` hook (untimed) empties the dataset tables and
views and runs a CHECKPOINT; the teardown checks that both end states match (rows and a hash of every
table and view):

- ``omc-data load``: ``omc-data -q --store S load bench-wide --db URL --no-backup`` (binary COPY of
  every table of the snapshot, batches sized from the manifest's ``max_length`` stats);
- ``csv copy indexed``: psql, one transaction: server-side ``COPY t FROM '/path/t.csv' (FORMAT csv,
  HEADER)`` of every dataset table (the messages and the tables they reference, so the foreign keys
  hold; the other tables are a few MB), then the same finish statements as ``omc-data load``
  (sequences, materialized views, ANALYZE).

Targets: ``max_rss_mb=500`` for ``omc-data load``, the point of this benchmark. The baseline's peak RSS
(psql) says nothing: the server reads the CSV file, and the server's memory is not the child's. The
ratio target is ``max_ratio=1.0`` (no slower than the server reading a CSV file of the same rows):
with wide text most of the time of both is the server's (TOAST compression of every value, WAL,
the primary key), so the ratio shows what the client side (checksums, Parquet decoding, binary
encoding, the wire) adds on top. Full runs (2 cores, 3 rounds each): omc-data 14.3 s / 16.2 s / 14.5 s
median, CSV COPY 17.2 s / 17.6 s / 18.1 s, ratio 0.83 / 0.92 / 0.80 (the second with other work on the
machine: a noisy neighbour can tip it over 1.0, which prints MISS); omc-data's peak RSS 228 / 236 /
219 MB (the last after ab5bab5; a quick run's, 4 MB of text, is 169-177 MB: most of it is the process
itself).

``load-wide-text-backup``: the same load with ``--backup`` (the CLI's default when the tables hold rows
no stored snapshot has), whose capture runs in the loader's process and so counts against the same
500 MB. Before ab5bab5 a capture of this table peaked at 1.6-2.1 GB (131,072-row row groups of ~670 MB
of text, Arrow's pool keeping freed pages, and a foreign-key check whose ``NOT EXISTS`` made DuckDB carry
every column of the table); this benchmark keeps that from coming back.

- thing: ``omc-data -q --store S load bench-wide --db URL --backup`` in its own database
  (``omc_backup``), process start to exit: it captures the tables into ``pre-load-<UTC time>`` (the
  759 MB of text read back from the server, written as a snapshot: row groups, checksums, stats,
  blocking checks), then reloads them. ``--backup`` captures whatever the tables hold; the ``before``
  hook (untimed) makes sure they hold the snapshot's rows (an ``omc-data load --no-backup`` the first
  time, or when the row count of ``agent_session_messages`` is off; after that each run's own reload
  leaves them so), runs a CHECKPOINT, and removes the ``pre-load-*`` captures of the store (only this
  benchmark makes any there) so that the disk holds one at a time. The teardown checks the end state
  against the CSV baseline's and that the last run's capture holds the snapshot's row count in every
  table, then removes it.
- baseline: the same ``csv copy indexed`` as above (a load alone).
- targets: ``max_rss_mb=500``, the point. The ratio is not a like-for-like speed claim: the thing does
  a capture and a load, the baseline only the load, so it is about 2x by construction. ``max_ratio=3.0``
  is only a loose guard against the capture becoming pathologically slow (e.g. row by row, or spilling).
  One full run (2 cores, 3 rounds): omc-data 34.2 / 39.5 / 42.2 s (median 39.5 s; CPU 10.3-11.0 s each,
  so the spread is not omc-data's CPU), CSV COPY 16.5-17.5 s (median 16.9 s), ratio 2.34;
  omc-data's peak RSS 422 / 462 / 423 MB: under the target, but with little margin (the load alone
  peaks at ~220 MB: the capture is what needs the other ~200-240 MB). A quick run's is 206-210 MB.

``setup`` (one fixture, shared by both benchmarks) also sets the benchmarks' ``work`` (rows of
``agent_session_messages``, for the rate column) and puts the table's rows and bytes of text in their
descriptions, known only once the snapshot exists.

    .venv/bin/python -m bench load-wide-text           # full size: ~2 min (setup 20 s, 3 rounds)
    .venv/bin/python -m bench load-wide-text-backup    # full size: ~3 min
    .venv/bin/python -m bench 'load-wide-*' --quick    # smoke run, seconds
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.harness import BenchContext, Benchmark, Contender

if TYPE_CHECKING:
    from bench.load_setup import LoadFixture

NAME = "load-wide-text"
BACKUP_NAME = "load-wide-text-backup"
TAG = "bench-wide"
TABLE = "agent_session_messages"
COLUMN = "content"
MAX_RSS_MB = 500
MIN_CHARS, MAX_CHARS = 2_000, 8_000  # per message, uniform
SEED = 20261101
BACKUP_DB = "omc_backup"  # load-wide-text-backup's: holds the snapshot's rows before every run
DATABASES = ("omc_data", "copy_indexed", BACKUP_DB)
BACKUP_MAX_RATIO = 3.0  # capture + load vs a load alone: see the module's docstring

# Words the corpus mixes in (~3%) so the text is not ASCII only, and some the CSV writer must quote.
NON_ASCII = (
    "naïve", "café", "Zürich", "façade", "smörgåsbord", "coöperate", "Ελληνικά", "δοκιμή", "русский",
    "проверка", "日本語", "中文字符", "한국어", "emoji🚀", "📈", "€100", "±3°C", "—", "…", "«citation»",
)  # fmt: skip
PUNCTUATED = ('"quoted"', "said,", "it's", "C:\\path\\to", "a;b", "(aside)", "\n\n", "1,234.5", "50%")


def corpus(seed: int = SEED, words: int = 2_500_000) -> str:
    """A deterministic text of pseudo-words (~16M characters) that messages are cut from."""
    import numpy as np

    rng = np.random.default_rng(seed)
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    weights = np.linspace(2.0, 0.2, len(letters))
    weights /= weights.sum()
    lengths = rng.integers(2, 11, size=3_000)
    vocab = ["".join(rng.choice(letters, size=n, p=weights)) for n in lengths]
    vocab += list(PUNCTUATED) * 5  # ~1.5% of the words
    special = np.array(NON_ASCII, dtype=object)
    picks = rng.integers(0, len(vocab), size=words)
    text = np.array(vocab, dtype=object)[picks]
    odd = rng.random(words) < 0.03
    text[odd] = special[rng.integers(0, len(special), size=int(odd.sum()))]
    return " ".join(text.tolist())


def widen(store_root: Path, base: str, tag: str, facts: dict[str, Any], *, words: int = 2_500_000) -> None:
    """Write snapshot ``tag``: ``base``'s tables, each message's ``content`` replaced by a long text.

    Through ``SnapshotWriter`` like a build: same row groups, manifest, checksums, stats and blocking
    checks; ``facts`` gets the table's rows and bytes of text.
    """
    import datetime as dt

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from omc_data import catalog
    from omc_data.builder.build import SHAPING_LIBRARIES
    from omc_data.errors import ValidationError
    from omc_data.snapshots.provenance import library_versions, omc_data_version
    from omc_data.snapshots.store import Store
    from omc_data.snapshots.validate import BLOCKING, run_checks
    from omc_data.snapshots.writer import SnapshotWriter

    store = Store(store_root)
    source = store.open(base)
    text = corpus(words=words)
    rng = np.random.default_rng(SEED + 1)
    stats = {"rows": 0, "bytes": 0, "chars": 0}

    def batches(name: str) -> Any:
        for path in source.part_paths(name):
            with pq.ParquetFile(path) as pf:
                for batch in pf.iter_batches(batch_size=16_384):
                    if name != TABLE:
                        yield batch
                        continue
                    n = batch.num_rows
                    sizes = rng.integers(MIN_CHARS, MAX_CHARS + 1, size=n)
                    starts = rng.integers(0, len(text) - MAX_CHARS, size=n)
                    values = [text[s : s + k] for s, k in zip(starts.tolist(), sizes.tolist(), strict=True)]
                    column = pa.array(values, pa.string())
                    stats["rows"] += n
                    stats["chars"] += int(sizes.sum())
                    stats["bytes"] += pc.sum(pc.binary_length(column)).as_py() or 0
                    yield batch.set_column(batch.schema.get_field_index(COLUMN), COLUMN, column)

    manifest = source.manifest
    with SnapshotWriter(store, tag) as writer:
        for name in manifest.tables:  # the manifest lists them in load order
            writer.write_table(catalog.table(name), batches(name))
        as_of = dt.datetime.fromisoformat(str(manifest.inputs["as_of"]).replace("Z", "+00:00"))
        parts = {name: [writer.dir / p.path for p in e.parts] for name, e in writer.tables.items()}
        report = run_checks(parts, as_of=as_of, severity=BLOCKING, proven=writer.proven)
        if not report.passed:
            failed = [f"{c.table}: {c.name} ({c.failures} rows)" for c in report.blocking_failures]
            raise ValidationError(f"the widened rows failed {len(failed)} checks: {'; '.join(failed)}")
        inputs = dict(manifest.inputs)
        inputs["wide_text"] = {
            "table": TABLE,
            "column": COLUMN,
            "min_chars": MIN_CHARS,
            "max_chars": MAX_CHARS,
            "seed": SEED,
        }
        writer.publish(
            inputs=inputs,
            libraries=library_versions(SHAPING_LIBRARIES),
            omc_data_version=omc_data_version(),
            sources=manifest.sources,
            validation=report.to_json(),
            parent=base,
        )
    entry = store.open(tag).manifest.tables[TABLE]
    facts.update(stats, parquet_bytes=sum(p.bytes for p in entry.parts), parts=len(entry.parts))


def remove_backups(store: Path) -> list[str]:
    """Remove the ``pre-load-*`` captures in ``store`` (the backup benchmark's own), return their tags."""
    import shutil

    from omc_data.snapshots.store import BACKUP_TAG

    removed = []
    for path in sorted(store.glob("pre-load-*")):
        if BACKUP_TAG.fullmatch(path.name) and path.is_dir():
            shutil.rmtree(path)
            removed.append(path.name)
    return removed


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    sessions = 100 if ctx.quick else 20_000
    words = 100_000 if ctx.quick else 2_500_000  # the corpus messages are cut from (~16M chars at full)
    timeout = 300.0 if ctx.quick else 3600.0
    root = ctx.workdir / "load-wide"
    facts: dict[str, Any] = {}

    def fix() -> LoadFixture:
        from bench.load_setup import fixture  # heavy imports (psycopg, omc_data) only once it runs

        return fixture(
            root,
            repo=ctx.root,
            python=ctx.python,
            days=1,
            coins=2,
            sample_rows=0,  # no sampled baseline here
            quick=ctx.quick,
            tag=TAG,
            build_args=("--agent-sessions", str(sessions), "--bcrypt-rounds", "4"),
            derive=lambda store, base, tag: widen(store, base, tag, facts, words=words),
            databases=DATABASES,
        )

    def setup(directory: Path) -> None:
        f = fix()
        built = f._built
        f.ensure()
        if facts:  # what the table holds is known once the snapshot exists: say it in both benchmarks
            mb = facts["bytes"] / 1e6
            what = (
                f"a snapshot whose {TABLE} holds {facts['rows']:,} rows, {mb:,.1f} MB of text "
                f"({facts['parquet_bytes'] / 1e6:,.1f} MB of Parquet)"
            )
            for b, head in (
                (bench, "omc-data load of"),
                (backup, "omc-data load --backup (capture + load) of"),
            ):
                b.work = facts["rows"]
                b.description = f"{head} {what}, vs server-side CSV COPY"
            if not built:
                f._say(
                    f"{TABLE}: {facts['rows']:,} rows, {facts['chars']:,} characters = {facts['bytes']:,} "
                    f"bytes of UTF-8 text in {COLUMN}; {facts['parquet_bytes']:,} bytes of Parquet in "
                    f"{facts['parts']} part(s)"
                )

    def teardown(directory: Path) -> None:
        f = fix()
        try:
            if sys.exc_info()[1] is None:  # a failed run is reported as it is, not as a difference
                f.verify("omc_data", ["copy_indexed"])
        finally:
            f.stop()

    # -- load --backup: the before hook (untimed) makes sure the tables hold the snapshot's rows --------

    def before_backup() -> None:
        import psycopg

        f = fix()
        remove_backups(f.store)  # the last run's capture: only this benchmark makes pre-load-* here
        url = f.url(BACKUP_DB)
        expected = next(t.rows for t in f.tables if t.name == TABLE)
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        if row is None or int(row[0]) != expected:  # first run (or a failed one): load it, untimed
            f.reset(BACKUP_DB)
            argv = ctx.omc_data_argv("-q", "--store", str(f.store), "load", TAG, "--db", url, "--no-backup")
            subprocess.run(argv, check=True, cwd=ctx.root, stdout=subprocess.DEVNULL)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # no dirty buffers of the previous load for this run to write

    def teardown_backup(directory: Path) -> None:
        f = fix()
        try:
            if sys.exc_info()[1] is None:
                f.verify(BACKUP_DB, ["copy_indexed"])
                check_backup(f)
        finally:
            remove_backups(f.store)
            f.stop()

    def check_backup(f: LoadFixture) -> None:
        """The last run's capture holds what the tables held: the snapshot's rows, table by table."""
        import json

        tags = [p.name for p in sorted(f.store.glob("pre-load-*"))]
        if len(tags) != 1:
            raise RuntimeError(f"expected one pre-load-* capture of the last run in {f.store}, got {tags}")
        manifest = json.loads((f.store / tags[0] / "manifest.json").read_text())
        problems = [
            f"{t.name}: {manifest['tables'].get(t.name, {}).get('rows')} rows, the snapshot {t.rows:,}"
            for t in f.tables
            if manifest["tables"].get(t.name, {}).get("rows") != t.rows
        ]
        if problems:
            raise RuntimeError(
                f"the backup {tags[0]} differs from the loaded snapshot: " + "; ".join(problems)
            )
        f._say(f"backup {tags[0]} holds the snapshot's rows in all {len(f.tables)} tables")

    def copy_contender() -> Contender:
        return Contender(
            "csv copy indexed",
            lambda: fix().psql_argv("copy_indexed", "copy_indexed"),
            before=lambda: fix().reset("copy_indexed"),
            timeout=timeout,
        )

    thing = Contender(
        "omc-data load",
        lambda: ctx.omc_data_argv(
            "-q", "--store", str(fix().store), "load", TAG, "--db", fix().url("omc_data"), "--no-backup"
        ),
        before=lambda: fix().reset("omc_data"),
        timeout=timeout,
    )
    bench = Benchmark(
        name=NAME,
        description=(
            f"omc-data load of a snapshot whose {TABLE} holds {MIN_CHARS:,}-{MAX_CHARS:,}-character texts "
            f"({sessions:,} sessions) vs server-side CSV COPY"
        ),
        thing=thing,
        baselines=[copy_contender()],
        setup=setup,
        teardown=teardown,
        repeat=3,
        quick_repeat=1,
        warmup=0,
        max_ratio=1.0,
        max_rss_mb=MAX_RSS_MB,
        work_unit="messages",
    )
    backup_thing = Contender(
        "omc-data load --backup",
        lambda: ctx.omc_data_argv(
            "-q", "--store", str(fix().store), "load", TAG, "--db", fix().url(BACKUP_DB), "--backup"
        ),
        before=before_backup,
        timeout=timeout,
    )
    backup = Benchmark(
        name=BACKUP_NAME,
        description=(
            f"omc-data load --backup (capture + load) of a snapshot whose {TABLE} holds "
            f"{MIN_CHARS:,}-{MAX_CHARS:,}-character texts ({sessions:,} sessions) vs server-side CSV COPY"
        ),
        thing=backup_thing,
        baselines=[copy_contender()],
        setup=setup,
        teardown=teardown_backup,
        repeat=3,
        quick_repeat=1,
        warmup=0,
        max_ratio=BACKUP_MAX_RATIO,
        max_rss_mb=MAX_RSS_MB,
        work_unit="messages",
    )
    return [bench, backup]
