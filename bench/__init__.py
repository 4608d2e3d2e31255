"""Benchmarks for omc_data: ``uv run python -m bench --help`` (or ``just bench``).

Each ``bench/bench_*.py`` module exposes ``benchmarks(ctx) -> list[Benchmark]``; the harness is
``bench.harness`` (stdlib only). See ``bench/README.md``.
"""
