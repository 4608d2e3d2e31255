"""The Python API: everything the CLI does, with explicit arguments and no environment reads.

import omc_data

omc_data.build_snapshot("v12", store="snapshots", seed=7, as_of="2026-11-01T00:00:00Z")
omc_data.load_snapshot("v12", store="snapshots", db="postgresql://omc@127.0.0.1:5432/omc")
report = omc_data.diff_snapshots("v11", "v12", store="snapshots")
print(report.summary())
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omc_data import defaults
from omc_data.errors import UsageError
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.store import Listing, Snapshot, Store, validate_tag
from omc_data.snapshots.timefmt import parse_timestamp

if TYPE_CHECKING:  # the heavy parts are imported by the functions that need them
    from omc_data.loaders.capture import CaptureResult
    from omc_data.loaders.postgres import LoadResult
    from omc_data.snapshots.diff import SnapshotDiff
    from omc_data.snapshots.manifest import Manifest
    from omc_data.snapshots.validate import Report

StoreLike = Store | Path | str
DEFAULT_STORE = Path("snapshots")
DEFAULT_SEED = defaults.SEED


def open_store(store: StoreLike = DEFAULT_STORE) -> Store:
    return store if isinstance(store, Store) else Store(Path(store))


def parse_as_of(value: dt.datetime | str | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """An explicit instant (aware datetime or RFC 3339 text), else the current time; floored to 5 min."""
    from omc_data.builder.generators.spec import floor_tick

    if value is None:
        return floor_tick(now or dt.datetime.now(dt.UTC))
    if isinstance(value, str):
        try:
            value = parse_timestamp(value)
        except ValueError as exc:
            raise UsageError(
                f"invalid --as-of {value!r}", hint="write an RFC 3339 instant, e.g. 2026-11-01T00:00:00Z"
            ) from exc
    if value.tzinfo is None:
        raise UsageError("as_of must carry a time zone", hint="e.g. 2026-11-01T00:00:00Z")
    return floor_tick(value)


def build_snapshot(
    tag: str,
    *,
    store: StoreLike = DEFAULT_STORE,
    seed: int = DEFAULT_SEED,
    as_of: dt.datetime | str | None = None,
    users: int = defaults.USERS,
    coins: int = defaults.COINS,
    days: int = defaults.DAYS,
    algorithms: int = defaults.ALGORITHMS,
    deployments: int = defaults.DEPLOYMENTS,
    agent_sessions: int = defaults.AGENT_SESSIONS,
    orders_per_user: int = defaults.ORDERS_PER_USER,
    news: int = defaults.NEWS,
    protocols: int = defaults.PROTOCOLS,
    superuser_email: str = defaults.SUPERUSER_EMAIL,
    password: str = defaults.PASSWORD,
    superuser_password: str | None = None,
    bcrypt_rounds: int = defaults.BCRYPT_ROUNDS,
    tables: Sequence[str] | None = None,
    parent: str | None = None,
    progress: Progress = NULL_PROGRESS,
) -> Manifest:
    """Generate a synthetic dataset and publish it as snapshot ``tag`` (atomic; tags are immutable)."""
    from omc_data.builder.build import BuildRequest, build
    from omc_data.builder.generators import GENERATORS
    from omc_data.builder.generators.spec import Spec

    validate_tag(tag)
    if parent is not None:
        validate_tag(parent)
    try:
        spec = Spec(
            seed=seed,
            as_of=parse_as_of(as_of),
            users=users,
            coins=coins,
            days=days,
            algorithms=algorithms,
            deployments=deployments,
            agent_sessions=agent_sessions,
            orders_per_user=orders_per_user,
            news=news,
            protocols=protocols,
            superuser_email=superuser_email,
            password=password,
            superuser_password=superuser_password,
            bcrypt_rounds=bcrypt_rounds,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    chosen = tuple(GENERATORS) if tables is None else tuple(tables)
    unknown = [t for t in chosen if t not in GENERATORS]
    if unknown:
        raise UsageError(f"no generator for table {unknown[0]!r}", hint=f"tables: {', '.join(GENERATORS)}")
    request = BuildRequest(tag=tag, spec=spec, tables=chosen, parent=parent)
    return build(open_store(store), request, progress=progress)


def load_snapshot(
    tag: str,
    *,
    db: str,
    store: StoreLike = DEFAULT_STORE,
    create_schema: bool = False,
    tables: Sequence[str] | None = None,
    cascade: bool = False,
    allow_column_loss: bool = False,
    dry_run: bool = False,
    backup: bool | None = False,
    wait: bool = False,
    lock_timeout: float = 10.0,
    origin: str = "argument",
    progress: Progress = NULL_PROGRESS,
    notice: Callable[[str], None] | None = None,
) -> LoadResult:
    """Replace the snapshot's tables in database ``db`` in one transaction (all or nothing).

    ``dry_run`` returns the plan (``result.plan``) and changes nothing. ``backup=True`` first captures
    the tables the load replaces into ``pre-load-<UTC time>`` (``result.backup``); ``None`` does so
    only when they hold rows that no stored snapshot has (``needs_backup``), which is the CLI's
    default; the API's default is no backup (a script decides).
    """
    from omc_data.loaders import capture, postgres
    from omc_data.loaders.target import Target

    the_store = open_store(store)
    snapshot = the_store.open(tag)
    target = Target(db, origin)
    say = notice or (lambda message: None)
    taken: list[str] = []

    def before_write(tables: Sequence[str]) -> None:
        """Runs with the plan settled and the lock held, before the first write."""
        if backup is False or create_schema:
            return
        if backup is None:
            reason = needs_backup(db, the_store, origin=origin)
            if reason is None:
                return
            say(f"backing up the current contents first: {reason}")
        name = capture.backup_tag(the_store, dt.datetime.now(dt.UTC))
        done = capture.capture(the_store, name, target, tables=tables, progress=progress)
        taken.append(done.tag)
        say(f"backup: {done.tag} ({done.rows:,} rows; 'omc-data load {done.tag}' puts them back)")

    result = postgres.load(
        snapshot,
        target,
        create_schema=create_schema,
        tables=tables,
        cascade=cascade,
        allow_column_loss=allow_column_loss,
        dry_run=dry_run,
        wait=wait,
        lock_timeout=lock_timeout,
        progress=progress,
        notice=say,
        before_write=before_write,
    )
    result.backup = taken[0] if taken else None
    return result


def needs_backup(db: str, store: StoreLike = DEFAULT_STORE, *, origin: str = "argument") -> str | None:
    """Why the database's dataset tables should be captured before a load replaces them, or None.

    None when they are empty, or unchanged since the load of a snapshot the store still holds
    (loading that snapshot again restores them); otherwise the reason.
    """
    from omc_data.loaders.records import database_status
    from omc_data.loaders.target import Target

    status = database_status(Target(db, origin))
    if not any(status["tables"].values()):
        return None
    last = status["last_load"]
    if status["state"] == "unchanged" and last and last["kind"] == "load":
        if open_store(store).exists(last["tag"]):
            return None
        return f"it holds snapshot {last['tag']!r}, which is no longer in the store"
    if status["state"] == "changed":
        changed = ", ".join(status["changed_tables"])
        return f"the tables changed since the load of {last['tag'] if last else '?'} ({changed})"
    return "no load by omc-data is recorded for its rows"


def database_status(
    db: str, *, origin: str = "argument", store: StoreLike = DEFAULT_STORE, deep: bool = False
) -> dict[str, Any]:
    """Which snapshot ``db`` holds and whether its dataset tables changed since (``state``).

    ``deep`` compares contents: the tables are captured into a scratch store and diffed with the
    loaded snapshot, row by row (``changed_rows`` per table). Without the snapshot, the state is
    ``unknown``.
    """
    from omc_data.loaders import capture, records
    from omc_data.loaders.target import Target
    from omc_data.snapshots import diff as diffing

    target = Target(db, origin)
    status = records.database_status(target)
    if not deep:
        return status
    status["deep"] = True
    last = status["last_load"]
    the_store = open_store(store)
    if not last or last["kind"] != "load" or not the_store.exists(last["tag"]):
        status["state"], status["changed_tables"] = "unknown", []
        return status
    loaded = the_store.open(last["tag"])
    tables = [t for t in loaded.manifest.tables if t in status["tables"]]
    with tempfile.TemporaryDirectory(prefix="omc-data-status-") as scratch:
        now = capture.capture(Store(Path(scratch)), "now", target, tables=tables).snapshot
        report = diffing.diff(loaded, now, tables=tables)
        changed = {name: t.to_json() for name, t in report.tables.items() if t.status != "unchanged"}
    status["state"] = "changed" if changed else "unchanged"
    status["changed_tables"] = list(changed)
    status["changed_rows"] = {
        name: {k: doc.get(k, 0) for k in ("added", "removed", "changed")} for name, doc in changed.items()
    }
    return status


def check_snapshot(
    tag: str,
    *,
    db: str,
    store: StoreLike = DEFAULT_STORE,
    tables: Sequence[str] | None = None,
    allow_column_loss: bool = False,
    origin: str = "argument",
) -> LoadResult:
    """What loading ``tag`` into ``db`` would do and what would stop it, read-only (``result.plan``)."""
    from omc_data.loaders import postgres
    from omc_data.loaders.target import Target

    snapshot = open_store(store).open(tag)
    return postgres.check(snapshot, Target(db, origin), tables=tables, allow_column_loss=allow_column_loss)


def capture_snapshot(
    tag: str,
    *,
    db: str,
    origin: str = "argument",
    store: StoreLike = DEFAULT_STORE,
    tables: Sequence[str] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> CaptureResult:
    """Snapshot database ``db``'s dataset tables as ``tag``, read in one read-only transaction.

    The result's ``snapshot`` is a normal snapshot of kind ``capture``; rule breaks in the rows are
    warnings in ``report``. ``loaders.capture.backup_tag(store, now)`` names a pre-load backup.
    """
    from omc_data.loaders import capture
    from omc_data.loaders.target import Target

    return capture.capture(open_store(store), tag, Target(db, origin), tables=tables, progress=progress)


DB_SIDE = "@db"  # a live database in place of a tag: outside the tag grammar, so it never clashes


def diff_snapshots(
    a: str,
    b: str,
    *,
    store: StoreLike = DEFAULT_STORE,
    tables: Sequence[str] | None = None,
    rows: int = 0,
    db: str | None = None,
    origin: str = "argument",
    threads: int | None = None,
    memory_limit: str | None = None,
    progress: Progress = NULL_PROGRESS,
) -> SnapshotDiff:
    """What changed from snapshot ``a`` to snapshot ``b``, table by table.

    Either side may be ``"@db"``: the dataset tables of database ``db`` (those the other side holds,
    or ``tables``), read in one REPEATABLE READ, READ ONLY transaction into a temporary snapshot that is
    removed afterwards; nothing is written to the database. ``rows``: sample rows of each kind per
    changed table. ``threads``/``memory_limit``: DuckDB's settings for the comparison.
    """
    from omc_data.snapshots import diff as diffing

    s = open_store(store)
    if DB_SIDE not in (a, b):
        return diffing.diff(
            s.open(a),
            s.open(b),
            tables=tables,
            rows=rows,
            threads=threads,
            memory_limit=memory_limit,
            progress=progress,
        )
    from omc_data.loaders import capture
    from omc_data.loaders.target import Target

    if a == b:
        raise UsageError("both sides are @db", hint="compare the database with a snapshot: diff v12 @db")
    if db is None:
        raise UsageError("@db needs a database", hint="pass db=postgresql://user@host/dbname")
    target = Target(db, origin)
    other = s.open(b if a == DB_SIDE else a)
    wanted = list(tables) if tables is not None else list(other.manifest.tables)
    label = f"{DB_SIDE} ({target.masked})"
    with tempfile.TemporaryDirectory(prefix="omc-data-diff-") as scratch:
        live = capture.capture(Store(Path(scratch)), "db", target, tables=wanted, progress=progress).snapshot
        sa, sb = (live, other) if a == DB_SIDE else (other, live)
        labels = (label, other.tag) if a == DB_SIDE else (other.tag, label)
        return diffing.diff(
            sa,
            sb,
            tables=tables,
            rows=rows,
            threads=threads,
            memory_limit=memory_limit,
            labels=labels,
            progress=progress,
        )


def list_snapshots(store: StoreLike = DEFAULT_STORE) -> list[Listing]:
    return open_store(store).snapshots()


def open_snapshot(tag: str, store: StoreLike = DEFAULT_STORE) -> Snapshot:
    return open_store(store).open(tag)


def verify_snapshot(tag: str, store: StoreLike = DEFAULT_STORE) -> list[str]:
    """Every problem found (empty when intact); ManifestError if the manifest itself is damaged."""
    return open_store(store).open(tag).problems()


def validate_snapshot(tag: str, store: StoreLike = DEFAULT_STORE) -> Report:
    """Rerun the domain checks on a snapshot; captured snapshots report rule breaks as warnings."""
    from omc_data.snapshots.validate import WARNING, run_checks

    snapshot = open_store(store).open(tag)
    manifest = snapshot.manifest
    as_of_text = manifest.inputs.get("as_of")
    as_of = parse_timestamp(as_of_text) if isinstance(as_of_text, str) else None
    parts = {name: snapshot.part_paths(name) for name in manifest.tables}
    if manifest.kind == "capture":
        return run_checks(parts, as_of=as_of, severity=WARNING)
    return run_checks(parts, as_of=as_of)


def remove_snapshot(tag: str, store: StoreLike = DEFAULT_STORE) -> Path:
    return open_store(store).remove(tag)
