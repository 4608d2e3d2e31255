"""The store: a directory of immutable, tagged snapshots.

    <store>/<tag>/manifest.json                 written last; the snapshot exists once it is renamed in
    <store>/<tag>/manifest.json.sha256
    <store>/<tag>/tables/<table>/part-NNNNN.parquet
    <store>/<tag>/raw/<source>/...
    <store>/.tmp-<tag>-<id>/ and .tmp-<tag>-<id>.lock   a build in progress (the lock is held while alive)
    <store>/.trash-<tag>-<id>/                  a snapshot being removed

Names starting with a dot never match the tag grammar, so work in progress is never listed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from omc_data.errors import (
    IntegrityError,
    InvalidTagError,
    ManifestError,
    SnapshotError,
    SnapshotNotFoundError,
    StoreError,
    UnsafeFileError,
    UsageError,
)
from omc_data.snapshots import files
from omc_data.snapshots.checksum import parse_sidecar, sha256_bytes
from omc_data.snapshots.manifest import MANIFEST_NAME, SIDECAR_NAME, Manifest, parse_manifest

log = logging.getLogger(__name__)

TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"
CONTENT_DIRS = ("tables", "raw")
# Captures that ``load --backup`` takes before it replaces tables: pre-load-YYYYMMDDTHHMMSSZ[-N].
BACKUP_PREFIX = "pre-load-"
BACKUP_TAG = re.compile(re.escape(BACKUP_PREFIX) + r"[0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?")


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it matches the tag grammar, else raise InvalidTagError (exit code 2)."""
    if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
        raise InvalidTagError(str(tag))
    return tag


@dataclass(frozen=True)
class Listing:
    """One entry of ``Store.snapshots()``: a readable snapshot, or the reason it is not."""

    tag: str
    path: Path
    manifest: Manifest | None
    error: str | None = None


@dataclass(frozen=True)
class Pruned:
    """What ``Store.prune_backups`` removed (or, in a dry run, would remove) and what it kept."""

    removed: list[Listing]  # oldest first
    kept: list[Listing]  # the newest backups, oldest first
    unreadable: list[Listing]  # backup-named snapshots whose manifest cannot be read: never touched


class Snapshot:
    """A published snapshot whose manifest passed its own checksum and parsed."""

    def __init__(self, path: Path, manifest: Manifest) -> None:
        self.path = path
        self.manifest = manifest

    @property
    def tag(self) -> str:
        return self.manifest.tag

    def part_paths(self, table: str) -> list[Path]:
        """The table's part files, each checked to be a regular file inside the snapshot (UnsafeFileError)."""
        entry = self.manifest.tables[table]
        return [self.file(p.path) for p in entry.parts]

    def file(self, rel: str) -> Path:
        """``rel`` under the snapshot if a regular file reached through no link, else UnsafeFileError.

        Every reader of snapshot files goes through here, ``read_bytes`` or ``problems``.
        """
        return files.checked(self.path, rel, tag=self.tag)

    def read_bytes(self, rel: str) -> bytes:
        return files.read_bytes(self.path, rel, tag=self.tag)

    def problems(self) -> list[str]:
        """Every disagreement between the files and the manifest (empty when the snapshot is intact).

        Each file must be a regular file inside the snapshot with the recorded size and checksum; each
        table part's Parquet footer must hold the recorded row count and column names and types.
        """
        expected = self.manifest.files()
        parts = {p.path: t for t in self.manifest.tables.values() for p in t.parts}
        problems: list[str] = []
        for rel, entry in sorted(expected.items()):
            reason = files.unsafe_reason(self.path, rel)
            if reason == "missing":
                problems.append(f"missing file {rel}")
                continue
            if reason is not None:
                problems.append(f"{rel} is {reason}; only regular files inside the snapshot are read")
                continue
            try:
                size = (self.path / rel).lstat().st_size
                if size != entry.bytes:
                    problems.append(f"size mismatch in {rel} ({size} bytes, manifest says {entry.bytes})")
                    continue
                if files.sha256(self.path, rel, tag=self.tag)[1] != entry.sha256:
                    problems.append(f"checksum mismatch in {rel}")
                    continue
                if rel in parts:
                    table = parts[rel]
                    problems.extend(
                        files.footer_problems(
                            self.path, rel, tag=self.tag, rows=entry.rows, schema=table.schema
                        )
                    )
            except UnsafeFileError as exc:
                problems.append(f"{rel} is {exc.reason}; only regular files inside the snapshot are read")
        for rel in sorted(self._content_files()):
            if rel not in expected:
                problems.append(f"extra file {rel}")
        return problems

    def verify(self) -> None:
        """Recompute every checksum; IntegrityError naming the first problem and counting the rest."""
        problems = self.problems()
        if problems:
            raise IntegrityError(self.tag, problems)

    def _content_files(self) -> Iterator[str]:
        for top in CONTENT_DIRS:
            base = self.path / top
            if not base.exists():
                continue
            for path in base.rglob("*"):
                if path.is_file() or path.is_symlink():
                    yield path.relative_to(self.path).as_posix()


