"""The store's collection of real responses, filed by ``omc-data collect`` (say from cron every 5 minutes).

    <store>/.collected/<source>/<YYYY-MM-DD>/<YYYYMMDDTHHMMSSffffffZ>-<8 hex>.json.gz

Each file is one response envelope (:mod:`raw`), written to a hidden temporary name, fsynced and renamed
into place: a reader never sees half a file, and runs of ``collect`` can overlap each other and builds.
Decisions that need one writer at a time (is DeFiLlama due today? which CryptoPanic posts are new?) are
taken under an flock per source. The name carries the fetch time, so listing never opens a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omc_data.builder.fetch.raw import RawResponse

log = logging.getLogger(__name__)

COLLECTED_DIR = ".collected"
STATE_NAME = "state.json"
_STAMP = "%Y%m%dT%H%M%S%fZ"


def _stamp_of(path: Path) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(path.name.split("-", 1)[0], _STAMP).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


@dataclass
class PruneReport:
    files: list[Path] = field(default_factory=list)
    bytes: int = 0
    kept_files: int = 0
    kept_bytes: int = 0


class Collection:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of_store(cls, store_root: Path) -> Collection:
        return cls(store_root / COLLECTED_DIR)

    def add(self, response: RawResponse) -> Path:
        """File one response atomically; its name sorts by fetch time."""
        utc = response.fetched_at.astimezone(dt.timezone.utc)
        folder = self.root / response.source / utc.date().isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{utc.strftime(_STAMP)}-{uuid.uuid4().hex[:8]}.json.gz"
        tmp = folder / f".tmp-{path.name}"
        data = response.to_file()
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        return path

    def files(
        self, source: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[tuple[dt.datetime, Path]]:
        """The files of ``source`` with their fetch times, oldest first, optionally in [since, until)."""
        folder = self.root / source
        if not folder.is_dir():
            return []
        out = []
        for path in folder.glob("*/*.json.gz"):
            if path.name.startswith("."):
                continue
            stamp = _stamp_of(path)
            if (
                stamp is None
                or (since is not None and stamp < since)
                or (until is not None and stamp >= until)
            ):
                continue
            out.append((stamp, path))
        return sorted(out)

    def responses(
        self, source: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> tuple[list[RawResponse], list[str]]:
        """The responses of ``source`` (oldest first) and a note per file that could not be read.

        A file pruned between listing and reading is simply gone; a corrupt one is reported, never fatal.
        """
        out, problems = [], []
        for _, path in self.files(source, since=since, until=until):
            try:
                out.append(RawResponse.from_file(path.read_bytes()))
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                problems.append(f"{path.relative_to(self.root)}: {exc}")
        return out, problems

    def latest(self, source: str) -> dt.datetime | None:
        files = self.files(source)
        return files[-1][0] if files else None

    def has_day(self, source: str, day: dt.date) -> bool:
        folder = self.root / source / day.isoformat()
        return folder.is_dir() and any(not p.name.startswith(".") for p in folder.glob("*.json.gz"))

    @contextlib.contextmanager
    def locked(self, source: str) -> Iterator[bool]:
        """An exclusive flock on ``source``'s decisions; yields False when another run holds it."""
        folder = self.root / source
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def state(self, source: str) -> dict[str, object]:
        try:
            doc = json.loads((self.root / source / STATE_NAME).read_text())
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def set_state(self, source: str, state: dict[str, object]) -> None:
        folder = self.root / source
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".tmp-{uuid.uuid4().hex[:8]}-{STATE_NAME}"
        tmp.write_text(json.dumps(state, sort_keys=True) + "\n")
        tmp.replace(folder / STATE_NAME)

    def prune(
        self,
        sources: Sequence[str],
        *,
        now: dt.datetime,
        keep_days: int | None = None,
        max_bytes: int | None = None,
        dry_run: bool = False,
    ) -> PruneReport:
        """Remove ``sources``' files older than ``keep_days`` days, then the oldest until at most
        ``max_bytes`` remain.

        Each source keeps its newest file whatever the limits, so CryptoPanic's "newer than held" and
        DeFiLlama's "at most daily" never forget the present.
        """
        report = PruneReport()
        entries = [(stamp, s, p, _size(p)) for s in sources for stamp, p in self.files(s)]
        newest = {s: max((st for st, src, _, _ in entries if src == s), default=None) for s in sources}
        doomed: set[Path] = set()
        if keep_days is not None:
            cutoff = now - dt.timedelta(days=keep_days)
            doomed |= {p for st, s, p, _ in entries if st < cutoff and st != newest[s]}
        if max_bytes is not None:
            held = sum(n for _, _, p, n in entries if p not in doomed)
            for st, s, p, n in sorted(entries):
                if held <= max_bytes:
                    break
                if p in doomed or st == newest[s]:
                    continue
                doomed.add(p)
                held -= n
        for _, _, p, n in sorted(entries):
            if p in doomed:
                report.files.append(p)
                report.bytes += n
                if not dry_run:
                    p.unlink(missing_ok=True)
                    with contextlib.suppress(OSError):
                        p.parent.rmdir()  # an emptied day folder
            else:
                report.kept_files += 1
                report.kept_bytes += n
        return report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
