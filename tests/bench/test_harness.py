"""The benchmark harness (bench/harness/): measuring, interleaving, failing, reporting.

These tests time nothing against a target: they check that the harness computes and records what it
says it does, with tiny ``python -c`` children.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Literal

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is a top-level package beside src/, not installed
    sys.path.insert(0, str(REPO_ROOT))

from bench.harness import (  # noqa: E402
    SCHEMA,
    BenchContext,
    Benchmark,
    BenchmarkError,
    BenchmarkResult,
    Contender,
    ContenderStats,
    faster_by,
    judge,
    main,
    render,
    round_order,
    run_benchmark,
)

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-S", "-c", code]


@pytest.fixture
def ctx(tmp_path: Path) -> BenchContext:
    workdir = tmp_path / "work"
    workdir.mkdir()
    return BenchContext(quick=False, workdir=workdir)


def test_runs_contenders_and_computes_medians_ratios_rss_and_rates(ctx: BenchContext, tmp_path: Path) -> None:
    bench = Benchmark(
        name="tiny",
        description="pass vs sleep",
        thing=Contender("pass", py("pass")),
        # far longer than a Python start on a busy machine, so "pass" is always the faster one
        baselines=[Contender("sleep", py("import time; time.sleep(1.0)"))],
        repeat=3,
        work=1000,
        work_unit="rows",
    )
    result = run_benchmark(bench, ctx, results_dir=tmp_path / "results")

    thing, base = result.contenders
    assert (thing.name, thing.role, base.name, base.role) == ("pass", "thing", "sleep", "baseline")
    for c in result.contenders:
        assert len(c.seconds) == len(c.cpu_seconds) == len(c.rss_mb) == 3
        assert c.min_s <= c.median_s <= c.max_s
        assert sorted(c.seconds)[1] == c.median_s
        assert 1 < c.peak_rss_mb < 500
        assert c.peak_rss_mb == max(c.rss_mb)
        assert c.rate == pytest.approx(1000 / c.median_s)
    assert base.min_s >= 1.0
    assert thing.ratio == 1.0
    assert base.ratio == pytest.approx(thing.median_s / base.median_s)
    assert result.ratio == base.ratio < 1
    assert 0 < base.paired_ratio < 1
    assert result.verdict.status == "INFO"
    assert result.rss_floor_mb is None or result.rss_floor_mb > 0

    assert result.json_path == tmp_path / "results" / "tiny.json"
    doc = json.loads(result.json_path.read_text())
    assert doc["schema"] == SCHEMA
    assert {
        "name",
        "description",
        "quick",
        "repeat",
        "warmup",
        "timestamp",
        "machine",
        "work",
        "work_unit",
        "rss_floor_mb",
        "order",
        "ratio",
        "baseline",
        "contenders",
        "target",
        "verdict",
    } <= doc.keys()
    assert {"nproc", "python", "platform"} <= doc["machine"].keys()
    assert doc["verdict"]["status"] == "INFO"
    assert doc["target"] == {"max_ratio": None, "max_rss_mb": None, "baseline": "sleep"}
    entry = doc["contenders"][1]
    assert {
        "name",
        "role",
        "argv",
        "times_s",
        "cpu_s",
        "rss_mb",
        "median_s",
        "min_s",
        "max_s",
        "peak_rss_mb",
        "ratio",
        "paired_ratio",
        "rate",
    } <= entry.keys()
    assert entry["times_s"] == base.seconds
    assert entry["ratio"] == doc["ratio"] == base.ratio

    text = render(result)
    for word in ("tiny", "median s", "peak RSS MB", "thing/this", "rows/s", "verdict: INFO", "thing/sleep"):
        assert word in text


def test_interleaving_alternates_the_order_every_round(ctx: BenchContext) -> None:
    seen: list[str] = []

    def contender(name: str) -> Contender:
        return Contender(name, py("pass"), before=lambda: seen.append(name))

    bench = Benchmark("order", "order", contender("T"), [contender("A"), contender("B")], repeat=4, warmup=1)
    result = run_benchmark(bench, ctx, results_dir=None)

    forward, backward = ["T", "A", "B"], ["B", "A", "T"]
    assert result.order == [forward, backward, forward, backward]
    assert seen == forward + forward + backward + forward + backward  # the warmup round, then 4 timed
    assert result.json_path is None
    assert [c.name for c in round_order(bench.thing, bench.baselines, 3)] == backward


def test_a_failing_child_fails_the_benchmark_with_its_stderr(ctx: BenchContext) -> None:
    torn_down: list[Path] = []
    bench = Benchmark(
        "fails",
        "fails",
        Contender("ok", py("pass")),
        [Contender("bad", py("import sys; print('boom: no table', file=sys.stderr); sys.exit(3)"))],
        teardown=torn_down.append,
        repeat=2,
    )
    with pytest.raises(BenchmarkError) as info:
        run_benchmark(bench, ctx, results_dir=None)
    message = str(info.value)
    assert "'bad'" in message
    assert "round 1/2" in message
    assert "exited with code 3" in message
    assert "boom: no table" in message
    assert torn_down == [ctx.data_dir("fails")]
    assert not ctx.data_dir("fails").exists()


def test_a_missing_program_or_a_timeout_is_a_clear_error(ctx: BenchContext) -> None:
    missing = Benchmark("missing", "x", Contender("t", py("pass")), [Contender("b", ["no-such-program-xyz"])])
    with pytest.raises(BenchmarkError, match=r"program not found.*no-such-program-xyz"):
        run_benchmark(missing, ctx, results_dir=None)

    slow = Benchmark(
        "slow",
        "x",
        Contender("t", py("import time; time.sleep(30)"), timeout=0.5),
        [Contender("b", ["true"])],
    )
    with pytest.raises(BenchmarkError, match=r"timed out after 0\.5 s"):
        run_benchmark(slow, ctx, results_dir=None)


def test_argv_can_be_lazy_and_env_and_cwd_reach_the_child(ctx: BenchContext, tmp_path: Path) -> None:
    made: list[Path] = []

    def setup(directory: Path) -> None:
        (directory / "marker").write_text("hi")
        made.append(directory)

    check = "import os, sys; sys.exit(0 if os.environ['BENCH_X'] == '1' and os.path.exists('marker') else 9)"
    bench = Benchmark(
        "lazy",
        "x",
        Contender("t", lambda: py(check), env={"BENCH_X": "1"}, cwd=ctx.data_dir("lazy")),
        [Contender("b", py("pass"))],
        setup=setup,
        repeat=1,
    )
    result = run_benchmark(bench, ctx, results_dir=None)
    assert made == [ctx.data_dir("lazy")]
    assert result.thing.argv == py(check)


def test_peak_rss_is_the_childs_not_the_harnesss(ctx: BenchContext) -> None:
    held: list[bytes] = []

    def setup(_: Path) -> None:  # the harness itself peaks at 300+ MB before the children run
        held.append(b"x" * (300 * 1024 * 1024))

    bench = Benchmark(
        "rss",
        "x",
        Contender("big", py("b = b'x' * (200 * 1024 * 1024)")),
        [Contender("small", py("pass"))],
        setup=setup,
        teardown=lambda _: held.clear(),
        repeat=1,
    )
    result = run_benchmark(bench, ctx, results_dir=None)
    big, small = result.contenders
    assert 200 <= big.peak_rss_mb < 300
    assert small.peak_rss_mb < 50


def test_targets_give_pass_miss_info_and_skip() -> None:
    assert faster_by(2.0) == 0.5
    assert judge(None, None, 3.0, 100, quick=False).status == "INFO"
    assert judge(faster_by(1.8), None, 0.5, 100, quick=False).status == "PASS"
    miss = judge(faster_by(1.8), 64, 0.6, 100, quick=False)
    assert miss.status == "MISS"
    assert [(c.what, c.ok) for c in miss.checks] == [("ratio", False), ("thing peak RSS MB", False)]
    assert judge(2.0, 64, 1.9, 63, quick=False).status == "PASS"
    assert judge(2.0, None, 5.0, 1, quick=True).status == "SKIP"


def test_benchmark_definitions_are_checked() -> None:
    t = Contender("t", py("pass"))
    with pytest.raises(BenchmarkError, match="at least one baseline"):
        Benchmark("x", "x", t, [])
    with pytest.raises(BenchmarkError, match="distinct"):
        Benchmark("x", "x", t, [Contender("t", py("pass"))])
    with pytest.raises(BenchmarkError, match="names the JSON file"):
        Benchmark("a/b", "x", t, [Contender("b", py("pass"))])


def test_a_missed_target_fails_only_under_strict(ctx: BenchContext) -> None:
    bench = Benchmark(
        "miss",
        "x",
        Contender("slow", py("import time; time.sleep(0.1)")),
        [Contender("fast", py("pass"))],
        max_ratio=faster_by(10),
        repeat=1,
    )
    result = run_benchmark(bench, ctx, results_dir=None)
    assert result.verdict.status == "MISS"
    assert "verdict: MISS" in render(result)
    assert "[MISSED]" in render(result)


def test_cli_lists_runs_quick_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    assert "sha256-python-vs-coreutils" in capsys.readouterr().out

    assert main(["no-such-benchmark"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err

    if shutil.which("sha256sum") is None:
        pytest.skip("needs coreutils sha256sum")
    results = tmp_path / "results"
    args = ["--quick", "--json", "--results-dir", str(results), "--tmpdir", str(tmp_path), "sha256-*"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["failed"] == []
    [entry] = doc["results"]
    assert entry["name"] == "sha256-python-vs-coreutils"
    assert entry["quick"] is True
    assert entry["verdict"]["status"] == "SKIP"
    assert "thing/this" in err  # the table goes to stderr under --json
    assert json.loads((results / "sha256-python-vs-coreutils.quick.json").read_text()) == entry
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # the work directory is gone


# --------------------------------------------------------------------------------------------------
# Sampled baselines (Contender.work) and the absolute targets (max_seconds, min_rate)


def test_a_baseline_on_a_sample_is_scaled_to_the_full_work(ctx: BenchContext, tmp_path: Path) -> None:
    bench = Benchmark(
        "sampled",
        "x",
        Contender("thing", py("import time; time.sleep(0.05)")),
        [
            Contender("sample", py("import time; time.sleep(0.02)"), work=100),
            Contender("full", py("pass")),
        ],
        repeat=3,
        work=1000,
        work_unit="rows",
    )
    result = run_benchmark(bench, ctx, results_dir=tmp_path / "results")
    thing, sample, full = result.contenders

    assert (thing.work, thing.scale) == (1000, 1.0)
    assert (sample.work, sample.scale) == (100, 10.0)
    assert (full.work, full.scale) == (1000, 1.0)
    # the recorded times are the sample's own, unscaled: only the ratios use the scale
    assert sample.min_s >= 0.02
    assert sample.median_s == sorted(sample.seconds)[1]
    assert sample.ratio == pytest.approx(thing.median_s / (sample.median_s * 10))
    assert result.ratio == sample.ratio
    assert sample.paired_ratio == pytest.approx(
        statistics.median(t / (b * 10) for t, b in zip(thing.seconds, sample.seconds, strict=True))
    )
    assert sample.ratio < 1  # 0.05 s vs 10 x (0.02 s + start-up): unscaled it would be above 1
    assert sample.rate == pytest.approx(100 / sample.median_s)  # its own work per (unscaled) second
    assert thing.rate == pytest.approx(1000 / thing.median_s)
    assert full.ratio == pytest.approx(thing.median_s / full.median_s)
    assert full.rate == pytest.approx(1000 / full.median_s)

    text = render(result)
    expected = (
        f"  sample: ran on a sample of 100 of 1,000 rows; "
        f"thing/this uses its median scaled x10 = {sample.median_s * 10:.4g} s"
    )
    assert expected in text.splitlines()
    assert text.count("ran on a sample") == 1  # not for the thing nor a full-size baseline

    assert result.json_path is not None
    doc = json.loads(result.json_path.read_text())
    entries = {e["name"]: e for e in doc["contenders"]}
    assert (entries["thing"]["work"], entries["thing"]["scale"]) == (1000, 1.0)
    assert (entries["sample"]["work"], entries["sample"]["scale"]) == (100, 10.0)
    assert (entries["full"]["work"], entries["full"]["scale"]) == (1000, 1.0)
    assert entries["sample"]["times_s"] == sample.seconds
    assert entries["sample"]["ratio"] == doc["ratio"] == sample.ratio
    assert entries["sample"]["rate"] == sample.rate


def test_without_work_every_contender_has_scale_1_and_no_work(ctx: BenchContext, tmp_path: Path) -> None:
    bench = Benchmark("nowork", "x", Contender("t", py("pass")), [Contender("b", py("pass"))], repeat=1)
    result = run_benchmark(bench, ctx, results_dir=tmp_path)
    assert [(c.work, c.scale, c.rate) for c in result.contenders] == [(None, 1.0, None)] * 2
    assert result.json_path is not None
    doc = json.loads(result.json_path.read_text())
    assert [(e["work"], e["scale"]) for e in doc["contenders"]] == [(None, 1.0)] * 2
    assert "ran on a sample" not in render(result)


def test_max_seconds_and_min_rate_pass_or_miss() -> None:
    def checks(**kw: float | None) -> list[tuple[str, float, float, bool]]:
        verdict = judge(None, None, 1.0, 10, quick=False, **kw)
        return [(c.what, c.value, c.limit, c.ok) for c in verdict.checks]

    seconds = {"max_seconds": 2.0}
    assert judge(None, None, 1.0, 10, quick=False, thing_seconds=1.0, thing_rate=5.0).status == "INFO"
    assert judge(None, None, 1.0, 10, quick=False, **seconds, thing_seconds=1.5).status == "PASS"
    assert checks(**seconds, thing_seconds=1.5) == [("thing median s", 1.5, 2.0, True)]
    assert checks(**seconds, thing_seconds=2.0) == [("thing median s", 2.0, 2.0, True)]  # a bound, inclusive
    assert checks(**seconds, thing_seconds=2.5) == [("thing median s", 2.5, 2.0, False)]
    assert judge(None, None, 1.0, 10, quick=False, **seconds, thing_seconds=2.5).status == "MISS"
    missing = judge(None, None, 1.0, 10, quick=False, **seconds)  # no thing_seconds: a miss
    assert missing.status == "MISS"
    assert [(c.what, c.value, c.ok) for c in missing.checks] == [("thing median s", float("inf"), False)]

    rate = {"min_rate": 1000.0}
    assert judge(None, None, 1.0, 10, quick=False, **rate, thing_rate=1500.0).status == "PASS"
    assert checks(**rate, thing_rate=1500.0) == [("thing rate", 1500.0, 1000.0, True)]
    assert checks(**rate, thing_rate=1000.0) == [("thing rate", 1000.0, 1000.0, True)]
    assert checks(**rate, thing_rate=999.0) == [("thing rate", 999.0, 1000.0, False)]
    assert judge(None, None, 1.0, 10, quick=False, **rate, thing_rate=999.0).status == "MISS"
    missing = judge(None, None, 1.0, 10, quick=False, **rate)  # no thing_rate: a miss
    assert missing.status == "MISS"
    assert [(c.what, c.value, c.ok) for c in missing.checks] == [("thing rate", 0.0, False)]

    # with the relative targets: every check is listed, one miss is a MISS, a quick run is a SKIP
    both = {"max_seconds": 2.0, "thing_seconds": 1.0, "min_rate": 1000.0}
    mixed = judge(faster_by(2), 64, 0.4, 32, quick=False, **both, thing_rate=10.0)
    assert mixed.status == "MISS"
    assert [(c.what, c.ok) for c in mixed.checks] == [
        ("ratio", True),
        ("thing peak RSS MB", True),
        ("thing median s", True),
        ("thing rate", False),
    ]
    assert judge(faster_by(2), 64, 0.4, 32, quick=False, **both, thing_rate=2000.0).status == "PASS"
    skipped = judge(None, None, 9.0, 10, quick=True, **both, thing_rate=10.0)
    assert skipped.status == "SKIP"
    assert [c.what for c in skipped.checks] == ["thing median s", "thing rate"]


def _stats(
    name: str, role: Literal["thing", "baseline"], seconds: list[float], work: int | None, scale: float = 1.0
) -> ContenderStats:
    median = statistics.median(seconds)
    return ContenderStats(
        name=name,
        role=role,
        argv=["prog"],
        seconds=seconds,
        cpu_seconds=seconds,
        rss_mb=[10.0] * len(seconds),
        median_s=median,
        min_s=min(seconds),
        max_s=max(seconds),
        median_cpu_s=median,
        peak_rss_mb=10.0,
        ratio=1.0,
        paired_ratio=1.0,
        rate=None if work is None else work / median,
        work=work,
        scale=scale,
    )


def _result(
    *, max_seconds: float | None = None, min_rate: float | None = None, thing_s: float = 0.5
) -> BenchmarkResult:
    """A result built by hand (no child runs): thing on 1000 rows, a baseline on a 100-row sample."""
    thing = _stats("thing", "thing", [thing_s] * 3, 1000)
    base = _stats("base", "baseline", [0.1] * 3, 100, scale=10.0)
    base.ratio = thing.median_s / (base.median_s * base.scale)
    verdict = judge(
        None,
        None,
        base.ratio,
        thing.peak_rss_mb,
        quick=False,
        max_seconds=max_seconds,
        thing_seconds=thing.median_s,
        min_rate=min_rate,
        thing_rate=thing.rate,
    )
    return BenchmarkResult(
        name="hand",
        description="built by hand",
        quick=False,
        repeat=3,
        warmup=0,
        order=[["thing", "base"], ["base", "thing"], ["thing", "base"]],
        contenders=[thing, base],
        verdict=verdict,
        max_ratio=None,
        max_rss_mb=None,
        work=1000,
        work_unit="rows",
        rss_floor_mb=None,
        timestamp="2024-01-01T00:00:00+00:00",
        duration_s=1.0,
        max_seconds=max_seconds,
        min_rate=min_rate,
    )


def test_absolute_targets_are_reported_and_appear_in_the_json_target_only_when_set() -> None:
    passing = _result(max_seconds=1.0, min_rate=1000.0)  # 0.5 s, 2000 rows/s
    assert passing.verdict.status == "PASS"
    text = render(passing)
    assert "verdict: PASS" in text
    assert "median 0.500 <= 1.000 s [ok]" in text
    assert "rate 2k >= 1k rows/s [ok]" in text
    assert "  base: ran on a sample of 100 of 1,000 rows; thing/this uses its median scaled x10 = 1 s" in text
    doc = passing.to_json()
    assert doc["target"] == {
        "max_ratio": None,
        "max_rss_mb": None,
        "baseline": "base",
        "max_seconds": 1.0,
        "min_rate": 1000.0,
    }
    assert [(c["what"], c["value"], c["limit"], c["ok"]) for c in doc["verdict"]["checks"]] == [
        ("thing median s", 0.5, 1.0, True),
        ("thing rate", 2000.0, 1000.0, True),
    ]
    assert [(e["name"], e["work"], e["scale"]) for e in doc["contenders"]] == [
        ("thing", 1000, 1.0),
        ("base", 100, 10.0),
    ]
    assert doc["ratio"] == 0.5
    json.dumps(doc)  # serialisable as is

    missing = _result(max_seconds=0.25, min_rate=4000.0)
    assert missing.verdict.status == "MISS"
    text = render(missing)
    assert "verdict: MISS" in text
    assert "median 0.500 <= 0.250 s [MISSED]" in text
    assert "rate 2k >= 4k rows/s [MISSED]" in text
    assert missing.to_json()["verdict"]["status"] == "MISS"

    only_seconds = _result(max_seconds=1.0).to_json()["target"]
    assert only_seconds == {"max_ratio": None, "max_rss_mb": None, "baseline": "base", "max_seconds": 1.0}
    only_rate = _result(min_rate=1000.0).to_json()["target"]
    assert only_rate == {"max_ratio": None, "max_rss_mb": None, "baseline": "base", "min_rate": 1000.0}
    assert _result().to_json()["target"] == {"max_ratio": None, "max_rss_mb": None, "baseline": "base"}
    assert _result().verdict.status == "INFO"


def test_run_benchmark_judges_the_things_median_and_rate(ctx: BenchContext, tmp_path: Path) -> None:
    def bench(name: str, max_seconds: float, min_rate: float) -> Benchmark:
        return Benchmark(
            name,
            "x",
            Contender("t", py("pass")),
            # a slow sampled baseline: its rate (and scaled time) must not be what is judged
            [Contender("b", py("import time; time.sleep(0.05)"), work=1)],
            repeat=1,
            work=1000,
            max_seconds=max_seconds,
            min_rate=min_rate,
        )

    ok = run_benchmark(bench("abs-ok", 60.0, 1.0), ctx, results_dir=tmp_path)
    assert ok.verdict.status == "PASS"
    checks = {c.what: c for c in ok.verdict.checks}
    assert checks.keys() == {"thing median s", "thing rate"}
    assert checks["thing median s"].value == ok.thing.median_s
    assert checks["thing rate"].value == ok.thing.rate == pytest.approx(1000 / ok.thing.median_s)
    assert ok.json_path is not None
    doc = json.loads(ok.json_path.read_text())
    assert doc["target"] == {
        "max_ratio": None,
        "max_rss_mb": None,
        "baseline": "b",
        "max_seconds": 60.0,
        "min_rate": 1.0,
    }
    assert doc["verdict"]["status"] == "PASS"

    # the thing needs far more than a microsecond and cannot do 1e15 rows/s
    miss = run_benchmark(bench("abs-miss", 1e-6, 1e15), ctx, results_dir=tmp_path)
    assert miss.verdict.status == "MISS"
    assert [(c.what, c.ok) for c in miss.verdict.checks] == [("thing median s", False), ("thing rate", False)]
    assert "[MISSED]" in render(miss)
    assert json.loads((tmp_path / "abs-miss.json").read_text())["verdict"]["status"] == "MISS"

    quick = BenchContext(quick=True, workdir=ctx.workdir)
    assert run_benchmark(bench("abs-quick", 1e-6, 1e15), quick, results_dir=None).verdict.status == "SKIP"


def test_sample_and_absolute_target_definitions_are_checked() -> None:
    t = Contender("t", py("pass"))

    def b(work: int | None = None) -> list[Contender]:
        return [Contender("b", py("pass"), work=work)]

    with pytest.raises(BenchmarkError, match="only a baseline"):
        Benchmark("x", "x", Contender("t", py("pass"), work=10), b(), work=100)
    with pytest.raises(BenchmarkError, match=r"Contender\.work"):
        Benchmark("x", "x", t, b(10))  # a sample of what? the benchmark has no work
    for work in (0, -1, 101):
        with pytest.raises(BenchmarkError, match=r"'b': Contender\.work"):
            Benchmark("x", "x", t, b(work), work=100)
    with pytest.raises(BenchmarkError, match=r"'b': Contender\.work"):
        Benchmark("x", "x", t, b(1), work=0)
    with pytest.raises(BenchmarkError, match=r"min_rate .*needs work"):
        Benchmark("x", "x", t, b(), min_rate=10)
    for rate in (0, -5):
        with pytest.raises(BenchmarkError, match="min_rate must be positive"):
            Benchmark("x", "x", t, b(), work=100, min_rate=rate)
    for seconds in (0, -1.0):
        with pytest.raises(BenchmarkError, match="max_seconds must be positive"):
            Benchmark("x", "x", t, b(), max_seconds=seconds)

    # the bounds themselves are fine: a sample of 1 or of everything, any positive target
    Benchmark("x", "x", t, b(1), work=100, min_rate=0.5, max_seconds=0.001)
    full = Benchmark("x", "x", t, b(100), work=100)
    assert full.baselines[0].work == 100
