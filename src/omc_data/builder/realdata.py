"""From collected responses to the rows a build weaves in, and the manifest's record of each source.

The same code runs whether the responses were fetched a second ago (``live``), filed by ``omc-data
collect`` (``collected``) or read back from another snapshot's ``raw/`` (a replay of either): a build's
tables depend only on the responses and the spec, which is what makes a replay byte-identical.

Each source's own ``parse`` (its module under :mod:`omc_data.builder.sources`) turns its responses into
its rows; here they are gathered for the generators. In ``collected`` mode only the responses fetched
inside the build's window are read (the others are counted as skipped).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omc_data.builder import sources as registry
from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.generators.spec import TICK, Spec
from omc_data.builder.generators.world import RealData
from omc_data.builder.live import SourceFetch
from omc_data.builder.sources.counts import SourceCounts
from omc_data.builder.sources.model import Reading

LIVE = "live"
COLLECTED = "collected"
MODES = (LIVE, COLLECTED)
REAL_OUTCOMES = ("collected", "replayed")  # the source's rows are real


@dataclass(frozen=True)
class RealInputs:
    """The collected side of a build: what happened to every source, and the responses that came back."""

    mode: str  # live | collected
    # every source, whatever its outcome; or a callable giving them (a live fetch running meanwhile)
    pending: Mapping[str, SourceFetch] | Callable[[], Mapping[str, SourceFetch]]
    synthetic: bool = True  # False: --no-synthetic, only the collected tables
    require: bool = False  # --require-real-data: any degraded or skipped source fails the build
    replay_of: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown real-data mode {self.mode!r}")

    @functools.cached_property
    def fetches(self) -> Mapping[str, SourceFetch]:
        """Every source's fetch, waiting for it on first use when it is still running."""
        return self.pending() if callable(self.pending) else self.pending

    def responses(self, source: str) -> list[RawResponse]:
        fetch = self.fetches.get(source)
        if fetch is None or fetch.outcome not in REAL_OUTCOMES:
            return []
        return sorted(fetch.responses, key=lambda r: r.fetched_at)

    @property
    def real_sources(self) -> list[str]:
        return [s for s in registry.REGISTRY if self.responses(s)]

    def manifest_inputs(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "sources": [
                s for s in registry.REGISTRY if s in self.fetches and self.fetches[s].outcome != "synthetic"
            ],
            "synthetic": self.synthetic,
            "require_real_data": self.require,
            "replay_of": self.replay_of,
        }


@dataclass
class Assembled:
    real: RealData
    counts: dict[str, SourceCounts] = field(default_factory=dict)
    # per source: facts its parser adds to its manifest record (e.g. Coinspot's synthetic ticks)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


def window(spec: Spec) -> tuple[dt.datetime, dt.datetime]:
    """Fetches that belong to a ``collected`` build: from the first tick to the end of the as_of tick."""
    return spec.first_tick, spec.as_of_tick + TICK


def _in_window(spec: Spec, responses: Sequence[RawResponse]) -> list[RawResponse]:
    lo, hi = window(spec)
    return [r for r in responses if lo <= r.fetched_at < hi]


def assemble(spec: Spec, inputs: RealInputs) -> Assembled:
    """Parse every real source's responses into the rows the generators weave in, counting what is left."""
    out = Assembled(RealData(synthetic=inputs.synthetic))
    collected = inputs.mode == COLLECTED
    reading = Reading(collected=collected, synthetic=inputs.synthetic)
    values: dict[str, Any] = {}
    for name in inputs.real_sources:
        source = registry.source(name)
        counts = out.counts[name] = SourceCounts()
        responses = inputs.responses(name)
        if collected:
            kept = _in_window(spec, responses)
            if len(kept) < len(responses):
                counts.skip("response fetched outside the build window", len(responses) - len(kept))
            responses = kept
        parsed = source.parse(spec, responses, counts, reading)
        values[source.real_field] = parsed.value
        if parsed.record:
            out.records[name] = parsed.record
    out.real = RealData(**values, synthetic=inputs.synthetic)
    return out
