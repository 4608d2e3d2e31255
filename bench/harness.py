"""The benchmark harness: run a thing and its baselines as child processes, interleaved, and compare.

Stdlib only. A benchmark module ``bench/bench_*.py`` exposes ``benchmarks(ctx) -> list[Benchmark]``;
``python -m bench`` discovers, runs and reports them (``--help`` for the options, ``bench/README.md``
for the how-to).

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

import argparse
import contextlib
import datetime as dt
import fnmatch
import importlib
import json
import marshal
import math
import os
import pkgutil
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TextIO

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

SCHEMA = "omc-bench/1"
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MB = 1024 * 1024  # "MB" throughout the harness is MiB: ru_maxrss is KiB on Linux
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_STDERR_TAIL_LINES = 25
_PACKAGE = __name__.rpartition(".")[0] or "bench"

Role = Literal["thing", "baseline"]
Status = Literal["PASS", "MISS", "INFO", "SKIP"]


class BenchmarkError(Exception):
    """A benchmark could not be measured: bad definition, missing program, or a child that failed."""


def faster_by(factor: float) -> float:
    """The ``max_ratio`` that means "the thing is at least ``factor`` times faster than the baseline"."""
    if factor <= 0:
        raise ValueError(f"faster_by needs a positive factor, got {factor}")
    return 1.0 / factor


# --------------------------------------------------------------------------------------------------
# Definitions


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


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Run:
    """One timed run of one contender."""

    contender: str
    round: int
    seconds: float
    cpu_seconds: float
    max_rss_mb: float


@dataclass
class ContenderStats:
    name: str
    role: Role
    argv: list[str]
    seconds: list[float]
    cpu_seconds: list[float]
    rss_mb: list[float]
    median_s: float
    min_s: float
    max_s: float
    median_cpu_s: float
    peak_rss_mb: float
    ratio: float  # thing median / this median (1.0 for the thing)
    paired_ratio: float  # median over rounds of thing time / this time in the same round
    rate: float | None  # work / median_s
    work: int | None = None  # the work of one run: Contender.work for a sample, else Benchmark.work
    scale: float = 1.0  # Benchmark.work / work: what its times are multiplied by for the ratios


@dataclass(frozen=True)
class Check:
    what: str
    value: float
    limit: float
    ok: bool


@dataclass(frozen=True)
class Verdict:
    status: Status
    checks: list[Check]
    note: str = ""


@dataclass
class BenchmarkResult:
    name: str
    description: str
    quick: bool
    repeat: int
    warmup: int
    order: list[list[str]]
    contenders: list[ContenderStats]
    verdict: Verdict
    max_ratio: float | None
    max_rss_mb: float | None
    work: int | None
    work_unit: str
    rss_floor_mb: float | None
    timestamp: str
    duration_s: float
    machine: dict[str, Any] = field(default_factory=dict)
    json_path: Path | None = None
    max_seconds: float | None = None
    min_rate: float | None = None

    @property
    def thing(self) -> ContenderStats:
        return self.contenders[0]

    @property
    def baseline(self) -> ContenderStats:
        """The baseline the target is about (the first one)."""
        return self.contenders[1]

    @property
    def ratio(self) -> float:
        """thing median / first baseline median."""
        return self.baseline.ratio

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "description": self.description,
            "quick": self.quick,
            "repeat": self.repeat,
            "warmup": self.warmup,
            "timestamp": self.timestamp,
            "duration_s": round(self.duration_s, 3),
            "machine": self.machine,
            "work": self.work,
            "work_unit": self.work_unit,
            "rss_floor_mb": self.rss_floor_mb,
            "order": self.order,
            "ratio": self.ratio,
            "baseline": self.baseline.name,
            "contenders": [
                {
                    "name": c.name,
                    "role": c.role,
                    "argv": c.argv,
                    "times_s": c.seconds,
                    "cpu_s": c.cpu_seconds,
                    "rss_mb": c.rss_mb,
                    "median_s": c.median_s,
                    "min_s": c.min_s,
                    "max_s": c.max_s,
                    "median_cpu_s": c.median_cpu_s,
                    "peak_rss_mb": c.peak_rss_mb,
                    "ratio": c.ratio,
                    "paired_ratio": c.paired_ratio,
                    "rate": c.rate,
                    "work": c.work,
                    "scale": c.scale,
                }
                for c in self.contenders
            ],
            "target": {
                "max_ratio": self.max_ratio,
                "max_rss_mb": self.max_rss_mb,
                "baseline": self.baseline.name,
                # the absolute targets appear only when set (documents without them stay as they were)
                **({"max_seconds": self.max_seconds} if self.max_seconds is not None else {}),
                **({"min_rate": self.min_rate} if self.min_rate is not None else {}),
            },
            "verdict": {
                "status": self.verdict.status,
                "note": self.verdict.note,
                "checks": [
                    {"what": c.what, "value": c.value, "limit": c.limit, "ok": c.ok}
                    for c in self.verdict.checks
                ],
            },
        }


# --------------------------------------------------------------------------------------------------
# The spawner: forks, times and reaps the children, so that their ru_maxrss is not the harness's.

_SPAWNER_CODE = r"""
import marshal, os, signal, time

