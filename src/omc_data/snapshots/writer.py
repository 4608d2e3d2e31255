"""Writing a snapshot: tables streamed to Parquet in a hidden directory, published atomically.

A writer holds an flock on ``.tmp-<tag>-<id>.lock`` for as long as it lives, so ``Store.cleanup`` can tell a
dead build's leftovers from a live one. Publishing writes the manifest last, fsyncs, and renames the
directory into place without replacing anything (``renameat2(RENAME_NOREPLACE)`` where the kernel has
it): two builds racing for one tag cannot both win, and a build killed at any point leaves no snapshot.

Parquet bytes depend only on the rows: batches are regrouped into fixed-size row groups, so the way a
generator happened to chunk its output never shows in the files.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import errno
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from omc_data import catalog
from omc_data.catalog import Table
from omc_data.errors import SnapshotExistsError
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.arrowschema import arrow_schema, conform
from omc_data.snapshots.checksum import sha256_bytes, sha256_file, sidecar_line
from omc_data.snapshots.keyorder import key_orders
from omc_data.snapshots.manifest import (
    MANIFEST_NAME,
    SIDECAR_NAME,
    ColumnEntry,
    FileEntry,
    Manifest,
    TableEntry,
    required_version,
)
from omc_data.snapshots.stats import TableStats
from omc_data.snapshots.store import TMP_PREFIX, Store, validate_tag

ROW_GROUP_ROWS = 128 * 1024
ROW_GROUP_BYTES = 32 * 1024 * 1024  # wide text tables: fewer rows per group, memory stays flat
PART_ROWS = 4 * 1024 * 1024
# zstd level 1 compresses price tables as well as the default level 3 here, and faster. Dictionary
# encoding pays off only for low-cardinality text: on decimals and timestamps it cost 2.5x the write
# time and made files 30% larger (4M price rows: 2.07 s / 139 MB with it, 0.81 s / 108 MB without).
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "version": "2.6",
    "write_statistics": True,
}


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_list(f.type)]
    return {**PARQUET_OPTIONS, "use_dictionary": text}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; FileExistsError if ``dst`` exists, even as an empty directory."""
    libc_name = ctypes.util.find_library("c")
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None) if libc_name else None
    if renameat2 is not None:
        rc = renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(err, os.strerror(err), str(dst))
        if err not in (errno.EINVAL, errno.ENOSYS):  # the file system cannot do it: fall back below
            raise OSError(err, os.strerror(err), str(src))
    if dst.exists():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    src.rename(dst)  # a non-empty dst still makes this fail (ENOTEMPTY)


def row_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """Each row's size in bytes: fixed widths plus the value bytes of text, binary and list columns.

    Computed from the rows alone, so where ``rechunk`` cuts never depends on how the input was batched.
    """
    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        t = column.type.storage_type if isinstance(column.type, pa.BaseExtensionType) else column.type
        if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t):
            sizes += pc.binary_length(column).fill_null(0).to_numpy(zero_copy_only=False)
        elif pa.types.is_list(t):
            flat = pc.list_flatten(column)
            inner = pc.binary_length(flat).fill_null(0) if pa.types.is_string(flat.type) else None
            lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
            if inner is None:
                sizes += lengths * 8
            else:  # the bytes of each row's elements: a cumulative sum cut at the list offsets
                ends = np.cumsum(lengths)
                totals = np.concatenate([[0], np.cumsum(inner.to_numpy(zero_copy_only=False))])
                sizes += totals[ends] - totals[ends - lengths]
        else:
            sizes += max(t.bit_width // 8, 1)
    return sizes


def rechunk(batches: Iterable[pa.RecordBatch], rows: int, max_bytes: int | None = None) -> Iterator[pa.Table]:
    """Regroup a stream of batches into tables of ``rows`` rows, or fewer once they hold ``max_bytes``.

    The byte cut keeps a wide text table's row groups (and the memory of whoever reads or writes them)
    bounded; it is row-exact (``row_bytes``), so the same rows always give the same groups.
    """
    pending: list[pa.RecordBatch] = []
    held = held_bytes = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - held, batch.num_rows)
            if max_bytes is not None:
                cumulative = held_bytes + np.cumsum(row_bytes(batch.slice(0, take)))
                crossing = int(np.searchsorted(cumulative, max_bytes, side="left"))
                if crossing < take:
                    take = crossing + 1  # the row that reaches max_bytes closes the group
                held_bytes = int(cumulative[take - 1])
            pending.append(batch.slice(0, take))
            held += take
            batch = batch.slice(take)
            if held == rows or (max_bytes is not None and held_bytes >= max_bytes):
                yield pa.Table.from_batches(pending)
                pending, held, held_bytes = [], 0, 0
    if held:
        yield pa.Table.from_batches(pending)


