"""What a benchmark run measured (runs, per-contender statistics, ratios) and the verdict on its targets."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .definitions import SCHEMA, Role, Status


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


def median_ratio(thing: list[float], other: list[float]) -> float:
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