def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf

def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]

def child(path, argv, env, cwd, stderr_path):
    try:
        os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        for name in ("SIGPIPE", "SIGXFSZ"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        if cwd is not None:
            os.chdir(cwd)
        os.execve(path, argv, env)
    except BaseException as exc:
        try:
            os.write(2, ("omc-bench: cannot start %s: %s\n" % (path, exc)).encode())
        finally:
            os._exit(127)

def main():
    state = {"pid": 0, "timed_out": False}
    def on_alarm(signum, frame):
        if state["pid"]:
            state["timed_out"] = True
            os.kill(state["pid"], signal.SIGKILL)
    signal.signal(signal.SIGALRM, on_alarm)
    while True:
        header = read_exact(8)
        body = header and read_exact(int.from_bytes(header, "little"))
        if not body:
            return
        path, argv, env, cwd, stderr_path, timeout = marshal.loads(body)
        state["timed_out"] = False
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            child(path, argv, env, cwd, stderr_path)
        state["pid"] = pid
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: pid stays ours
        t1 = time.perf_counter()
        state["pid"] = 0
        signal.setitimer(signal.ITIMER_REAL, 0)
        _, status, ru = os.wait4(pid, 0)
        reply = marshal.dumps((status, t1 - t0, ru.ru_maxrss, ru.ru_utime + ru.ru_stime, state["timed_out"]))
        write_all(len(reply).to_bytes(8, "little") + reply)

try:
    main()
except KeyboardInterrupt:
    os._exit(130)
"""


@dataclass(frozen=True)
class _RawRun:
    status: int
    seconds: float
    maxrss_mb: float
    cpu_seconds: float
    timed_out: bool

    @property
    def exit_code(self) -> int:
        return os.waitstatus_to_exitcode(self.status)


def _maxrss_mb(maxrss: int) -> float:
    return maxrss / MB if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, KiB elsewhere


class _Spawner:
    """A ``python -S -I`` child that forks, times and reaps the contenders on request."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-S", "-I", "-c", _SPAWNER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )

    def __enter__(self) -> _Spawner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        path: str,
        argv: list[str],
        env: dict[str, str],
        cwd: Path | None,
        stderr: Path,
        timeout: float | None,
    ) -> _RawRun:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        request = marshal.dumps(
            (path, argv, env, None if cwd is None else str(cwd), str(stderr), float(timeout or 0))
        )
        try:
            self._proc.stdin.write(len(request).to_bytes(8, "little") + request)
            header = self._read_exact(8)
            reply = marshal.loads(self._read_exact(int.from_bytes(header, "little")))
        except (OSError, EOFError) as exc:
            raise BenchmarkError(f"the spawner process died (exit code {self._proc.poll()}): {exc}") from exc
        status, seconds, maxrss, cpu, timed_out = reply
        return _RawRun(int(status), float(seconds), _maxrss_mb(int(maxrss)), float(cpu), bool(timed_out))

    def _read_exact(self, n: int) -> bytes:
        assert self._proc.stdout is not None
        buf = b""
        while len(buf) < n:
            chunk = self._proc.stdout.read(n - len(buf))
            if not chunk:
                raise EOFError("no reply")
            buf += chunk
        return buf

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