def _as_batches(data: pa.Table | Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        yield from data.to_batches()
    else:
        yield from data


def _write_group(writer: pq.ParquetWriter, group: pa.Table) -> None:
    writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
    # Arrow's allocator keeps freed pages for reuse; after a wide group that is hundreds of MB held
    # for nothing (a capture of 760 MB of text peaked at 1.1 GB without this).
    pa.default_memory_pool().release_unused()


class _PartWriter:
    """Row groups into numbered part files, encoded and written on a background thread.

    One group is in flight while the caller prepares the next (statistics, key order), so the two cores
    overlap Parquet encoding with the rest; memory stays at about two row groups.
    """

    def __init__(self, root: Path, folder: Path, schema: pa.Schema) -> None:
        self.root, self.folder, self.schema = root, folder, schema
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="omc-data-parquet")
        self.inflight: Future[None] | None = None
        self.writer: pq.ParquetWriter | None = None
        self.path = folder / "part-00000.parquet"
        self.rows = 0
        self.files: list[FileEntry] = []

    def _open(self) -> pq.ParquetWriter:
        self.path = self.folder / f"part-{len(self.files):05d}.parquet"
        self.rows = 0
        self.writer = pq.ParquetWriter(self.path, self.schema, **parquet_options(self.schema))
        return self.writer

    def _wait(self) -> None:
        inflight, self.inflight = self.inflight, None
        if inflight is not None:
            inflight.result()

    def write(self, group: pa.Table) -> None:
        if self.writer is not None and self.rows + group.num_rows > PART_ROWS:
            self._close_part()
        writer = self.writer or self._open()
        self._wait()
        self.inflight = self.pool.submit(_write_group, writer, group)
        self.rows += group.num_rows

    def _close_part(self) -> None:
        self._wait()
        if self.writer is None:
            return
        self.writer.close()
        self.writer = None
        rel = self.path.relative_to(self.root).as_posix()
        self.files.append(FileEntry(rel, self.path.stat().st_size, sha256_file(self.path), self.rows))

    def finish(self) -> list[FileEntry]:
        if self.writer is None and not self.files:  # an empty table still has one (empty) part
            self._open().write_table(self.schema.empty_table())
        self._close_part()
        return self.files

    def close(self) -> None:
        """Release the thread and any open file, after success or failure (a failure's error wins)."""
        try:
            if self.inflight is not None:
                self.inflight.exception()  # wait; the caller's own exception is the one that matters
            if self.writer is not None:  # only after a failure: the folder is thrown away anyway
                with contextlib.suppress(Exception):
                    self.writer.close()
        finally:
            self.pool.shutdown(wait=True)


