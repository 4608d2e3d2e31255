"""The exceptions omc-data raises, one tree with a branch per domain.

Every error message names the object it is about and the way out. Structured attributes (tag, table,
path, source, ...) let callers react without parsing text; ``exit_code`` is what the CLI exits with.
``kind`` names the error in JSON documents and ``fields()`` gives its structured attributes there.

Messages name the library's parameters (``as_of``, ``cascade=True``), never command-line flags: the
CLI maps them to its flags when it prints an error (``cli/output.py``). Fields never hold SQL text,
row values or secrets.

    OmcDataError                      exit 1 unless said otherwise
    ├── UsageError                    exit 2: the caller asked for something malformed
    │   └── InvalidTagError           a tag outside [A-Za-z0-9][A-Za-z0-9._-]{0,63}
    ├── SnapshotError                 anything about a snapshot in the store
    │   ├── SnapshotNotFoundError     no such tag
    │   ├── SnapshotExistsError       tags are immutable
    │   ├── ManifestError             manifest unreadable, unknown format, missing fields
    │   └── IntegrityError            a checksum mismatch, a missing or an extra file
    ├── BuildError                    a build could not produce a snapshot
    │   └── ValidationError           generated rows broke a domain rule
    ├── DatabaseError                 anything about the target PostgreSQL
    │   ├── ConnectionFailedError     cannot reach or log in to the server
    │   ├── SchemaMismatchError       the target schema cannot take the snapshot
    │   ├── ReferencingRowsError      kind referencing_rows: app rows point at rows that would go
    │   ├── UncountableReferencesError  kind uncountable_references: cascade cannot count a chain
    │   ├── LockHeldError             kind lock_held: another omc-data load or clear holds the lock
    │   ├── LockTimeoutError          kind lock_timeout: other sessions held the tables' locks too long
    │   └── LocalServerError          the local throwaway cluster cannot start or stop
    └── CollectorError                a public API failed (retryable or terminal)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

_NOT_FIELDS = frozenset({"message", "hint", "details", "exit_code"})


def _plain(value: Any) -> Any:
    """A field value as JSON can hold it: paths as text, tuples as lists, dataclass-like via to_json."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    return value


class OmcDataError(Exception):
    """Root of every error omc-data raises on purpose."""

    exit_code: int = 1
    KIND: ClassVar[str | None] = None  # a kind of its own; else derived from the class name

    def __init__(self, message: str, *, hint: str | None = None, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details or [])  # one line per item the message counts (blockers, rows...)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    @property
    def kind(self) -> str:
        """A stable snake_case name for JSON error documents."""
        if self.KIND is not None:
            return self.KIND
        name = type(self).__name__
        out = [name[0].lower()]
        for ch in name[1:]:
            if ch.isupper():
                out.append("_")
            out.append(ch.lower())
        return "".join(out)

    def fields(self) -> dict[str, Any]:
        """The structured attributes (tag, table, store, ...) by name, as JSON values."""
        return {k: _plain(v) for k, v in vars(self).items() if not k.startswith("_") and k not in _NOT_FIELDS}


class UsageError(OmcDataError):
    """The caller asked for something malformed: nothing was done."""

    exit_code = 2


