"""Damaged snapshots and a store comparison, shared by the trust tests of the snapshots and the loaders."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from omc_data.snapshots.checksum import sha256_bytes
from snaptools import read_manifest_doc, write_manifest

USER_PART = "tables/user/part-00000.parquet"
PRICE_PART = "tables/price_data_5min/part-00000.parquet"


def store_state(root: Path) -> dict[str, Any]:
    """Every entry under ``root``: a regular file by digest, anything else by kind and link target."""
    out: dict[str, Any] = {}
    if not os.path.lexists(root):
        return {"": "absent"}
    st = root.lstat()
    if not stat.S_ISDIR(st.st_mode):
        return {"": ("file", hashlib.sha256(root.read_bytes()).hexdigest(), st.st_mtime_ns)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            st = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISREG(st.st_mode):
                out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            else:
                out[rel] = (stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return out


def _update_part(snapshot: Path, rel: str, **changes: Any) -> None:
    """Rewrite the manifest so its entry for ``rel`` matches the file now there (checksum and size)."""
    doc = read_manifest_doc(snapshot)
    data = (snapshot / rel).read_bytes()
    for entry in doc["tables"].values():
        for part in entry["parts"]:
            if part["path"] == rel:
                part.update(bytes=len(data), sha256=sha256_bytes(data), **changes)
    write_manifest(snapshot, doc)


def symlink_outside(s: Path, tmp: Path) -> str:
    outside = tmp / "elsewhere.parquet"
    shutil.copy(s / USER_PART, outside)  # the very same bytes: the checksum matches
    (s / USER_PART).unlink()
    (s / USER_PART).symlink_to(outside)
    return USER_PART


def fifo_part(s: Path, tmp: Path) -> str:
    (s / USER_PART).unlink()
    os.mkfifo(s / USER_PART)
    return USER_PART


def device_part(s: Path, tmp: Path) -> str:
    (s / USER_PART).unlink()
    try:
        os.mknod(s / USER_PART, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
    except PermissionError:
        pytest.skip("making a device node needs root")
    return USER_PART


def linked_tables_folder(s: Path, tmp: Path) -> str:
    shutil.move(s / "tables" / "user", tmp / "user")
    (s / "tables" / "user").symlink_to(tmp / "user")
    return "tables/user"


def half_the_rows(s: Path, tmp: Path) -> str:
    """The attacker's edit: half the rows, checksum and size updated, row count left as it was."""
    table = pq.read_table(s / PRICE_PART)
    pq.write_table(table.slice(0, table.num_rows // 2), s / PRICE_PART)
    _update_part(s, PRICE_PART)
    return f"row count mismatch in {PRICE_PART} ({table.num_rows // 2:,} rows in the file, manifest says"


def numeric_to_integer(s: Path, tmp: Path) -> str:
    doc = read_manifest_doc(s)
    for column in doc["tables"]["price_data_5min"]["schema"]:
        if column["name"] == "bid":
            column["type"] = "integer"
    doc["tables"]["price_data_5min"]["stats"]["bid"].update(min=1, max=2)
    write_manifest(s, doc)
    return "column bid is decimal128(20, 8) in the file, manifest says integer"


def nested_manifest(s: Path, tmp: Path) -> str:
    write_manifest(s, b"[" * 100_000 + b"]" * 100_000)
    return "nested too deeply"


def stat_of_wrong_type(s: Path, tmp: Path) -> str:
    doc = read_manifest_doc(s)
    doc["tables"]["price_data_5min"]["stats"]["coin_type"]["max_length"] = "long"
    write_manifest(s, doc)
    return "max_length is 'long', not a whole number"