class SnapshotWriter:
    """Builds one snapshot in a hidden directory; ``publish`` makes it visible, anything else removes it."""

    def __init__(self, store: Store, tag: str, *, progress: Progress = NULL_PROGRESS) -> None:
        self.store = store
        self.tag = validate_tag(tag)
        self.progress = progress
        if store.exists(tag):
            raise SnapshotExistsError(tag, store.root)
        store.root.mkdir(parents=True, exist_ok=True)
        store.cleanup()
        name = f"{TMP_PREFIX}{tag}-{uuid.uuid4().hex[:12]}"
        self.lock_path = store.root / f"{name}.lock"
        # Lock first, then give the lock its visible name: cleanup never sees an unlocked live lock.
        pending = store.root / f".lockinit-{name}"
        self._lock_fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        pending.rename(self.lock_path)
        self.dir = store.root / name
        self.dir.mkdir()
        self.tables: dict[str, TableEntry] = {}
        # (table, check) pairs the rows' strictly increasing key order already proved: see keyorder.py
        self.proven: set[tuple[str, str]] = set()
        self.raw: list[FileEntry] = []
        self._closed = False

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._closed:
            self.abort()

    def write_table(self, table: Table, data: pa.Table | Iterable[pa.RecordBatch]) -> TableEntry:
        """Write a table's rows (already sorted by key) as one or more Parquet parts."""
        schema = arrow_schema(table)
        folder = self.dir / "tables" / table.name
        folder.mkdir(parents=True, exist_ok=False)
        stats = TableStats(schema)
        orders = key_orders(table)
        parts = _PartWriter(self.dir, folder, schema)
        try:
            with self.progress.task(f"write {table.name}") as task:
                conformed = (conform(table, b) for b in _as_batches(data))
                for group in rechunk(conformed, ROW_GROUP_ROWS, ROW_GROUP_BYTES):
                    group = group.cast(schema)
                    parts.write(group)  # compressed and written on the writer thread meanwhile
                    stats.update(group)
                    for order in orders:
                        order.update(group)
                    task.advance(group.num_rows)
                files = parts.finish()
        finally:
            parts.close()
        entry = TableEntry(
            name=table.name,
            rows=sum(p.rows or 0 for p in files),
            parts=tuple(files),
            schema=tuple(ColumnEntry(c.name, c.type.sql, c.nullable) for c in table.columns),
            primary_key=table.primary_key,
            diff_key=tuple(str(p) for p in table.diff_key),
            stats=stats.to_json(),
        )
        self.tables[table.name] = entry
        self.proven |= {(table.name, o.check) for o in orders if o.proven}
        return entry

    def write_raw(self, relpath: str, data: bytes) -> FileEntry:
        """Keep a collected response under ``raw/`` (the caller scrubs secrets and compresses)."""
        path = self.dir / "raw" / relpath
        if ".." in Path(relpath).parts or Path(relpath).is_absolute():
            raise ValueError(f"raw path {relpath!r} leaves the snapshot")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entry = FileEntry(path.relative_to(self.dir).as_posix(), len(data), sha256_bytes(data))
        self.raw.append(entry)
        return entry

    def publish(
        self,
        *,
        inputs: dict[str, Any],
        libraries: dict[str, str],
        omc_data_version: str,
        sources: dict[str, dict[str, Any]] | None = None,
        validation: dict[str, Any] | None = None,
        parent: str | None = None,
        kind: str = "build",
        created_at: dt.datetime | None = None,
    ) -> Manifest:
        """Write the manifest last, fsync everything, and rename the snapshot into place."""
        order = catalog.load_order(self.tables)
        tables = {name: self.tables[name] for name in order}
        manifest = Manifest(
            format_version=required_version(tables),
            tag=self.tag,
            kind=kind,
            created_at=created_at or dt.datetime.now(dt.timezone.utc),
            parent=parent,
            omc_data_version=omc_data_version,
            libraries=libraries,
            catalog_fingerprint=catalog.fingerprint(),
            inputs=inputs,
            sources=sources or {},
            tables=tables,
            raw=tuple(sorted(self.raw, key=lambda f: f.path)),
            validation=validation or {},
        )
        text = manifest.dumps().encode("utf-8")
        for entry in manifest.files().values():
            _fsync_file(self.dir / entry.path)
        (self.dir / MANIFEST_NAME).write_bytes(text)
        (self.dir / SIDECAR_NAME).write_text(sidecar_line(sha256_bytes(text), MANIFEST_NAME))
        for path in (self.dir / MANIFEST_NAME, self.dir / SIDECAR_NAME):
            _fsync_file(path)
        for folder in sorted({p.parent for p in self.dir.rglob("*")}):
            _fsync_dir(folder)
        target = self.store.root / self.tag
        try:
            rename_noreplace(self.dir, target)
        except (FileExistsError, OSError) as exc:
            if target.exists():
                self.abort()
                raise SnapshotExistsError(self.tag, self.store.root) from exc
            raise
        _fsync_dir(self.store.root)
        self._release()
        return manifest

    def abort(self) -> None:
        """Throw the work away (idempotent)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)
