"""The benchmark harness (bench/harness.py): measuring, interleaving, failing, reporting.

These tests time nothing against a target: they check that the harness computes and records what it
says it does, with tiny ``python -c`` children.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is a top-level package beside src/, not installed
    sys.path.insert(0, str(REPO_ROOT))

from bench.harness import (  # noqa: E402
    SCHEMA,
    BenchContext,
    Benchmark,
    BenchmarkError,
    Contender,
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
        baselines=[Contender("sleep", py("import time; time.sleep(0.15)"))],
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
    assert base.min_s >= 0.15
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
