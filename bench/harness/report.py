"""The human report of a benchmark: a table of the contenders and a verdict line."""

from __future__ import annotations

from pathlib import Path

from .results import BenchmarkResult


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
