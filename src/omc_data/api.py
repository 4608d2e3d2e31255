"""The Python API: everything the CLI does, with explicit arguments and no environment reads.

import omc_data

omc_data.build_snapshot("v12", store="snapshots", seed=7, as_of="2026-11-01T00:00:00Z")
omc_data.load_snapshot("v12", store="snapshots", db="postgresql://omc@127.0.0.1:5432/omc")
report = omc_data.diff_snapshots("v11", "v12", store="snapshots")
print(report.summary())
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omc_data import catalog, defaults
from omc_data.api_db import LocalServer as LocalServer  # the database chores, re-exported
from omc_data.api_db import LocalServerStopped as LocalServerStopped
from omc_data.api_db import clear_dataset_tables as clear_dataset_tables
from omc_data.api_db import local_server_down as local_server_down
from omc_data.api_db import local_server_reset as local_server_reset
from omc_data.api_db import local_server_status as local_server_status
from omc_data.api_db import local_server_up as local_server_up
from omc_data.api_db import remove_change_tracking as remove_change_tracking
from omc_data.builder.inputs import REAL_DATA_MODES, RealDataMode
from omc_data.errors import UsageError
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.store import Listing, Snapshot, Store, validate_tag
from omc_data.snapshots.timefmt import parse_timestamp

if TYPE_CHECKING:  # the heavy parts are imported by the functions that need them
    from omc_data.builder.fetch.collection import PruneReport
    from omc_data.builder.generators.spec import Spec
    from omc_data.builder.inputs import BuildInputs
    from omc_data.builder.live import CollectRequest, SourceFetch
    from omc_data.builder.realdata import RealInputs
    from omc_data.builder.schedule import Filed
    from omc_data.loaders.capture import CaptureResult
    from omc_data.loaders.postgres import LoadResult
    from omc_data.loaders.records import DatabaseStatus
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
        return floor_tick(now or dt.datetime.now(dt.timezone.utc))
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
    real_data: RealDataMode = "off",
    sources: Sequence[str] | None = None,
    collector: CollectRequest | None = None,
    require_real_data: bool = False,
    calibrate: bool = False,
    synthetic: bool = True,
    progress: Progress = NULL_PROGRESS,
    inputs: BuildInputs | None = None,
) -> Manifest:
    """Build snapshot ``tag`` and publish it (atomic; tags are immutable).

    The inputs come either as keywords or as one :class:`~omc_data.builder.inputs.BuildInputs` value
    (``inputs=``, what the CLI passes); with ``inputs`` the input keywords stay at their defaults.

    ``real_data``: ``off`` (every source synthetic, the default: nothing goes online), ``live`` (fetch
    the ``sources`` now with ``collector``'s endpoints, token, retry policy and clock) or ``collected``
    (use what ``collect_once`` filed under the store). ``require_real_data`` fails the build when a
    source is degraded or skipped; ``synthetic=False`` builds only the tables real sources filled.
    ``calibrate`` fits the price model to the Coinspot ticks collected under the store (recorded in
    the manifest's ``inputs.calibration``; published defaults without them).
    """
    from omc_data.builder.inputs import BuildInputs

    tables = catalog.some_tables(tables)
    given = BuildInputs(
        seed=seed,
        as_of=as_of,
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
        tables=tables,
        parent=parent,
        real_data=real_data,
        sources=sources,
        require_real_data=require_real_data,
        calibrate=calibrate,
        synthetic=synthetic,
    )
    if inputs is not None and given != BuildInputs():
        raise UsageError(
            "build_snapshot takes the inputs as keywords or as inputs=..., not both",
            hint="put every input in the BuildInputs value",
        )
    return _build_snapshot(tag, inputs or given, store, collector, progress)


def _build_snapshot(
    tag: str,
    inputs: BuildInputs,
    store: StoreLike,
    collector: CollectRequest | None,
    progress: Progress,
) -> Manifest:
    from omc_data.builder.live import CollectRequest

    real_data = inputs.real_data
    if real_data not in REAL_DATA_MODES:
        raise UsageError(f"unknown real_data {real_data!r}", hint=f"one of {', '.join(REAL_DATA_MODES)}")
    if real_data == "off" and not inputs.synthetic:
        raise UsageError(
            "real_data='off' with synthetic=False leaves nothing to build",
            hint="drop one of them: synthetic=False builds only the collected tables",
        )
    if real_data == "off" and inputs.require_real_data:
        raise UsageError("require_real_data=True contradicts real_data='off'", hint="drop one of them")
    as_of = inputs.as_of
    if real_data == "live" and as_of is not None:
        raise UsageError(
            "as_of cannot be combined with live collection: real prices are stamped at the build's tick",
            hint="pass real_data='off' or replay a snapshot to build at another instant",
        )
    chosen = _sources(inputs.sources)
    request = collector or CollectRequest()
    the_store = open_store(store)
    if real_data == "collected":
        from omc_data.builder import collected

        as_of = as_of if as_of is not None else collected.latest_tick(the_store.root, chosen)
    elif real_data == "live":
        as_of = request.clock.now()
    spec = _spec(**{**inputs.spec_fields(), "as_of": as_of})
    _check_tags(tag, inputs.parent)  # once, before going online
    real = None
    if real_data != "off":
        from omc_data.builder.realdata import RealInputs

        if the_store.exists(tag):  # say so before going online, not after
            from omc_data.errors import SnapshotExistsError

            raise SnapshotExistsError(tag, the_store.root)
        if real_data == "live":
            pending: Any = _fetch_in_background(dataclasses.replace(request, sources=chosen, news=spec.news))
        else:
            from omc_data.builder import collected

            pending = collected.fetches(the_store.root, spec, chosen)
        real = RealInputs(real_data, pending, synthetic=inputs.synthetic, require=inputs.require_real_data)
    return _build(
        the_store,
        tag,
        spec,
        inputs.tables,
        inputs.parent,
        real,
        progress,
        checked=True,
        calibrate=inputs.calibrate,
    )


def _fetch_in_background(request: CollectRequest) -> Callable[[], dict[str, SourceFetch]]:
    """Start fetching now; the returned callable waits for the result (or raises its error).

    The build generates the tables that need no real data meanwhile (a default build's bcrypt hashing
    overlaps the round trips). A daemon thread: Ctrl-C or a failed build does not wait for the requests
    in flight (each is bounded by the time budget anyway).
    """
    from omc_data.builder.live import collect

    future: concurrent.futures.Future[dict[str, SourceFetch]] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(collect(request))
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="omc-data-collect", daemon=True).start()
    return future.result


def _sources(sources: Sequence[str] | None) -> tuple[str, ...]:
    from omc_data.builder.sources import REGISTRY, clash, defaults

    chosen = defaults() if sources is None else tuple(dict.fromkeys(sources))
    unknown = [s for s in chosen if s not in REGISTRY]
    if unknown or not chosen:
        raise UsageError(
            f"unknown source {unknown[0]!r}" if unknown else "no source chosen",
            hint=f"sources=[...] takes names from {', '.join(REGISTRY)}",
        )
    both = clash(chosen)
    if both is not None:
        raise UsageError(
            f"sources {both[0]!r} and {both[1]!r} both fill {REGISTRY[both[0]].table}",
            hint="choose one of them with --sources",
        )
    return chosen


def _spec(**kwargs: Any) -> Spec:
    from omc_data.builder.generators.spec import Spec

    kwargs["as_of"] = parse_as_of(kwargs["as_of"])
    try:
        return Spec(**kwargs)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _check_tags(tag: str, parent: str | None) -> None:
    validate_tag(tag)
    if parent is not None:
        validate_tag(parent)


def _build(
    store: Store,
    tag: str,
    spec: Spec,
    tables: Sequence[str] | None,
    parent: str | None,
    real: RealInputs | None,
    progress: Progress,
    *,
    checked: bool = False,
    calibrate: bool = False,
) -> Manifest:
    from omc_data.builder.build import BuildRequest, build
    from omc_data.builder.generators import GENERATORS

    if not checked:
        _check_tags(tag, parent)
    chosen = tuple(GENERATORS) if tables is None else tuple(tables)
    unknown = [t for t in chosen if t not in GENERATORS]
    if unknown:
        raise UsageError(f"no generator for table {unknown[0]!r}", hint=f"tables: {', '.join(GENERATORS)}")
    request = BuildRequest(tag=tag, spec=spec, tables=chosen, parent=parent, real=real, calibrate=calibrate)
    with store.writing(f"building {tag!r}"):
        return build(store, request, progress=progress)


def replay_snapshot(
    tag: str,
    of: str,
    *,
    store: StoreLike = DEFAULT_STORE,
    parent: str | None = None,
    progress: Progress = NULL_PROGRESS,
    **overrides: Any,
) -> Manifest:
    """Rebuild snapshot ``of`` as ``tag`` from its manifest's inputs and its ``raw/`` responses, offline.

    Same inputs give byte-identical tables. ``overrides`` replace inputs by name (``seed``, ``users``,
    ``as_of``, ``synthetic``, ``tables``...); a custom password is never recorded, so a snapshot built
    with one needs ``password`` (and ``superuser_password``) again.
    """
    from omc_data.builder import replay

    the_store = open_store(store)
    if "tables" in overrides:
        overrides["tables"] = catalog.some_tables(overrides["tables"])
    plan = replay.plan(the_store.open(of), of, overrides, _spec)
    return _build(the_store, tag, plan.spec, plan.tables, parent, plan.real, progress)


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
    tables = catalog.some_tables(tables)
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
        name = capture.backup_tag(the_store, dt.datetime.now(dt.timezone.utc))
        with the_store.writing(f"backing up into {name!r}"):
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
    if last and status.get("reason"):
        return f"whether they changed since the load of {last['tag']} is unknown ({status['reason']})"
    return "no load by omc-data is recorded for its rows"


def database_status(
    db: str, *, origin: str = "argument", store: StoreLike = DEFAULT_STORE, deep: bool = False
) -> DatabaseStatus:
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
        name: {"added": d.get("added", 0), "removed": d.get("removed", 0), "changed": d.get("changed", 0)}
        for name, d in changed.items()
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
    tables = catalog.some_tables(tables)
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
    tables = catalog.some_tables(tables)
    from omc_data.loaders import capture
    from omc_data.loaders.target import Target

    the_store = open_store(store)
    with the_store.writing(f"capturing {tag!r}"):
        return capture.capture(the_store, tag, Target(db, origin), tables=tables, progress=progress)


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
    tables = catalog.some_tables(tables)
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
    """Rerun the domain checks on a snapshot; captured or collected rows report rule breaks as warnings."""
    from omc_data.builder.build import real_tables
    from omc_data.snapshots.validate import WARNING, run_checks

    snapshot = open_store(store).open(tag)
    manifest = snapshot.manifest
    as_of_text = manifest.inputs.get("as_of")
    as_of = parse_timestamp(as_of_text) if isinstance(as_of_text, str) else None
    parts = {name: snapshot.part_paths(name) for name in manifest.tables}
    if manifest.kind == "capture":
        return run_checks(parts, as_of=as_of, severity=WARNING)
    return run_checks(parts, as_of=as_of, real_tables=real_tables(manifest.sources))


def collect_once(
    *,
    store: StoreLike = DEFAULT_STORE,
    sources: Sequence[str] | None = None,
    collector: CollectRequest | None = None,
) -> dict[str, Filed]:
    """Fetch what is due once and file it under ``<store>/.collected/`` (what ``omc-data collect`` does).

    Coinspot every run, DeFiLlama at most once per UTC day, CryptoPanic only posts newer than those held.
    """
    from omc_data.builder import collected
    from omc_data.builder.live import CollectRequest

    return collected.collect_once(open_store(store).root, collector or CollectRequest(), _sources(sources))


def prune_collection(
    *,
    store: StoreLike = DEFAULT_STORE,
    keep_days: int | None = None,
    max_bytes: int | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> PruneReport:
    """Bound the collection: drop files older than ``keep_days``, then the oldest beyond ``max_bytes``."""
    from omc_data.builder import collected

    if keep_days is None and max_bytes is None:
        raise UsageError("prune needs a limit", hint="pass --keep-days N and/or --max-size SIZE")
    return collected.prune(
        open_store(store).root,
        now=now or dt.datetime.now(dt.timezone.utc),
        keep_days=keep_days,
        max_bytes=max_bytes,
        dry_run=dry_run,
    )


def remove_snapshot(tag: str, store: StoreLike = DEFAULT_STORE) -> Path:
    the_store = open_store(store)
    with the_store.writing(f"removing {tag!r}"):
        return the_store.remove(tag)