# --------------------------------------------------------------------------------------------------
# Running


def round_order(thing: Contender, baselines: Sequence[Contender], round_index: int) -> list[Contender]:
    """The contenders of a round: thing first on even rounds, the reverse order on odd ones."""
    order = [thing, *baselines]
    return order if round_index % 2 == 0 else order[::-1]


def _resolve(bench: Benchmark, contender: Contender) -> tuple[str, list[str], dict[str, str]]:
    argv = contender.argv() if callable(contender.argv) else list(contender.argv)
    where = f"benchmark {bench.name!r}, contender {contender.name!r}"
    if not argv or not all(isinstance(a, str) for a in argv):
        raise BenchmarkError(f"{where}: argv must be a non-empty list of str, got {argv!r}")
    env = dict(os.environ)
    if contender.env:
        env.update(contender.env)
    program = argv[0]
    if os.sep in program:
        path = Path(program) if Path(program).is_absolute() else (contender.cwd or Path.cwd()) / program
        found = str(path) if path.is_file() and os.access(path, os.X_OK) else None
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise BenchmarkError(f"{where}: program not found or not executable: {program!r}")
    return found, argv, env


def _tail(path: Path, lines: int = _STDERR_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no stderr)"
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join("    " + line for line in kept) if kept else "    (empty)"


def _failure(
    bench: Benchmark, contender: Contender, argv: list[str], label: str, raw: _RawRun, err: Path
) -> str:
    code = raw.exit_code
    if raw.timed_out and code < 0:
        how = f"timed out after {contender.timeout} s and was killed"
    elif code < 0:
        how = f"was killed by signal {signal.Signals(-code).name}"
    else:
        how = f"exited with code {code}"
    shown = shlex.join(argv)
    if len(shown) > 400:
        shown = shown[:400] + " ..."
    return (
        f"benchmark {bench.name!r}: contender {contender.name!r} ({label}) {how} after {raw.seconds:.3f} s\n"
        f"  argv: {shown}\n"
        f"  stderr (last {_STDERR_TAIL_LINES} lines):\n{_tail(err)}"
    )


def _machine() -> dict[str, Any]:
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info: dict[str, Any] = {
        "nproc": nproc,
        "cpu_count": os.cpu_count(),
        "cpu_model": None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "loadavg": None,
        "git_commit": None,
    }
    with contextlib.suppress(OSError):
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.partition(":")[2].strip()
                break
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if out.returncode == 0:
            info["git_commit"] = out.stdout.strip()
    return info


def _rss_floor(spawner: _Spawner, logs: Path) -> float | None:
    """What a child that uses almost nothing reports as peak RSS: inherited from the spawner."""
    true = shutil.which("true")
    if true is None:
        return None
    runs = [spawner.run(true, ["true"], dict(os.environ), None, logs / "floor.stderr", 10) for _ in range(2)]
    if any(r.status != 0 for r in runs):
        return None
    return min(r.maxrss_mb for r in runs)


def _median_ratio(thing: list[float], other: list[float]) -> float:
    return statistics.median(t / max(o, 1e-9) for t, o in zip(thing, other, strict=True))


