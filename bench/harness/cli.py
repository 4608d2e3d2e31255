"""Discovery of the ``bench_*.py`` modules and the ``python -m bench`` command line."""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import importlib
import json
import pkgutil
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TextIO

from .definitions import BENCH_DIR, PACKAGE, RESULTS_DIR, SCHEMA, BenchContext, Benchmark, BenchmarkError
from .report import render
from .results import BenchmarkResult
from .runner import run_benchmark


def discover(package_dir: Path = BENCH_DIR, package: str = PACKAGE) -> tuple[list[ModuleType], list[str]]:
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