class InvalidTagError(UsageError):
    def __init__(self, tag: str) -> None:
        shown = repr(tag) if tag else "an empty tag"
        super().__init__(
            f"invalid tag {shown}",
            hint="a tag is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
        self.tag = tag


class SnapshotError(OmcDataError):
    def __init__(self, message: str, *, tag: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.tag = tag


class SnapshotNotFoundError(SnapshotError):
    def __init__(self, tag: str, store: Path) -> None:
        super().__init__(
            f"no snapshot {tag!r} in store {store}",
            tag=tag,
            hint="run 'omc-data list' to see the tags, or pass store=PATH",
        )
        self.store = store


class SnapshotExistsError(SnapshotError):
    def __init__(self, tag: str, store: Path) -> None:
        super().__init__(
            f"snapshot {tag!r} already exists in {store}",
            tag=tag,
            hint="tags are immutable: pick a new tag, or 'omc-data rm' the old one first",
        )
        self.store = store


class ManifestError(SnapshotError):
    def __init__(self, message: str, *, tag: str | None = None, path: Path | None = None) -> None:
        super().__init__(
            message,
            tag=tag,
            hint="nothing was changed; the snapshot is damaged: rebuild it, or remove it with 'omc-data rm'",
        )
        self.path = path


class IntegrityError(SnapshotError):
    """Files of a snapshot disagree with its manifest."""

    def __init__(self, tag: str, problems: list[str]) -> None:
        first = problems[0] if problems else "unknown problem"
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        super().__init__(
            f"snapshot {tag!r} failed verification: {first}{more}",
            tag=tag,
            hint="nothing was changed; the snapshot was altered after it was built: rebuild it, or remove it "
            "with 'omc-data rm'",
        )
        self.problems = problems


class BuildError(OmcDataError):
    pass


class ValidationError(BuildError):
    """Generated rows broke a blocking domain rule: a bug, and nothing is published."""

    def __init__(self, message: str, *, failures: list[str] | None = None) -> None:
        super().__init__(message, hint="this is a bug in omc-data's generators: please report it")
        self.failures = failures or []


class DatabaseError(OmcDataError):
    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        table: str | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.table = table


class ConnectionFailedError(DatabaseError):
    pass


class SchemaMismatchError(DatabaseError):
    pass


class ReferencingRowsError(DatabaseError):
    """Rows outside the replaced (or cleared) tables reference rows that would go, and no cascade.

    ``tables``: rows by referencing table; ``referencing``: one entry per foreign key (table,
    constraint, references, on_delete, rows, depth).
    """

    KIND = "referencing_rows"

    def __init__(
        self,
        message: str,
        *,
        hint: str,
        tables: dict[str, int],
        referencing: list[dict[str, Any]],
        details: list[str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.tables = tables
        self.rows = sum(tables.values())
        self.referencing = referencing


class UncountableReferencesError(DatabaseError):
    """``cascade=True`` cannot say exactly which rows it would delete (``chains``, one line each)."""

    KIND = "uncountable_references"

    def __init__(self, message: str, *, hint: str, chains: list[str]) -> None:
        super().__init__(message, hint=hint, details=chains)
        self.chains = chains


class LockHeldError(DatabaseError):
    """Another omc-data load or clear holds the database's advisory lock (``holders``, by session)."""

    KIND = "lock_held"

    def __init__(self, message: str, *, hint: str, holders: list[dict[str, Any]]) -> None:
        super().__init__(message, hint=hint)
        self.holders = holders


class LockTimeoutError(DatabaseError):
    """Other sessions held locks on the tables longer than ``lock_timeout`` (``blocking``, by session)."""

    KIND = "lock_timeout"

    def __init__(self, message: str, *, hint: str, blocking: list[dict[str, Any]], tables: list[str]) -> None:
        super().__init__(message, hint=hint)
        self.blocking = blocking
        self.tables = tables


class LocalServerError(DatabaseError):
    pass


class CollectorError(OmcDataError):
    def __init__(self, message: str, *, source: str, retryable: bool, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.source = source
        self.retryable = retryable


# --- trust (issue 14): files outside the store, ordinary failures, bounded inputs --------------------


class UnsafeFileError(SnapshotError):
    """A snapshot file that is not a regular file inside the snapshot directory (a link, FIFO, device)."""

    def __init__(self, tag: str, rel: str, reason: str) -> None:
        super().__init__(
            f"snapshot {tag!r}: {rel} is {reason}; only regular files inside the snapshot are read",
            tag=tag,
            hint="nothing was read or changed: rebuild the snapshot, or remove it with 'omc-data rm'",
        )
        self.path = rel
        self.reason = reason


class StoreError(OmcDataError):
    """The store directory cannot be used as asked (not a directory, read-only, full, unreadable)."""

    def __init__(self, message: str, *, path: Path, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class RawResponseError(SnapshotError):
    """A recorded raw response cannot be replayed (not gzip, damaged, or inflating beyond the bound)."""

    def __init__(self, message: str, *, tag: str, path: str) -> None:
        super().__init__(
            message,
            tag=tag,
            hint="nothing was built: replay another snapshot, or build without --replay",
        )
        self.path = path


class LimitError(UsageError):
    """A count or size beyond what omc-data can build or read in reasonable memory and time."""

    def __init__(self, option: str, value: object, limit: object, why: str) -> None:
        super().__init__(f"{option} {value} is over the limit of {limit}", hint=f"{why}; nothing was done")
        self.option = option
        self.limit = limit


class ConnectionLostError(DatabaseError):
    """The server went away in the middle of a command (restarted, crashed, network cut)."""
