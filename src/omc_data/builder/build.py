"""``build``: weave collected rows into the generators' output, check the rows, publish a snapshot.

Real sources are fetched (or read from a collection or another snapshot) before the build starts; here
their responses are parsed (:mod:`omc_data.builder.realdata`), kept under ``raw/``, and recorded per
source in the manifest. Generated rows must pass every check; tables holding collected rows are real
life, so their rule breaks are warnings, and their timestamps are checked against the fetch time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from omc_data import catalog
from omc_data.builder import sources as registry
from omc_data.builder.calibrate import calibrate
from omc_data.builder.generators import GENERATORS, READS
from omc_data.builder.generators.spec import Spec
from omc_data.builder.generators.world import RealData, World
from omc_data.builder.realdata import REAL_OUTCOMES, Assembled, RealInputs, assemble
from omc_data.errors import BuildError, ValidationError
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.manifest import Manifest
from omc_data.snapshots.provenance import library_versions, omc_data_version
from omc_data.snapshots.store import Store
from omc_data.snapshots.timefmt import format_timestamp, parse_timestamp
from omc_data.snapshots.validate import BLOCKING, run_checks
from omc_data.snapshots.writer import SnapshotWriter

log = logging.getLogger(__name__)

# The libraries whose versions shape the bytes of a snapshot.
SHAPING_LIBRARIES = ("pyarrow", "numpy", "faker", "polars", "duckdb", "bcrypt")


@dataclass(frozen=True)
class BuildRequest:
    tag: str
    spec: Spec
    tables: tuple[str, ...] = tuple(GENERATORS)
    parent: str | None = None
    real: RealInputs | None = None  # None: every source synthetic (--no-real-data)
    calibrate: bool = False  # fit the price model to the store's collected Coinspot ticks


def build(store: Store, request: BuildRequest, *, progress: Progress = NULL_PROGRESS) -> Manifest:
    """Generate every requested table into a hidden directory, check it, and publish it atomically."""
    spec = request.spec
    unknown = [t for t in request.tables if t not in GENERATORS]
    if unknown:
        raise ValueError(f"no generator for {unknown}")
    uncatalogued = [t for t in request.tables if t not in catalog.table_names()]
    if uncatalogued:  # a generator alone is not enough: the catalog entry defines the table
        raise ValueError(f"not in the catalog: {uncatalogued}")
    real = request.real
    tables = _tables(request)
    done: list[Assembled] = []

    def assembled() -> Assembled:
        """The parsed real data, on first need: a live fetch may still be running (see RealInputs)."""
        if not done:
            done.append(assemble(spec, real) if real is not None else Assembled(RealData()))
        return done[0]

    calibration = calibrate(store.root, spec) if request.calibrate else None

    def real_data() -> RealData:
        data = assembled().real
        return data if calibration is None else dataclasses.replace(data, calibration=calibration.coins)

    # Tables that never read real data (users, agents...) are generated while the sources are fetched.
    world = World(spec, real_data)
    with SnapshotWriter(store, request.tag, progress=progress) as writer:
        for name in _generation_order(tables):
            log.info("generating %s", name)
            written = writer.write_table(catalog.table(name), GENERATORS[name](world))
            world.record_built(name, [writer.dir / p.path for p in written.parts])
        sources = _source_records(request, assembled())
        if real is not None:
            for source in real.real_sources:
                for n, response in enumerate(real.responses(source)):
                    entry = writer.write_raw(response.file_name(n), response.to_file())
                    sources[source].setdefault("raw", []).append(entry.path)
        parts = {name: [writer.dir / p.path for p in e.parts] for name, e in writer.tables.items()}
        with progress.task("validate"):
            report = run_checks(
                parts,
                as_of=spec.as_of_tick,
                severity=BLOCKING,
                proven=writer.proven,
                real_tables=real_tables(sources),
            )
        if not report.passed:
            failed = [f"{c.table}: {c.name} ({c.failures} rows)" for c in report.blocking_failures]
            raise ValidationError(
                f"generated rows failed {len(failed)} checks: {'; '.join(failed)}", failures=failed
            )
        inputs = spec.manifest_inputs()
        inputs["as_of"] = format_timestamp(spec.as_of_tick)
        inputs["tables"] = list(tables)
        inputs["real_data"] = real.manifest_inputs() if real is not None else False
        if calibration is not None:
            inputs["calibration"] = dict(calibration.record)
        return writer.publish(
            inputs=inputs,
            libraries=library_versions(SHAPING_LIBRARIES),
            omc_data_version=omc_data_version(),
            sources=sources,
            validation=report.to_json(),
            parent=request.parent,
        )


def _generation_order(tables: tuple[str, ...]) -> list[str]:
    """Load order, except that a table another one reads (``READS``) is written before its reader."""
    order = catalog.load_order(tables)
    for reader, read in READS.items():
        if reader not in order:
            continue
        missing = [t for t in read if t not in order]
        if missing:
            raise BuildError(
                f"{reader} is made from the built {', '.join(missing)}",
                hint=f"build {', '.join(missing)} too (--tables ...,{','.join(missing)})",
            )
        for t in read:
            if order.index(t) > order.index(reader):
                order.remove(t)
                order.insert(order.index(reader), t)
    return order


def _tables(request: BuildRequest) -> tuple[str, ...]:
    """The requested tables; with ``--no-synthetic`` only those a real source filled."""
    real = request.real
    if real is None or real.synthetic:
        return request.tables
    filled = {t for s in real.real_sources for t in registry.source(s).tables}
    return tuple(t for t in request.tables if t in filled)


def _source_records(request: BuildRequest, assembled: Assembled) -> dict[str, dict[str, Any]]:
    """The manifest's record of every source; refuses the build when the flags ask for real data."""
    real = request.real
    records: dict[str, dict[str, Any]] = {}
    for source in registry.REGISTRY:
        fetch = real.fetches.get(source) if real is not None else None
        record: dict[str, Any] = fetch.to_json() if fetch is not None else {"outcome": "synthetic"}
        record["table"] = registry.source(source).table
        if source in assembled.counts:
            record.update(assembled.counts[source].to_json())
        record.update(assembled.records.get(source, {}))
        if record["outcome"] not in REAL_OUTCOMES:
            record["stand_in"] = "synthetic" if real is None or real.synthetic else "none"
        records[source] = record
    if real is None:
        return records
    unmet = {
        s: r for s, r in records.items() if s in real.fetches and r["outcome"] in ("degraded", "skipped")
    }
    if real.require and unmet:
        raise BuildError(
            "real data required, but "
            + "; ".join(f"{s} was {r['outcome']}: {r.get('reason', '')}" for s, r in unmet.items()),
            hint="fix the source or drop require_real_data=True; nothing was published",
            details=[f"{s}: {r['outcome']}: {r.get('reason', '')}" for s, r in unmet.items()],
        )
    failed = {s: r for s, r in unmet.items() if r["outcome"] == "degraded"}
    if not real.synthetic and failed:
        raise BuildError(
            "synthetic=False needs every source, but "
            + "; ".join(f"{s} failed: {r.get('reason', '')}" for s, r in failed.items()),
            hint="retry later, or drop synthetic=False to use stand-ins; nothing was published",
        )
    return records


def real_tables(sources: dict[str, dict[str, Any]]) -> dict[str, dt.datetime]:
    """Tables holding real rows, each with the latest fetch time its timestamps are checked against."""
    out: dict[str, dt.datetime] = {}
    for record in sources.values():
        if record.get("outcome") in REAL_OUTCOMES and isinstance(record.get("fetched_at"), str):
            out[str(record["table"])] = parse_timestamp(record["fetched_at"])
    return out
