"""Synthetic generators, one per dataset table, registered in ``GENERATORS``.

A generator takes the build's ``Spec`` and returns the table's rows, sorted by key, as an Arrow table or
a stream of record batches (for tables where volume lives).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

import pyarrow as pa

from omc_data.builder.generators import prices, users
from omc_data.builder.generators.spec import Spec

Generated: TypeAlias = pa.Table | Iterable[pa.RecordBatch]
Generator: TypeAlias = Callable[[Spec], Generated]

GENERATORS: dict[str, Generator] = {
    "user": users.generate,
    "price_data_5min": prices.generate,
}
