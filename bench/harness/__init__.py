"""The benchmark harness: run a thing and its baselines as child processes, interleaved, and compare.

Stdlib only. A benchmark module ``bench/bench_*.py`` exposes ``benchmarks(ctx) -> list[Benchmark]``;
``python -m bench`` discovers, runs and reports them (``--help`` for the options, ``bench/README.md``
for the how-to).

The package: ``definitions`` (what a benchmark declares), ``processes`` (the spawner: child
processes, their time and peak RSS), ``runner`` (a benchmark's rounds), ``results`` (statistics,
ratios, the verdict), ``report`` (the human table), ``cli`` (discovery and ``python -m bench``).

How a run is measured
---------------------
Every contender runs as its own child process. Round ``r`` runs the thing and each baseline once, the
order reversed on every odd round (thing first on even rounds, last on odd ones) so that a slow drift
of the machine (thermal, page cache, a neighbour) hits both sides alike. A run is timed with
``time.perf_counter`` from just before the fork to the child's exit, and reaped with ``os.wait4`` for
its peak RSS (``ru_maxrss``) and CPU time. ``Contender.before`` runs untimed before each run.

The children are started by a small helper process (a bare ``python -S -I``) rather than by the
harness itself: Linux carries the *parent's* peak RSS over into the ``ru_maxrss`` of a child made by
``vfork``/``posix_spawn``/``fork`` + ``exec`` (``exec_mmap`` records the old mm's high-water mark), so a
harness that once held a big data set in ``setup`` would report that for every child, even ``true``.
Forked from the helper instead, a child can only inherit the helper's few MB: the "RSS floor", measured
at the start of every benchmark (a run of ``true``) and reported; a peak RSS at the floor means "at
most this much".

Ratios are always ``thing median / baseline median``: below 1 the thing is faster. A target is a
``max_ratio`` against the first baseline (``0.55`` = "at least 1.8x faster", see ``faster_by``; ``2.0``
= "at most 2x slower") and/or a ``max_rss_mb`` for the thing, and absolute bounds on the thing alone:
``max_seconds`` (median wall time) and ``min_rate`` (``work`` per second). A missed target prints MISS
but fails the process only with ``--strict``; a child that exits non-zero always fails its benchmark.

A baseline too slow to run at full size may run on a sample: its ``Contender.work`` (less than the
benchmark's ``work``) scales its times to the full work before any ratio, so ratios compare time per
unit of work and its rate is its own work per second. Scaling is linear, so its fixed start-up cost is
scaled too (counted against the baseline); its peak RSS is the sample's.
"""

from __future__ import annotations

from .cli import discover, main
from .definitions import RESULTS_DIR, SCHEMA, BenchContext, Benchmark, BenchmarkError, Contender, faster_by
from .report import render
from .results import BenchmarkResult, Check, ContenderStats, Run, Verdict, judge
from .runner import round_order, run_benchmark

__all__ = [
    "RESULTS_DIR",
    "SCHEMA",
    "BenchContext",
    "Benchmark",
    "BenchmarkError",
    "BenchmarkResult",
    "Check",
    "Contender",
    "ContenderStats",
    "Run",
    "Verdict",
    "discover",
    "faster_by",
    "judge",
    "main",
    "render",
    "round_order",
    "run_benchmark",
]
