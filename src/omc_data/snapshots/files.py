"""The one door through which snapshot files are read: regular files inside the snapshot directory only.

A snapshot is trusted because its manifest vouches for its files. A symbolic link (even to a file with
the right checksum) would make a load read data from outside the store, a FIFO would make a reader wait
forever and a device could be anything: each is refused by name before it is opened. Every path
component below the snapshot directory is checked with ``lstat`` (a ``tables`` folder that is a link
is refused too), and files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked again with
``fstat``, so a file swapped for a FIFO between the check and the open is still refused, never waited on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from omc_data.catalog import parse_type
from omc_data.errors import UnsafeFileError
from omc_data.snapshots.arrowschema import arrow_type
from omc_data.snapshots.manifest import ColumnEntry

_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


def kind_of(mode: int) -> str:
    """What a file is, in words, for messages."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def unsafe_reason(base: Path, rel: str) -> str | None:
    """Why ``base/rel`` may not be read (a link, a FIFO, a device, a missing file...), or None if it may."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        return "outside the snapshot directory"
    here = base
    for i, part in enumerate(parts):
        here = here / part
        try:
            mode = here.lstat().st_mode
        except FileNotFoundError:
            return "missing"
        except NotADirectoryError:
            return "missing (a parent folder is a file)"
        last = i == len(parts) - 1
        if last and not stat.S_ISREG(mode):
            return kind_of(mode)
        if not last and not stat.S_ISDIR(mode):
            where = "/".join(parts[: i + 1])
            return f"inside {where}, which is {kind_of(mode)}"
    return None


def checked(base: Path, rel: str, *, tag: str) -> Path:
    """``base/rel`` if it is a regular file with no link on the way; UnsafeFileError naming it if not."""
    reason = unsafe_reason(base, rel)
    if reason is not None:
        raise UnsafeFileError(tag, rel, reason)
    return base / rel


def open_fd(base: Path, rel: str, *, tag: str) -> int:
    """A read-only descriptor of the regular file ``base/rel`` (the caller closes it)."""
    path = checked(base, rel, tag=tag)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (getattr(os, "ELOOP", -1), getattr(os, "ENXIO", -1)):
            raise UnsafeFileError(tag, rel, "replaced by a link or a special file while it was read") from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnsafeFileError(tag, rel, kind_of(mode))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(base: Path, rel: str, *, tag: str) -> bytes:
    with os.fdopen(open_fd(base, rel, tag=tag), "rb") as fh:
        return fh.read()


def sha256(base: Path, rel: str, *, tag: str) -> tuple[int, str]:
    """Size and SHA-256 of a snapshot file, both read from the one descriptor."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with os.fdopen(open_fd(base, rel, tag=tag), "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def footer_problems(
    base: Path, rel: str, *, tag: str, rows: int | None, schema: Sequence[ColumnEntry]
) -> list[str]:
    """Disagreements between a part's Parquet footer (rows, column names and types) and its manifest entry.

    Reads the footer only: a few KB whatever the part's size.
    """
    with os.fdopen(open_fd(base, rel, tag=tag), "rb") as fh:
        try:
            pf = pq.ParquetFile(fh)
            found_rows = pf.metadata.num_rows
            found = pf.schema_arrow
        except (pa.ArrowException, OSError, ValueError) as exc:
            return [f"{rel} is not a readable Parquet file ({type(exc).__name__})"]
    problems = []
    if rows is not None and found_rows != rows:
        problems.append(
            f"row count mismatch in {rel} ({found_rows:,} rows in the file, manifest says {rows:,})"
        )
    expected_names = [c.name for c in schema]
    if list(found.names) != expected_names:
        problems.append(
            f"column mismatch in {rel} (file has {', '.join(found.names) or 'none'}; "
            f"manifest says {', '.join(expected_names)})"
        )
        return problems
    for column in schema:
        try:
            want = arrow_type(parse_type(column.type))
        except ValueError:
            problems.append(
                f"column {column.name} of {rel} has an unknown type {column.type!r} in the manifest"
            )
            continue
        got = found.field(column.name).type
        if got != want:
            problems.append(
                f"type mismatch in {rel}: column {column.name} is {got} in the file, "
                f"manifest says {column.type}"
            )
    return problems
