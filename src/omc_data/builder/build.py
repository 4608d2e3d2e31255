"""``build``: run the generators (and, later, collectors), check the rows, publish a snapshot."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from omc_data import catalog
from omc_data.builder.generators import GENERATORS
from omc_data.builder.generators.spec import Spec
from omc_data.builder.generators.world import World
from omc_data.errors import ValidationError
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.manifest import Manifest
from omc_data.snapshots.provenance import library_versions, omc_data_version
from omc_data.snapshots.store import Store
from omc_data.snapshots.timefmt import format_timestamp
from omc_data.snapshots.validate import BLOCKING, run_checks
from omc_data.snapshots.writer import SnapshotWriter

log = logging.getLogger(__name__)

# The libraries whose versions shape the bytes of a snapshot.
SHAPING_LIBRARIES = ("pyarrow", "numpy", "faker", "polars", "duckdb", "bcrypt")
SOURCES = ("coinspot", "defillama", "cryptopanic")


@dataclass(frozen=True)
class BuildRequest:
    tag: str
    spec: Spec
    tables: tuple[str, ...] = tuple(GENERATORS)
    parent: str | None = None


def build(store: Store, request: BuildRequest, *, progress: Progress = NULL_PROGRESS) -> Manifest:
    """Generate every requested table into a hidden directory, check it, and publish it atomically."""
    spec = request.spec
    unknown = [t for t in request.tables if t not in GENERATORS]
    if unknown:
        raise ValueError(f"no generator for {unknown}")
    uncatalogued = [t for t in request.tables if t not in catalog.table_names()]
    if uncatalogued:  # a generator alone is not enough: the catalog entry defines the table
        raise ValueError(f"not in the catalog: {uncatalogued}")
    world = World(spec)
    with SnapshotWriter(store, request.tag, progress=progress) as writer:
        for name in catalog.load_order(request.tables):
            log.info("generating %s", name)
            writer.write_table(catalog.table(name), GENERATORS[name](world))
        parts = {name: [writer.dir / p.path for p in e.parts] for name, e in writer.tables.items()}
        with progress.task("validate"):
            report = run_checks(parts, as_of=spec.as_of_tick, severity=BLOCKING, proven=writer.proven)
        if not report.passed:
            failed = [f"{c.table}: {c.name} ({c.failures} rows)" for c in report.blocking_failures]
            raise ValidationError(
                f"generated rows failed {len(failed)} checks: {'; '.join(failed)}", failures=failed
            )
        inputs = spec.manifest_inputs()
        inputs["as_of"] = format_timestamp(spec.as_of_tick)
        inputs["tables"] = list(request.tables)
        inputs["real_data"] = False
        sources = {name: {"outcome": "synthetic"} for name in SOURCES}
        return writer.publish(
            inputs=inputs,
            libraries=library_versions(SHAPING_LIBRARIES),
            omc_data_version=omc_data_version(),
            sources=sources,
            validation=report.to_json(),
            parent=request.parent,
        )
