"""What a benchmark module declares: contenders, benchmarks, the context, and the harness's constants."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SCHEMA = "omc-bench/1"
BENCH_DIR = Path(__file__).resolve().parents[1]  # bench/
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MB = 1024 * 1024  # "MB" throughout the harness is MiB: ru_maxrss is KiB on Linux
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
STDERR_TAIL_LINES = 25
PACKAGE = __name__.rpartition(".harness.")[0] or "bench"  # the package holding bench_*.py

Role = Literal["thing", "baseline"]
Status = Literal["PASS", "MISS", "INFO", "SKIP"]


class BenchmarkError(Exception):
    """A benchmark could not be measured: bad definition, missing program, or a child that failed."""


def faster_by(factor: float) -> float:
    """The ``max_ratio`` that means "the thing is at least ``factor`` times faster than the baseline"."""
    if factor <= 0:
        raise ValueError(f"faster_by needs a positive factor, got {factor}")
    return 1.0 / factor


@dataclass
class Contender:
    """One program to time: run as a child process, from start to exit.

    ``argv`` may be a callable, called just before each run (after ``before``), so that it can refer to
    things made by ``setup``. ``env`` is added to the inherited environment. ``before`` runs untimed
    before each run (e.g. truncate a table). ``timeout`` (seconds) kills a run that takes longer and
    fails the benchmark. stdin and stdout are /dev/null; stderr is kept to show when the child fails.

    ``work`` is the work one run of this baseline does when it is not the benchmark's ``work``: a run
    on a sample. Its times are then scaled by ``Benchmark.work / work`` for the ratios, and its rate is
    ``work / median``.
    """

    name: str
    argv: list[str] | Callable[[], list[str]]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    before: Callable[[], None] | None = None
    timeout: float | None = None
    work: int | None = None


@dataclass
class Benchmark:
    """A thing, the baselines it is compared with, and what it should achieve.

    ``setup``/``teardown`` get the benchmark's own data directory (``ctx.data_dir(name)``, made before
    ``setup``, removed after ``teardown`` unless ``--keep``). ``repeat`` rounds are timed (``quick_repeat``
    under ``--quick``), after ``warmup`` untimed rounds (none under ``--quick``).

    Targets: ``max_ratio`` bounds ``thing median / baselines[0] median`` (``faster_by(1.8)`` = 0.556 for
    "at least 1.8x faster", 2.0 for "at most 2x slower"); ``max_rss_mb`` bounds the thing's peak RSS.
    Further baselines are informative. ``max_seconds`` bounds the thing's median wall time and
    ``min_rate`` its rate (``work / median``, needs ``work``). ``work`` (e.g. rows processed, the same
    for every contender unless a baseline runs on a sample, see ``Contender.work``) adds a rate column:
    ``work / median`` in ``work_unit``/s.
    """

    name: str
    description: str
    thing: Contender
    baselines: list[Contender]
    setup: Callable[[Path], None] | None = None
    teardown: Callable[[Path], None] | None = None
    repeat: int = 5
    quick_repeat: int = 1
    warmup: int = 0
    max_ratio: float | None = None
    max_rss_mb: float | None = None
    work: int | None = None
    work_unit: str = "rows"
    max_seconds: float | None = None
    min_rate: float | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _NAME_RE.match(self.name):
            problems.append("name must be letters, digits, '.', '_' or '-' (it names the JSON file)")
        if not self.baselines:
            problems.append("needs at least one baseline: speed is only measured against one")
        names = [c.name for c in self.contenders]
        if len(set(names)) != len(names):
            problems.append(f"contender names must be distinct, got {names}")
        if self.repeat < 1 or self.quick_repeat < 1 or self.warmup < 0:
            problems.append("repeat and quick_repeat must be >= 1, warmup >= 0")
        if self.max_ratio is not None and self.max_ratio <= 0:
            problems.append("max_ratio must be positive")
        if self.max_rss_mb is not None and self.max_rss_mb <= 0:
            problems.append("max_rss_mb must be positive")
        if self.work is not None and self.work < 0:
            problems.append("work must be >= 0")
        if self.max_seconds is not None and self.max_seconds <= 0:
            problems.append("max_seconds must be positive")
        if self.min_rate is not None and (self.min_rate <= 0 or self.work is None):
            problems.append("min_rate must be positive and needs work")
        if self.thing.work is not None:
            problems.append("only a baseline may run on a sample (Contender.work), not the thing")
        for c in self.baselines:
            if c.work is not None and (self.work is None or not 0 < c.work <= self.work):
                problems.append(f"{c.name!r}: Contender.work needs the benchmark's work and 0 < it <= that")
        if problems:
            raise BenchmarkError(f"benchmark {self.name!r}: " + "; ".join(problems))

    @property
    def contenders(self) -> list[Contender]:
        return [self.thing, *self.baselines]


@dataclass(frozen=True)
class BenchContext:
    """What ``benchmarks(ctx)`` may use. Keep ``benchmarks()`` cheap: do the work in ``setup``."""

    quick: bool
    workdir: Path
    python: str = sys.executable
    keep: bool = False
    root: Path = REPO_ROOT

    def omc_data_argv(self, *args: str) -> list[str]:
        """The command line that runs the omc_data CLI with this interpreter."""
        return [self.python, "-m", "omc_data", *args]

    def data_dir(self, name: str) -> Path:
        """The directory the harness gives benchmark ``name``'s setup/teardown (not yet made)."""
        return self.workdir / name
