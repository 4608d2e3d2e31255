"""Running a benchmark: set up, run every contender interleaved in child processes, tear down, record."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .definitions import (
    REPO_ROOT,
    RESULTS_DIR,
    STDERR_TAIL_LINES,
    BenchContext,
    Benchmark,
    BenchmarkError,
    Contender,
)
from .processes import RawRun, Spawner, rss_floor
from .results import BenchmarkResult, ContenderStats, Run, judge, median_ratio


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


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no stderr)"
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join("    " + line for line in kept) if kept else "    (empty)"


def _failure(
    bench: Benchmark, contender: Contender, argv: list[str], label: str, raw: RawRun, err: Path
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
        f"  stderr (last {STDERR_TAIL_LINES} lines):\n{_tail(err)}"
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
        with Spawner() as spawner:
            floor = rss_floor(spawner, logs)
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
                paired_ratio=median_ratio(thing_times, [t * scale for t in times]),
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