def judge(
    max_ratio: float | None,
    max_rss_mb: float | None,
    ratio: float,
    thing_rss_mb: float,
    quick: bool,
    *,
    max_seconds: float | None = None,
    thing_seconds: float | None = None,
    min_rate: float | None = None,
    thing_rate: float | None = None,
) -> Verdict:
    """PASS if every target is met, MISS if one is not, INFO without targets, SKIP in a quick run.

    ``max_seconds`` and ``min_rate`` are checked against ``thing_seconds`` and ``thing_rate`` (a missing
    value misses its target)."""
    checks: list[Check] = []
    if max_ratio is not None:
        checks.append(Check("ratio", ratio, max_ratio, ratio <= max_ratio))
    if max_rss_mb is not None:
        checks.append(Check("thing peak RSS MB", thing_rss_mb, max_rss_mb, thing_rss_mb <= max_rss_mb))
    if max_seconds is not None:
        seconds = math.inf if thing_seconds is None else thing_seconds
        checks.append(Check("thing median s", seconds, max_seconds, seconds <= max_seconds))
    if min_rate is not None:
        rate = 0.0 if thing_rate is None else thing_rate
        checks.append(Check("thing rate", rate, min_rate, rate >= min_rate))
    if not checks:
        return Verdict("INFO", checks, "no target")
    if quick:
        return Verdict("SKIP", checks, "quick run: targets are for full runs")
    return Verdict("PASS" if all(c.ok for c in checks) else "MISS", checks)


def run_benchmark(
    bench: Benchmark,
    ctx: BenchContext,
    *,
    results_dir: Path | None = RESULTS_DIR,
    progress: TextIO | None = None,
    repeat: int | None = None,
) -> BenchmarkResult:
    """Set up, run every contender interleaved, tear down; write ``<results_dir>/<name>.json``.

    ``repeat`` overrides the benchmark's own (``repeat``, or ``quick_repeat`` when ``ctx.quick``).
    Raises ``BenchmarkError`` when a child fails; exceptions from setup/before/teardown propagate.
    """
    rounds = repeat if repeat is not None else (bench.quick_repeat if ctx.quick else bench.repeat)
    if rounds < 1:
        raise BenchmarkError(f"benchmark {bench.name!r}: repeat must be >= 1, got {rounds}")
    warmup = 0 if ctx.quick else bench.warmup
    started = time.perf_counter()
    timestamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    machine = _machine()
    data_dir = ctx.data_dir(bench.name)
    logs = ctx.workdir / f".logs-{bench.name}"
    data_dir.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[Run]] = {c.name: [] for c in bench.contenders}
    argvs: dict[str, list[str]] = {}
    order: list[list[str]] = []

    def say(text: str) -> None:
        if progress is not None:
            print(text, file=progress, flush=True)

    try:
        if bench.setup is not None:
            say(f"[{bench.name}] setup")
            bench.setup(data_dir)
        with _Spawner() as spawner:
            floor = _rss_floor(spawner, logs)
            plan: list[tuple[str, int | None]] = [(f"warmup {i + 1}/{warmup}", None) for i in range(warmup)]
            plan += [(f"round {r + 1}/{rounds}", r) for r in range(rounds)]
            for label, r in plan:
                contenders = round_order(bench.thing, bench.baselines, r or 0)
                if r is not None:
                    order.append([c.name for c in contenders])
                parts: list[str] = []
                for contender in contenders:
                    if contender.before is not None:
                        contender.before()
                    path, argv, env = _resolve(bench, contender)
                    err = logs / f"{contender.name}.stderr"
                    raw = spawner.run(path, argv, env, contender.cwd, err, contender.timeout)
                    if raw.status != 0:
                        raise BenchmarkError(_failure(bench, contender, argv, label, raw, err))
                    parts.append(f"{contender.name} {raw.seconds:.3f}s")
                    if r is not None:
                        argvs[contender.name] = argv
                        runs[contender.name].append(
                            Run(contender.name, r, raw.seconds, raw.cpu_seconds, raw.maxrss_mb)
                        )
                say(f"[{bench.name}] {label}: " + ", ".join(parts))
    finally:
        try:
            if bench.teardown is not None:
                bench.teardown(data_dir)
        finally:
            if not ctx.keep:
                shutil.rmtree(data_dir, ignore_errors=True)
                shutil.rmtree(logs, ignore_errors=True)

    thing_times = [run.seconds for run in runs[bench.thing.name]]
    thing_median = statistics.median(thing_times)
    stats: list[ContenderStats] = []
    for contender in bench.contenders:
        times = [run.seconds for run in runs[contender.name]]
        median = statistics.median(times)
        work = bench.work if contender.work is None else contender.work
        scale = 1.0 if contender.work is None or not bench.work else bench.work / contender.work
        stats.append(
            ContenderStats(
                name=contender.name,
                role="thing" if contender is bench.thing else "baseline",
                argv=argvs[contender.name],
                seconds=times,
                cpu_seconds=[run.cpu_seconds for run in runs[contender.name]],
                rss_mb=[round(run.max_rss_mb, 2) for run in runs[contender.name]],
                median_s=median,
                min_s=min(times),
                max_s=max(times),
                median_cpu_s=statistics.median(run.cpu_seconds for run in runs[contender.name]),
                peak_rss_mb=round(max(run.max_rss_mb for run in runs[contender.name]), 2),
                ratio=thing_median / max(median * scale, 1e-9),
                paired_ratio=_median_ratio(thing_times, [t * scale for t in times]),
                rate=None if work is None else work / max(median, 1e-9),
                work=work,
                scale=scale,
            )
        )
    result = BenchmarkResult(
        name=bench.name,
        description=bench.description,
        quick=ctx.quick,
        repeat=rounds,
        warmup=warmup,
        order=order,
        contenders=stats,
        verdict=judge(
            bench.max_ratio,
            bench.max_rss_mb,
            stats[1].ratio,
            stats[0].peak_rss_mb,
            ctx.quick,
            max_seconds=bench.max_seconds,
            thing_seconds=stats[0].median_s,
            min_rate=bench.min_rate,
            thing_rate=stats[0].rate,
        ),
        max_ratio=bench.max_ratio,
        max_rss_mb=bench.max_rss_mb,
        work=bench.work,
        work_unit=bench.work_unit,
        rss_floor_mb=None if floor is None else round(floor, 2),
        timestamp=timestamp,
        duration_s=time.perf_counter() - started,
        machine=machine,
        max_seconds=bench.max_seconds,
        min_rate=bench.min_rate,
    )
    if results_dir is not None:
        result.json_path = _write_json(result, results_dir)
    return result


