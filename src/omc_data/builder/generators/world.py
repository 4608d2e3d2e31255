"""What the generators of one build share: the spec, real data, and the facts of entities already decided.

Generators never read each other's output. A child table asks the world for its parents' facts (a user's
id and creation time, which algorithms are active, a coin's price path), each computed once by the module
that owns the parent table and memoised here. Facts derive from (seed, table, ordinal) and the collected
real data only, so they are the same whether or not the parent table itself is part of the build.

The one exception is the market: tables that must agree with the prices the app will read (backtests
replay them, decisions quote them) read the built ``price_data_5min`` itself (``built``), which the
build writes before them (``generators.READS``), so they never depend on how the prices were made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from omc_data.builder.generators.spec import Spec

T = TypeVar("T")
Quote = tuple[int, int, int]  # bid, ask, last in units of 1e-8


@dataclass(frozen=True)
class RealData:
    """Collected rows the generators build around (already parsed, fitted and counted).

    ``prices``: coin key -> tick (microseconds since the epoch, UTC) -> quote; the history coins' walks end
    at (and pass through) their real ticks. ``protocols`` and ``news``: the tables' rows without ids, or
    None when that source gave nothing (the generator's stand-in is used). ``synthetic`` False: only real
    rows (``--no-synthetic``). ``calibration``: price-model parameters fitted from collected ticks
    (``build --calibrate``), None for the published defaults.
    """

    prices: Mapping[str, Mapping[int, Quote]] = field(default_factory=dict)
    protocols: Sequence[dict[str, Any]] | None = None
    news: Sequence[dict[str, Any]] | None = None
    synthetic: bool = True
    calibration: Mapping[str, Mapping[str, float]] | None = None  # coin -> fitted price-model parameters


class World:
    def __init__(self, spec: Spec, real: RealData | Callable[[], RealData] | None = None) -> None:
        self.spec = spec
        self._real = real
        self._memo: dict[Callable[..., Any], Any] = {}
        self._built: dict[str, tuple[Path, ...]] = {}

    def record_built(self, table: str, files: Sequence[Path]) -> None:
        """The build wrote ``table`` as these Parquet files (in row order)."""
        self._built[table] = tuple(files)

    def built(self, table: str) -> tuple[Path, ...]:
        """The Parquet files of ``table`` as this build wrote them; KeyError if it has not (yet)."""
        try:
            return self._built[table]
        except KeyError:
            raise KeyError(f"{table} is not built yet: list it in generators.READS") from None

    @property
    def real(self) -> RealData:
        """The collected rows; a callable is called on first use (the fetch may still be running)."""
        if callable(self._real):
            self._real = self._real()
        if self._real is None:
            self._real = RealData()
        return self._real

    def get(self, fact: Callable[[World], T]) -> T:
        """``fact(world)``, computed on first use and then remembered for this build."""
        if fact not in self._memo:
            self._memo[fact] = fact(self)
        return self._memo[fact]  # type: ignore[no-any-return]
