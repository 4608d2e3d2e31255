"""The manifest of a snapshot (format_version 1 or 2): what it holds, how it was made, and every checksum.

Version 2 adds column types (json, jsonb, bytea, double precision; ``catalog.V1_TYPES`` lists the first
version's); a manifest declares the lowest version that describes it (``required_version``), so a
snapshot of the first eleven tables still reads with an older omc-data. Both versions are read.

``manifest.json`` is written last when a snapshot is published; ``manifest.json.sha256`` holds its own
digest in ``sha256sum`` format. JSON encodings: decimals as strings, timestamps RFC 3339 with ``Z``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omc_data.catalog import V1_TYPES
from omc_data.errors import ManifestError
from omc_data.snapshots.timefmt import format_timestamp, parse_timestamp

FORMAT_VERSION = 2  # the newest this omc-data writes
READABLE_VERSIONS = (1, 2)
MANIFEST_NAME = "manifest.json"
SIDECAR_NAME = "manifest.json.sha256"


@dataclass(frozen=True)
class FileEntry:
    """A file under ``tables/`` or ``raw/``, relative to the snapshot directory."""

    path: str
    bytes: int
    sha256: str
    rows: int | None = None  # table parts only

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path}
        if self.rows is not None:
            doc["rows"] = self.rows
        doc["bytes"] = self.bytes
        doc["sha256"] = self.sha256
        return doc


@dataclass(frozen=True)
class ColumnEntry:
    name: str
    type: str  # PostgreSQL type as the catalog writes it, e.g. numeric(20,8)
    nullable: bool


@dataclass(frozen=True)
class TableEntry:
    name: str
    rows: int
    parts: tuple[FileEntry, ...]
    schema: tuple[ColumnEntry, ...]
    primary_key: tuple[str, ...]
    diff_key: tuple[str, ...]  # key parts as text: a column, or utc_date(column)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "parts": [p.to_json() for p in self.parts],
            "schema": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in self.schema],
            "primary_key": list(self.primary_key),
            "diff_key": list(self.diff_key),
            "stats": self.stats,
        }


@dataclass(frozen=True)
class Manifest:
    tag: str
    created_at: dt.datetime
    omc_data_version: str
    libraries: dict[str, str]
    catalog_fingerprint: str
    inputs: dict[str, Any]
    tables: dict[str, TableEntry]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: tuple[FileEntry, ...] = ()
    validation: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    kind: str = "build"  # build | capture
    format_version: int = FORMAT_VERSION

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables.values()) + sum(f.bytes for f in self.raw)

    def files(self) -> dict[str, FileEntry]:
        """Every file the manifest vouches for, by path relative to the snapshot directory."""
        out = {p.path: p for t in self.tables.values() for p in t.parts}
        out.update({f.path: f for f in self.raw})
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "tag": self.tag,
            "kind": self.kind,
            "created_at": format_timestamp(self.created_at),
            "parent": self.parent,
            "omc_data_version": self.omc_data_version,
            "libraries": dict(sorted(self.libraries.items())),
            "catalog_fingerprint": self.catalog_fingerprint,
            "inputs": self.inputs,
            "sources": self.sources,
            "tables": {name: t.to_json() for name, t in self.tables.items()},
            "raw": [f.to_json() for f in self.raw],
            "validation": self.validation,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def required_version(tables: Any) -> int:
    """The lowest format_version that can describe ``tables`` (name -> TableEntry)."""
    for entry in tables.values():
        if any(c.type.split("(")[0] not in V1_TYPES for c in entry.schema):
            return 2
    return 1


_REQUIRED = ("format_version", "tag", "created_at", "omc_data_version", "catalog_fingerprint", "tables")


def _file_entry(doc: Any, where: str) -> FileEntry:
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: expected an object")
    path, size, digest = doc.get("path"), doc.get("bytes"), doc.get("sha256")
    if not isinstance(path, str) or not isinstance(size, int) or not isinstance(digest, str):
        raise ValueError(f"{where}: needs path, bytes and sha256")
    if path.startswith("/") or ".." in Path(path).parts:
        raise ValueError(f"{where}: path {path!r} leaves the snapshot directory")
    rows = doc.get("rows")
    if rows is not None and not isinstance(rows, int):
        raise ValueError(f"{where}: rows must be an integer")
    return FileEntry(path=path, bytes=size, sha256=digest, rows=rows)


_COUNT_STATS = ("nulls", "max_length", "max_items", "max_integer_digits", "max_scale")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_EXTREME_KINDS = {
    "integer": "a whole number",
    "bigint": "a whole number",
    "boolean": "a boolean",
    "double precision": "a number",
}
_EXTREME_CHECKS: dict[str, Callable[[Any], bool]] = {
    "a whole number": _is_int,
    "a number": lambda v: _is_int(v) or isinstance(v, float),
    "a boolean": lambda v: isinstance(v, bool),
    "a string": lambda v: isinstance(v, str),
}


def _check_stats(table: str, stats: Any, types: dict[str, str]) -> None:
    """Statistics of the types the writer records: the loader plans with them, so a wrong type is damage."""
    if not isinstance(stats, dict):
        raise ValueError(f"table {table}: stats must be an object")
    for column, doc in stats.items():
        where = f"table {table}: statistic of column {column}"
        if column not in types or not isinstance(doc, dict):
            raise ValueError(f"{where} is not an object of a column in the schema")
        for key in _COUNT_STATS:
            value = doc.get(key)
            if value is not None and not (_is_int(value) and value >= 0):
                raise ValueError(f"{where}: {key} is {value!r}, not a whole number")
        wanted = _EXTREME_KINDS.get(types[column], "a string")
        for key in ("min", "max"):
            value = doc.get(key)
            if value is not None and not _EXTREME_CHECKS[wanted](value):
                raise ValueError(f"{where}: {key} is {value!r}, not {wanted}")


def _table_entry(name: str, doc: Any) -> TableEntry:
    if not isinstance(doc, dict):
        raise ValueError(f"table {name}: expected an object")
    parts = tuple(_file_entry(p, f"table {name} part") for p in doc.get("parts", []))
    schema_doc = doc.get("schema")
    if not isinstance(schema_doc, list) or not schema_doc:
        raise ValueError(f"table {name}: missing schema")
    schema = tuple(ColumnEntry(str(c["name"]), str(c["type"]), bool(c["nullable"])) for c in schema_doc)
    rows = doc.get("rows")
    if not isinstance(rows, int) or rows != sum(p.rows or 0 for p in parts):
        raise ValueError(f"table {name}: rows disagree with its parts")
    stats = doc.get("stats", {})
    _check_stats(name, stats, {c.name: c.type for c in schema})
    return TableEntry(
        name=name,
        rows=rows,
        parts=parts,
        schema=schema,
        primary_key=tuple(doc.get("primary_key", ())),
        diff_key=tuple(doc.get("diff_key", ())),
        stats=dict(stats),
    )


def parse_manifest(text: str, *, tag: str, path: Path | None = None) -> Manifest:
    """Read a manifest; ManifestError naming the problem for anything that is not format_version 1 or 2."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest of {tag!r} is not valid JSON ({exc.msg})", tag=tag, path=path) from exc
    except RecursionError as exc:  # a hostile or damaged file nested thousands deep
        raise ManifestError(
            f"manifest of {tag!r} is nested too deeply to be a manifest", tag=tag, path=path
        ) from exc
    if not isinstance(doc, dict):
        raise ManifestError(f"manifest of {tag!r} is not a JSON object", tag=tag, path=path)
    version = doc.get("format_version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        readable = " and ".join(map(str, READABLE_VERSIONS))
        raise ManifestError(
            f"manifest of {tag!r} has format_version {version!r}; this omc-data reads {readable}",
            tag=tag,
            path=path,
        )
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise ManifestError(f"manifest of {tag!r} lacks {', '.join(missing)}", tag=tag, path=path)
    if doc["tag"] != tag:
        raise ManifestError(
            f"manifest in directory {tag!r} belongs to tag {doc['tag']!r}", tag=tag, path=path
        )
    try:
        tables_doc = doc["tables"]
        if not isinstance(tables_doc, dict):
            raise ValueError("tables must be an object")
        manifest = Manifest(
            format_version=version,
            tag=tag,
            kind=str(doc.get("kind", "build")),
            created_at=parse_timestamp(str(doc["created_at"])),
            parent=doc.get("parent"),
            omc_data_version=str(doc["omc_data_version"]),
            libraries=dict(doc.get("libraries", {})),
            catalog_fingerprint=str(doc["catalog_fingerprint"]),
            inputs=dict(doc.get("inputs", {})),
            sources=dict(doc.get("sources", {})),
            tables={name: _table_entry(name, t) for name, t in tables_doc.items()},
            raw=tuple(_file_entry(f, "raw file") for f in doc.get("raw", [])),
            validation=dict(doc.get("validation", {})),
        )
        if required_version(manifest.tables) > version:
            raise ValueError(f"column types of format_version 2 in a format_version {version} manifest")
        return manifest
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"manifest of {tag!r} is malformed: {exc}", tag=tag, path=path) from exc