def _write_json(result: BenchmarkResult, results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    ignore = results_dir / ".gitignore"
    if results_dir.resolve() == RESULTS_DIR and not ignore.exists():
        ignore.write_text("*\n!.gitignore\n")
    path = results_dir / f"{result.name}{'.quick' if result.quick else ''}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------------------------------
# Reporting


def _si(value: float) -> str:
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}"


def _speed(ratio: float) -> str:
    return f"thing {1 / ratio:.2f}x faster" if ratio < 1 else f"thing {ratio:.2f}x slower"


def render(result: BenchmarkResult) -> str:
    """The human report of one benchmark: a table and a verdict line."""
    floor = result.rss_floor_mb
    headers = ["contender", "role", "median s", "min s", "max s", "cpu s", "peak RSS MB", "thing/this"]
    if result.work is not None:
        headers.append(f"{result.work_unit}/s")
    rows: list[list[str]] = []
    for c in result.contenders:
        at_floor = floor is not None and c.peak_rss_mb <= floor + 0.25
        row = [
            c.name,
            c.role,
            f"{c.median_s:.4f}",
            f"{c.min_s:.4f}",
            f"{c.max_s:.4f}",
            f"{c.median_cpu_s:.4f}",
            f"<={c.peak_rss_mb:.1f}" if at_floor else f"{c.peak_rss_mb:.1f}",
            f"{c.ratio:.3f}",
        ]
        if result.work is not None:
            row.append(_si(c.rate or 0.0))
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    m = result.machine
    facts = [
        f"{result.repeat} round{'s' if result.repeat != 1 else ''} interleaved",
        f"{result.warmup} warmup" if result.warmup else "",
        f"{m.get('nproc')} CPUs",
        f"load {m['loadavg'][0]}" if m.get("loadavg") else "",
        f"RSS floor {floor:.1f} MB" if floor is not None else "",
        f"work {result.work:,} {result.work_unit}" if result.work is not None else "",
        "QUICK" if result.quick else "",
    ]
    out = [
        f"== {result.name}: {result.description}",
        "  " + "; ".join(f for f in facts if f),
        line(headers),
        *(line(r) for r in rows),
    ]
    for c in result.contenders:
        if c.scale != 1.0:
            out.append(
                f"  {c.name}: ran on a sample of {c.work:,} of {result.work:,} {result.work_unit}; "
                f"thing/this uses its median scaled x{c.scale:.4g} = {c.median_s * c.scale:.4g} s"
            )
    v = result.verdict
    head = f"thing/{result.baseline.name} = {result.ratio:.3f} ({_speed(result.ratio)})"
    checks: list[str] = []
    for check in v.checks:
        mark = "ok" if check.ok else "MISSED"
        if check.what == "ratio":
            checks.append(f"ratio {check.value:.3f} <= {check.limit:.3f} [{mark}]")
        elif check.what == "thing median s":
            checks.append(f"median {check.value:.3f} <= {check.limit:.3f} s [{mark}]")
        elif check.what == "thing rate":
            unit = result.work_unit
            checks.append(f"rate {_si(check.value)} >= {_si(check.limit)} {unit}/s [{mark}]")
        else:
            checks.append(f"peak RSS {check.value:.1f} <= {check.limit:.1f} MB [{mark}]")
    detail = "; ".join(checks)
    out.append(
        f"  verdict: {v.status}{f' ({v.note})' if v.note else ''} - {head}{f'; {detail}' if detail else ''}"
    )
    if result.json_path is not None:
        out.append(f"  json: {_display_path(result.json_path)}")
    return "\n".join(out)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------------
