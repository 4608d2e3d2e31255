"""The project's own local database, what ``omc-data db up/down/status`` manage.

``project_up`` creates a local cluster once (see :mod:`omc_data.localdb.cluster`), with a login role
``omc`` owning a database ``omc``, and records where it is in ``<state_dir>/cluster.json``; later
calls find it there and start it again if it stopped. The data directory is ``<state_dir>/pgdata``,
except when this process is root and the ``postgres`` OS user cannot reach the state folder (say it
is under ``/root``): then it is a fresh folder under ``/tmp``, which the state file points to.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from omc_data.errors import LocalServerError
from omc_data.localdb.cluster import (
    HOST,
    PgBinaries,
    chown_to_server_user,
    cluster_running,
    ensure_role_and_database,
    find_binaries,
    init_cluster,
    port_is_free,
    server_user_can_write,
    start_cluster,
    stop_cluster,
)

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"
PROJECT_ROLE = "omc"
PROJECT_DBNAME = "omc"
_FORMAT = 1


@dataclass(frozen=True)
class ProjectDb:
    """Where the project cluster lives, as recorded in ``<state_dir>/cluster.json``."""

    data_dir: Path
    port: int
    role: str
    dbname: str
    bindir: Path
    version: str

    def url(self) -> str:
        return f"postgresql://{quote(self.role, safe='')}@{HOST}:{self.port}/{quote(self.dbname, safe='')}"

    def binaries(self) -> PgBinaries:
        """The recorded binaries, or the ones found now if those were removed (say by an upgrade)."""
        if (self.bindir / "pg_ctl").is_file():
            return PgBinaries(bindir=self.bindir, version=self.version)
        return find_binaries()


def project_up(state_dir: Path, *, port: int | None = None, bindir: Path | None = None) -> ProjectDb:
    """Make sure the project cluster exists and runs; idempotent.

    A stopped cluster starts again on its recorded port if that is free, else on another one (the
    state is rewritten). An explicit ``port`` that is taken is an error.
    """
    state_dir = state_dir.absolute()
    state = read_state(state_dir)
    if state is not None and _holds_cluster(state.data_dir):
        return _resume(state_dir, state, port=port, bindir=bindir)
    if state is not None:
        log.warning("the recorded data directory %s is gone: creating a new cluster", state.data_dir)
    binaries = find_binaries(bindir)
    state_dir.mkdir(parents=True, exist_ok=True)
    data_dir = _new_data_dir(state_dir)
    try:
        init_cluster(data_dir, binaries)
        cluster = start_cluster(data_dir, binaries, port=port)
        ensure_role_and_database(cluster, role=PROJECT_ROLE, dbname=PROJECT_DBNAME)
    except BaseException:
        with contextlib.suppress(LocalServerError):
            stop_cluster(data_dir, binaries, mode="immediate")
        shutil.rmtree(data_dir, ignore_errors=True)  # so the next attempt starts clean
        raise
    db = ProjectDb(
        data_dir=data_dir,
        port=cluster.port,
        role=PROJECT_ROLE,
        dbname=PROJECT_DBNAME,
        bindir=binaries.bindir,
        version=binaries.version,
    )
    write_state(state_dir, db)
    log.info("project database ready at %s", db.url())
    return db


def project_down(state_dir: Path, *, remove: bool = False) -> ProjectDb | None:
    """Stop the project cluster; ``remove`` also deletes its data and the state. None if there is none."""
    state_dir = state_dir.absolute()
    state = read_state(state_dir)
    if state is None:
        return None
    if cluster_running(state.data_dir) is not None:
        stop_cluster(state.data_dir, state.binaries())
    if remove:
        try:
            shutil.rmtree(state.data_dir)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LocalServerError(
                f"could not remove {state.data_dir}: {exc.strerror}", hint="remove it by hand"
            ) from exc
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        log.info("removed the project cluster in %s", state.data_dir)
    return state


def project_status(state_dir: Path) -> tuple[ProjectDb | None, bool]:
    """The recorded cluster (with the port it really runs on) and whether it runs."""
    state = read_state(state_dir.absolute())
    if state is None:
        return None, False
    running = cluster_running(state.data_dir)
    if running is None:
        return state, False
    return replace(state, port=running), True


def read_state(state_dir: Path) -> ProjectDb | None:
    path = state_dir / STATE_FILE
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        return ProjectDb(
            data_dir=Path(doc["data_dir"]),
            port=int(doc["port"]),
            role=str(doc["role"]),
            dbname=str(doc["dbname"]),
            bindir=Path(doc["bindir"]),
            version=str(doc["version"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalServerError(
            f"cannot read the cluster state {path}: {exc}",
            hint="delete it (and its data directory) and run 'omc-data db up' again",
        ) from exc


def write_state(state_dir: Path, db: ProjectDb) -> None:
    """Write ``cluster.json`` atomically: a reader sees the old state or the new one, never half."""
    doc = {"format": _FORMAT, **{key: str(value) for key, value in asdict(db).items()}, "port": db.port}
    path = state_dir / STATE_FILE
    tmp = state_dir / f".{STATE_FILE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LocalServerError(
            f"cannot write {path}: {exc.strerror}", hint="check the folder's permissions"
        ) from exc


def _holds_cluster(data_dir: Path) -> bool:
    try:
        return (data_dir / "PG_VERSION").is_file()
    except OSError:
        return False


def _resume(state_dir: Path, state: ProjectDb, *, port: int | None, bindir: Path | None) -> ProjectDb:
    running = cluster_running(state.data_dir)
    if running is not None:
        if port is not None and port != running:
            raise LocalServerError(
                f"the project cluster already runs on port {running}",
                hint=f"run 'omc-data db down' first to move it to port {port}",
            )
        db = replace(state, port=running)
    else:
        binaries = find_binaries(bindir) if bindir is not None else state.binaries()
        wanted = port if port is not None else (state.port if port_is_free(state.port) else None)
        cluster = start_cluster(state.data_dir, binaries, port=wanted)
        ensure_role_and_database(cluster, role=state.role, dbname=state.dbname)
        db = replace(state, port=cluster.port, bindir=binaries.bindir, version=binaries.version)
    if db != state:
        write_state(state_dir, db)
    return db


def _new_data_dir(state_dir: Path) -> Path:
    """``<state_dir>/pgdata``, or as root a fresh /tmp folder when the server's OS user cannot get there."""
    candidate = state_dir / "pgdata"
    if candidate.exists() and any(candidate.iterdir()):
        raise LocalServerError(
            f"{candidate} is not empty but no {STATE_FILE} records it",
            hint="remove that folder, or put back the state file that points to it",
        )
    candidate.mkdir(mode=0o700, exist_ok=True)
    chown_to_server_user(candidate)
    if server_user_can_write(candidate):
        return candidate
    candidate.rmdir()
    fallback = Path(tempfile.mkdtemp(prefix="omc-data-pg-", dir="/tmp"))
    chown_to_server_user(fallback)
    log.info("the postgres OS user cannot reach %s: the data directory is %s", state_dir, fallback)
    return fallback
