"""Per-column statistics recorded in the manifest, accumulated batch by batch.

They let a loader decide whether a target column can hold the data without scanning it: the longest
text, the most integer digits and the finest scale of a numeric, the earliest and latest instant.

Text (and JSON) and binary columns record their longest value's length but never a min or max: those
would copy content (a bcrypt hash, an email, a message, an encrypted key) into ``manifest.json``, which
must hold no password, hash or token.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omc_data.snapshots.timefmt import format_timestamp


def _json_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return str(uuid.UUID(bytes=value)) if len(value) == 16 else value.hex()
    if isinstance(value, float):
        return value
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _integer_digits(value: decimal.Decimal) -> int:
    whole = abs(int(value))
    return len(str(whole)) if whole else 0


def _unscaled_int64(array: pa.Array) -> np.ndarray | None:
    """The unscaled integers of a decimal128 array (nulls as 0), or None when one exceeds int64."""
    filled = array.fill_null(pa.scalar(0, array.type)) if array.null_count else array
    words = np.frombuffer(filled.buffers()[1], dtype=np.int64)
    words = words[2 * filled.offset : 2 * (filled.offset + len(filled))]
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high, np.where(low < 0, -1, 0)):  # the high word only extends the sign
        return None
    return low


def _finest_scale(array: pa.Array, scale: int) -> int:
    """How many of ``scale`` decimal places the values use: 1.50 at scale 8 uses 1."""
    ints = _unscaled_int64(array)
    if ints is None:  # beyond int64: let Arrow try each scale (slow, but rare)
        for used in range(scale):
            try:
                array.cast(pa.decimal128(array.type.precision, used), safe=True)
            except pa.ArrowInvalid:
                continue
            return used
        return scale
    for unused in range(scale, 0, -1):
        if not np.any(ints % (10**unused)):
            return scale - unused
    return scale


def _is_binary(t: pa.DataType) -> bool:
    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t))


class ColumnStats:
    """Accumulates min, max, nulls and the type-specific extremes of one column."""

    def __init__(self, arrow_type: pa.DataType) -> None:
        self.type = arrow_type
        self.nulls = 0
        self.min: Any = None
        self.max: Any = None
        self.max_length: int | None = None
        self.max_scale: int | None = None
        self.max_items: int | None = None

    def update(self, array: pa.Array | pa.ChunkedArray) -> None:
        self.nulls += array.null_count
        if array.null_count == len(array):
            return
        t = self.type
        if pa.types.is_list(t):
            lengths = pc.list_value_length(array)
            self._bump_items(pc.max(lengths).as_py())
            flat = pc.list_flatten(array)
            if len(flat):
                self._bump_length(pc.max(pc.utf8_length(flat)).as_py())
            return
        if isinstance(t, pa.BaseExtensionType):
            if isinstance(array, pa.ChunkedArray):
                storage = pa.chunked_array([c.storage for c in array.chunks], t.storage_type)
            else:
                storage = array.storage
            self._bump_minmax(pc.min_max(storage))
            return
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            self._bump_length(pc.max(pc.utf8_length(array)).as_py())
            return
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            self._bump_length(pc.max(pc.binary_length(array)).as_py())
            return
        self._bump_minmax(pc.min_max(array))
        if pa.types.is_decimal(t):
            self._bump_scale(array)

    def _bump_minmax(self, result: pa.StructScalar) -> None:
        lo, hi = result["min"].as_py(), result["max"].as_py()
        if lo is not None and (self.min is None or lo < self.min):
            self.min = lo
        if hi is not None and (self.max is None or hi > self.max):
            self.max = hi

    def _bump_length(self, value: int | None) -> None:
        if value is not None and (self.max_length is None or value > self.max_length):
            self.max_length = value

    def _bump_items(self, value: int | None) -> None:
        if value is not None and (self.max_items is None or value > self.max_items):
            self.max_items = value

    def _bump_scale(self, array: pa.Array | pa.ChunkedArray) -> None:
        """The finest scale the values really use (trailing zeros do not count)."""
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        for chunk in chunks:
            if (self.max_scale or 0) >= self.type.scale:
                return
            self.max_scale = max(self.max_scale or 0, _finest_scale(chunk, self.type.scale))

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"nulls": self.nulls}
        t = self.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_list(t) or _is_binary(t):
            doc["max_length"] = self.max_length
        else:
            doc["min"] = _json_scalar(self.min)
            doc["max"] = _json_scalar(self.max)
        if pa.types.is_decimal(self.type):
            extremes = [v for v in (self.min, self.max) if v is not None]
            doc["max_integer_digits"] = max((_integer_digits(v) for v in extremes), default=None)
            doc["max_scale"] = self.max_scale
        if pa.types.is_list(self.type):
            doc["max_items"] = self.max_items
        return doc


class TableStats:
    def __init__(self, schema: pa.Schema) -> None:
        self.columns = {f.name: ColumnStats(f.type) for f in schema}

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        for name, stats in self.columns.items():
            stats.update(batch.column(name))

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {name: stats.to_json() for name, stats in self.columns.items()}
