"""The API's database chores: emptying the dataset tables, and the local server of ``omc-data db``.

``omc_data.api`` re-exports these, so ``omc_data.api.clear_dataset_tables`` and
``omc_data.local_server_up`` work like the rest of the API. Explicit arguments, no environment reads:
the CLI passes the state folder (``$OMC_DATA_HOME``) and the target it resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omc_data.errors import UsageError

if TYPE_CHECKING:
    from omc_data.loaders.postgres import ClearResult
    from omc_data.localdb.project import ProjectDb

LOCK_TIMEOUT_S = 10.0


def clear_dataset_tables(
    db: str,
    *,
    origin: str = "argument",
    tables: Sequence[str] | None = None,
    cascade: bool = False,
    dry_run: bool = False,
    wait: bool = False,
    lock_timeout: float = LOCK_TIMEOUT_S,
    notice: Callable[[str], None] | None = None,
) -> ClearResult:
    """Empty the dataset tables of ``db`` (or ``tables`` and their dataset children) in one transaction.

    The same safety rules as a load: app rows that reference the deleted rows stop it
    (``ReferencingRowsError``) unless ``cascade``; ``dry_run`` counts and changes nothing.
    """
    from omc_data.loaders import postgres
    from omc_data.loaders.target import Target

    return postgres.clear(
        Target(db, origin),
        tables=tables,
        cascade=cascade,
        dry_run=dry_run,
        wait=wait,
        lock_timeout=lock_timeout,
        notice=notice or (lambda message: None),
    )


def remove_change_tracking(
    db: str, *, origin: str = "argument", lock_timeout: float = LOCK_TIMEOUT_S
) -> list[str]:
    """Drop the triggers and counters a load put on the dataset tables (``omc-data untrack``).

    Returns the tables that were tracked. ``status`` says ``unknown`` afterwards (so the next load
    backs up), and the next load puts the tracking back.
    """
    from omc_data.loaders import tracking
    from omc_data.loaders.session import connect, set_lock_timeout
    from omc_data.loaders.target import Target

    with connect(Target(db, origin), purpose="omc-data untrack") as conn:
        set_lock_timeout(conn, lock_timeout)
        removed = tracking.remove(conn)
        conn.commit()
    return removed


@dataclass(frozen=True)
class LocalServer:
    """The local server under a state folder: whether it exists and runs, and where."""

    exists: bool
    running: bool
    url: str | None = None
    port: int | None = None
    data_dir: Path | None = None
    postgres_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        if not self.exists:
            return {"exists": False, "running": False, "url": None}
        return {
            "exists": True,
            "running": self.running,
            "url": self.url,
            "port": self.port,
            "data_dir": str(self.data_dir),
            "postgres_version": self.postgres_version,
        }


@dataclass(frozen=True)
class LocalServerStopped:
    stopped: bool  # False: there was no local server
    removed: bool  # its data was deleted too

    def to_json(self) -> dict[str, Any]:
        return {"stopped": self.stopped, "removed": self.removed}


def _server(state: ProjectDb | None, running: bool) -> LocalServer:
    if state is None:
        return LocalServer(exists=False, running=False)
    return LocalServer(True, running, state.url(), state.port, state.data_dir, state.version)


def local_server_up(home: Path, *, port: int | None = None) -> LocalServer:
    """Start the local server under ``home`` (creating it on first use); idempotent."""
    from omc_data.localdb.project import project_up

    return _server(project_up(home, port=port), True)


def local_server_status(home: Path) -> LocalServer:
    """Whether the local server under ``home`` exists and runs, and its URL; changes nothing."""
    from omc_data.localdb.project import project_status

    return _server(*project_status(home))


def local_server_down(home: Path, *, remove: bool = False) -> LocalServerStopped:
    """Stop the local server under ``home``; ``remove`` also deletes its data."""
    from omc_data.localdb.project import project_down

    state = project_down(home, remove=remove)
    return LocalServerStopped(stopped=state is not None, removed=remove and state is not None)


def local_server_reset(home: Path) -> LocalServer:
    """Drop and recreate the running local server's database: empty, no tables."""
    from omc_data.localdb.cluster import HOST, SUPERUSER, create_database, drop_database
    from omc_data.localdb.project import project_status

    state, running = project_status(home)
    if state is None or not running:
        raise UsageError("no local server runs", hint="start it with 'omc-data db up'")
    admin = f"postgresql://{SUPERUSER}@{HOST}:{state.port}/postgres"
    drop_database(admin, state.dbname)
    create_database(admin, state.dbname, owner=state.role)
    return _server(state, True)