# Discovery and the command line


def discover(package_dir: Path = BENCH_DIR, package: str = _PACKAGE) -> tuple[list[ModuleType], list[str]]:
    """Import every ``bench_*.py`` module of the package; return the modules and the import errors."""
    modules: list[ModuleType] = []
    errors: list[str] = []
    for info in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda i: i.name):
        if not info.name.startswith("bench_"):
            continue
        try:
            module = importlib.import_module(f"{package}.{info.name}")
        except Exception:
            errors.append(f"cannot import {package}.{info.name}:\n{traceback.format_exc()}")
            continue
        if not callable(getattr(module, "benchmarks", None)):
            errors.append(f"{package}.{info.name} has no benchmarks(ctx) function")
            continue
        modules.append(module)
    return modules, errors


def _collect(ctx: BenchContext, modules: list[ModuleType]) -> tuple[list[tuple[str, Benchmark]], list[str]]:
    found: list[tuple[str, Benchmark]] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for module in modules:
        try:
            benches = module.benchmarks(ctx)
            if not isinstance(benches, list) or not all(isinstance(b, Benchmark) for b in benches):
                raise BenchmarkError(f"{module.__name__}.benchmarks() must return a list of Benchmark")
        except Exception:
            errors.append(f"{module.__name__}.benchmarks(ctx) failed:\n{traceback.format_exc()}")
            continue
        for b in benches:
            if b.name in seen:
                errors.append(
                    f"benchmark name {b.name!r} is defined twice ({seen[b.name]}, {module.__name__})"
                )
                continue
            seen[b.name] = module.__name__
            found.append((module.__name__, b))
    return found, errors


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the omc_data benchmarks: each thing against its baselines, interleaved, in one run.",
    )
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="benchmarks to run (exact names or globs); all if none"
    )
    p.add_argument("--quick", action="store_true", help="smoke run: quick_repeat rounds, small data (for CI)")
    p.add_argument(
        "--json", action="store_true", help="print the JSON results on stdout (the tables go to stderr)"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--keep", action="store_true", help="keep the work directory (printed at the end)")
    p.add_argument("--repeat", type=int, metavar="N", help="override the number of timed rounds")
    p.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        metavar="DIR",
        help="where <name>.json goes (bench/results)",
    )
    p.add_argument(
        "--tmpdir", type=Path, metavar="DIR", help="parent of the work directory (default: $TMPDIR)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m bench`` command. Exit codes: 0 ok, 1 a benchmark failed (or missed under --strict),
    2 usage error."""
    args = _parser().parse_args(argv)
    as_json: bool = args.json
    human = sys.stderr if as_json else sys.stdout
    names: list[str] = args.names
    repeat: int | None = args.repeat
    if repeat is not None and repeat < 1:
        print("--repeat must be >= 1", file=sys.stderr)
        return 2
    if args.tmpdir is not None:
        Path(args.tmpdir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="omc-bench-", dir=args.tmpdir))
    ctx = BenchContext(quick=bool(args.quick), workdir=workdir, keep=bool(args.keep))
    try:
        with _interrupts_as_exit():
            return _main(ctx, names, args.list, as_json, bool(args.strict), repeat, args.results_dir, human)
    finally:
        if ctx.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _interrupts_as_exit() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        raise SystemExit(130) from None


def _main(
    ctx: BenchContext,
    names: list[str],
    list_only: bool,
    as_json: bool,
    strict: bool,
    repeat: int | None,
    results_dir: Path,
    human: TextIO,
) -> int:
    modules, errors = discover()
    found, collect_errors = _collect(ctx, modules)
    errors += collect_errors
    for error in errors:
        print(f"error: {error}", file=sys.stderr)

    if list_only:
        width = max((len(b.name) for _, b in found), default=4)
        for module, b in found:
            repeats = f"repeat {b.repeat}, quick {b.quick_repeat}"
            print(f"{b.name.ljust(width)}  {b.description}  [{module}; {repeats}]")
        return 1 if errors else 0

    selected = [(m, b) for m, b in found if not names or any(fnmatch.fnmatchcase(b.name, n) for n in names)]
    unknown = [n for n in names if not any(fnmatch.fnmatchcase(b.name, n) for _, b in found)]
    if unknown:
        known = ", ".join(b.name for _, b in found) or "none"
        print(f"unknown benchmark(s): {', '.join(unknown)} (known: {known})", file=sys.stderr)
        return 2

    results: list[BenchmarkResult] = []
    failed: list[dict[str, str]] = [{"name": "(discovery)", "error": e} for e in errors]
    for _, bench in selected:
        try:
            result = run_benchmark(bench, ctx, results_dir=results_dir, progress=sys.stderr, repeat=repeat)
        except BenchmarkError as exc:
            print(f"FAILED {exc}", file=human, flush=True)
            failed.append({"name": bench.name, "error": str(exc)})
            continue
        except Exception as exc:
            print(f"FAILED benchmark {bench.name!r}:\n{traceback.format_exc()}", file=human, flush=True)
            failed.append({"name": bench.name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        results.append(result)
        print(render(result) + "\n", file=human, flush=True)

    missed = [r.name for r in results if r.verdict.status == "MISS"]
    if len(selected) > 1 or failed:
        summary = f"{len(results)} benchmark(s) run, {len(missed)} missed a target, {len(failed)} failed"
        print(summary + (" (quick)" if ctx.quick else ""), file=human)
    if as_json:
        doc = {"schema": SCHEMA, "results": [r.to_json() for r in results], "failed": failed}
        print(json.dumps(doc, indent=2))
    if failed or (strict and missed):
        return 1
    return 0