class Store:
    """Snapshots under one root directory (which need not exist until the first build)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, tag: str) -> Path:
        return self.root / validate_tag(tag)

    def check_root(self) -> bool:
        """True if the store's directory exists, False if not yet; StoreError if it is anything else."""
        if self.root.is_dir():
            return True
        if not os.path.lexists(self.root):
            return False
        raise StoreError(
            f"store {self.root} is not a directory",
            path=self.root,
            hint="pass --store (or set OMC_DATA_STORE to) a directory; nothing was read or changed",
        )

    @contextlib.contextmanager
    def writing(self, doing: str) -> Iterator[None]:
        """Turn a full disk or a read-only store met while ``doing`` into a StoreError saying so.

        Whatever was half-written has been removed by the writer by then: nothing was published.
        """
        self.check_root()
        try:
            yield
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreError(
                    f"no space left in store {self.root} while {doing}",
                    path=self.root,
                    hint="nothing was published and the store is as it was: free some space (omc-data "
                    "rm, prune) or pass --store on a bigger disk, then retry",
                ) from exc
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                where = exc.filename if isinstance(exc.filename, str) else self.root
                raise StoreError(
                    f"store {self.root} is not writable while {doing} ({exc.strerror}: {where})",
                    path=self.root,
                    hint="nothing was published and the store is as it was: make it writable, or pass "
                    "--store elsewhere",
                ) from exc
            raise

    def exists(self, tag: str) -> bool:
        return self.path(tag).is_dir()

    def tags(self) -> list[str]:
        if not self.check_root():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and TAG_PATTERN.fullmatch(p.name))

    def snapshots(self) -> list[Listing]:
        """Every published snapshot, oldest first; unreadable ones are listed with their error."""
        out: list[Listing] = []
        for tag in self.tags():
            try:
                snap = self.open(tag)
            except SnapshotError as exc:
                out.append(Listing(tag, self.root / tag, None, str(exc)))
            else:
                out.append(Listing(tag, snap.path, snap.manifest))
        return sorted(out, key=lambda e: (e.manifest.created_at.isoformat() if e.manifest else "", e.tag))

    def open(self, tag: str) -> Snapshot:
        """Open a snapshot: its manifest must match its own checksum and parse as format_version 1."""
        path = self.path(tag)
        manifest_path = path / MANIFEST_NAME
        self.check_root()
        if not path.is_dir():
            raise SnapshotNotFoundError(tag, self.root)
        if path.is_symlink():
            raise UnsafeFileError(tag, "its folder", "a symbolic link to another folder")
        if files.unsafe_reason(path, MANIFEST_NAME) == "missing":
            raise ManifestError(f"snapshot {tag!r} has no {MANIFEST_NAME}", tag=tag, path=manifest_path)
        raw = files.read_bytes(path, MANIFEST_NAME, tag=tag)
        if files.unsafe_reason(path, SIDECAR_NAME) == "missing":
            raise ManifestError(f"snapshot {tag!r} has no {SIDECAR_NAME}", tag=tag, path=path)
        try:
            recorded = parse_sidecar(files.read_bytes(path, SIDECAR_NAME, tag=tag).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ManifestError(f"{SIDECAR_NAME} of {tag!r} is malformed", tag=tag, path=path) from exc
        if sha256_bytes(raw) != recorded:
            raise ManifestError(
                f"manifest of {tag!r} fails its own checksum ({SIDECAR_NAME})", tag=tag, path=manifest_path
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"manifest of {tag!r} is not UTF-8", tag=tag, path=manifest_path) from exc
        return Snapshot(path, parse_manifest(text, tag=tag, path=manifest_path))

    def remove(self, tag: str) -> Path:
        """Remove a snapshot: renamed out of sight first, so it vanishes from listings atomically."""
        path = self.path(tag)
        if not path.is_dir():
            raise SnapshotNotFoundError(tag, self.root)
        trash = self.root / f"{TRASH_PREFIX}{tag}-{uuid.uuid4().hex[:8]}"
        path.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
        return path

    def prune_backups(self, keep: int, *, dry_run: bool = False) -> Pruned:
        """Remove all but the newest ``keep`` backups (captures tagged ``pre-load-...``), by manifest time.

        Only captures whose tag has the exact backup form count: a build or a hand-made tag is never
        pruned, and neither is a snapshot whose manifest cannot be read (its age is unknown).
        """
        if keep < 0:
            raise UsageError(f"keep must be 0 or more, not {keep}")
        backups, unreadable = [], []
        for entry in self.snapshots():  # oldest first
            if not BACKUP_TAG.fullmatch(entry.tag):
                continue
            if entry.manifest is None:
                unreadable.append(entry)
            elif entry.manifest.kind == "capture":
                backups.append(entry)
        cut = max(len(backups) - keep, 0)
        removed, kept = backups[:cut], backups[cut:]
        if not dry_run:
            for entry in removed:
                self.remove(entry.tag)
                log.info("pruned backup %s", entry.tag)
        return Pruned(removed, kept, unreadable)

    def cleanup(self) -> list[Path]:
        """Delete what dead builds and interrupted removals left behind; live builds are untouched."""
        if not self.root.is_dir():
            return []
        removed: list[Path] = []
        for entry in sorted(self.root.iterdir()):
            name = entry.name
            if name.startswith(TRASH_PREFIX) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            elif name.startswith(TMP_PREFIX) and entry.is_dir():
                lock = entry.with_name(name + ".lock")
                if not lock.exists() or _lock_is_free(lock):
                    shutil.rmtree(entry, ignore_errors=True)
                    lock.unlink(missing_ok=True)
                    removed.append(entry)
            elif (
                name.startswith(TMP_PREFIX)
                and name.endswith(".lock")
                and not entry.with_name(name.removesuffix(".lock")).exists()
                and _lock_is_free(entry)
            ):
                entry.unlink(missing_ok=True)
        for path in removed:
            log.info("removed leftover %s", path)
        return removed


def _lock_is_free(lock: Path) -> bool:
    """True if no live process holds ``lock`` (its builder died)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)
