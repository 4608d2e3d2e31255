"""A throwaway local PostgreSQL cluster: find the server binaries, initdb, start, stop, create databases.

The cluster listens on 127.0.0.1 only, trusts every local connection (no passwords) and keeps its
Unix socket and its log (``server.log``) inside the data directory, so nothing is written elsewhere.
PostgreSQL refuses to run as root: when this process is root, every server command runs as the
``postgres`` OS user through ``runuser``, and the data directory must be reachable by that user
(pytest's tmp folders and ``/root`` are private; a fresh folder under ``/tmp`` is not).

The project's own database built on top of this (``ProjectDb``, ``project_up``, ...) lives in
:mod:`omc_data.localdb.project`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from omc_data.errors import ConnectionFailedError, DatabaseError, LocalServerError
from omc_data.loaders.target import mask_dsn

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SUPERUSER = "postgres"  # the bootstrap superuser initdb creates
SERVER_OS_USER = "postgres"  # the OS user server commands run as when this process is root
LOG_NAME = "server.log"
START_ATTEMPTS = 5  # free ports tried when the chosen one turns out to be taken
STOP_MODES = ("smart", "fast", "immediate")

_INSTALL_HINT = "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or pass its bin folder"
_SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
_BIND_ERRORS = ("could not bind", "address already in use", "could not create any tcp/ip sockets")
_SOCKET_DIR_MAX = 80  # a socket path is at most 107 bytes and "/.s.PGSQL.NNNNN.lock" follows the dir


@dataclass(frozen=True)
class PgBinaries:
    """Where the server programs are and which version they are."""

    bindir: Path  # the folder holding initdb, pg_ctl and postgres
    version: str  # e.g. "15.18"

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


@dataclass(frozen=True)
class LocalCluster:
    """A running local cluster, reached over TCP with trust authentication."""

    data_dir: Path
    port: int
    host: str = HOST
    superuser: str = SUPERUSER

    def url(self, dbname: str = "postgres", user: str | None = None) -> str:
        who = quote(user or self.superuser, safe="")
        return f"postgresql://{who}@{self.host}:{self.port}/{quote(dbname, safe='')}"


# -- binaries ---------------------------------------------------------------------------------------


def find_binaries(bindir: Path | None = None) -> PgBinaries:
    """The server binaries in ``bindir``, else next to ``initdb`` on PATH, else the newest Debian ones."""
    if bindir is not None:
        candidates = [bindir]
    else:
        candidates = []
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
        candidates.extend(_debian_bindirs())
    for candidate in candidates:
        if all((candidate / name).is_file() for name in _SERVER_TOOLS):
            return PgBinaries(bindir=candidate, version=_server_version(candidate))
    where = str(bindir) if bindir is not None else "PATH or /usr/lib/postgresql/*/bin"
    raise LocalServerError(
        f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) in {where}", hint=_INSTALL_HINT
    )


def _debian_bindirs(root: Path = Path("/usr/lib/postgresql")) -> list[Path]:
    def key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    return sorted(root.glob("*/bin"), key=key, reverse=True)


def _server_version(bindir: Path) -> str:
    argv = [str(bindir / "postgres"), "--version"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30, cwd="/").stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise LocalServerError(f"cannot run {argv[0]} --version: {exc}", hint=_INSTALL_HINT) from exc
    match = re.search(r"\(PostgreSQL\)\s+(\S+)", out)
    if match is None:
        raise LocalServerError(
            f"unexpected output from {argv[0]} --version: {out.strip()!r}", hint=_INSTALL_HINT
        )
    return match.group(1)


# -- running server commands ------------------------------------------------------------------------


def _is_root() -> bool:
    return os.geteuid() == 0


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_OS_USER)
    except KeyError as exc:
        raise LocalServerError(
            f"PostgreSQL refuses to run as root and there is no {SERVER_OS_USER!r} OS user",
            hint="create it (apt-get install postgresql does), or run as a non-root user",
        ) from exc


def _as_server_user(argv: Sequence[str]) -> list[str]:
    if not _is_root():
        return list(argv)
    _server_user()
    return ["runuser", "-u", SERVER_OS_USER, "--", *argv]


def _run(argv: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a server command (as the server OS user when root), from "/" so no private cwd gets in the way."""
    env = {k: v for k, v in os.environ.items() if k != "LC_ALL"} | {"LC_MESSAGES": "C"}
    full = _as_server_user(argv)
    log.debug("running %s", " ".join(full))
    try:
        return subprocess.run(
            full, capture_output=True, text=True, timeout=timeout, cwd="/", env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        name = Path(argv[0]).name
        raise LocalServerError(f"{name} failed: {exc}", hint="check the PostgreSQL installation") from exc


def chown_to_server_user(path: Path) -> None:
    """As root, hand ``path`` to the OS user the server runs as; nothing to do otherwise."""
    if _is_root():
        user = _server_user()
        os.chown(path, user.pw_uid, user.pw_gid)


def _give_to_server_user(path: Path) -> None:
    chown_to_server_user(path)
    if not server_user_can_write(path):
        raise LocalServerError(
            f"the {SERVER_OS_USER!r} OS user cannot reach {path} (a parent folder is private)",
            hint="put the data directory in a fresh folder under /tmp",
        )


def server_user_can_write(path: Path) -> bool:
    """Whether the OS user the server runs as can traverse to ``path`` and write in it."""
    if not _is_root():
        return os.access(path, os.W_OK | os.X_OK)
    argv = ["runuser", "-u", SERVER_OS_USER, "--", "test", "-w", str(path), "-a", "-x", str(path)]
    try:
        return subprocess.run(argv, capture_output=True, cwd="/", timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# -- cluster life cycle -----------------------------------------------------------------------------


def init_cluster(data_dir: Path, binaries: PgBinaries, *, fast: bool = False) -> None:
    """initdb a new cluster in ``data_dir`` (created if missing, it must be empty).

    ``fast`` turns off fsync, synchronous_commit and full_page_writes: a crash can lose or corrupt
    data, which only a test cluster can afford.
    """
    data_dir = data_dir.absolute()
    if (data_dir / "PG_VERSION").exists():
        raise LocalServerError(
            f"{data_dir} already holds a PostgreSQL cluster", hint="start it, or pick an empty folder"
        )
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _give_to_server_user(data_dir)
    base = [binaries.tool("initdb"), "-D", str(data_dir), "--auth=trust", f"--username={SUPERUSER}"]
    base += ["--encoding=UTF8", *(["--no-sync"] if fast else [])]
    result = _run([*base, "--locale=C.UTF-8"], timeout=300)
    if result.returncode != 0 and "locale" in result.stderr.lower():
        log.info("locale C.UTF-8 is missing, initialising %s with locale C", data_dir)
        result = _run([*base, "--locale=C"], timeout=300)
    if result.returncode != 0:
        raise LocalServerError(
            f"initdb failed for {data_dir}: {_last_line(result.stderr)}",
            hint="the folder must be empty and writable by the server's OS user",
        )
    settings = {
        "listen_addresses": HOST,
        # Keep the socket in the data dir so nothing writes in /var/run; TCP only if the path is too long.
        "unix_socket_directories": str(data_dir) if len(str(data_dir)) <= _SOCKET_DIR_MAX else "",
        "timezone": "UTC",
        "log_timezone": "UTC",
    }
    if fast:
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    lines = [f"{key} = '{value.replace(chr(39), chr(39) * 2)}'" for key, value in settings.items()]
    with (data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# Added by omc-data for a local throwaway cluster\n" + "\n".join(lines) + "\n")
    log.info("initialised PostgreSQL %s cluster in %s", binaries.version, data_dir)


def start_cluster(
    data_dir: Path, binaries: PgBinaries, *, port: int | None = None, timeout: float = 30.0
) -> LocalCluster:
    """Start the cluster in ``data_dir`` and wait until it accepts connections.

    Without ``port`` a free one is picked, and if another process grabs it first the start is retried
    on a new one (``START_ATTEMPTS`` in all). An explicit ``port`` that is taken is an error: the
    caller asked for that port. A cluster that is already running is returned as it is.
    """
    data_dir = data_dir.absolute()
    if not (data_dir / "PG_VERSION").is_file():
        raise LocalServerError(
            f"no PostgreSQL cluster in {data_dir}", hint="initialise it first (init_cluster)"
        )
    deadline = time.monotonic() + timeout
    running = cluster_running(data_dir)
    if running is not None:
        if port is not None and port != running:
            raise LocalServerError(
                f"the cluster in {data_dir} already runs on port {running}, not {port}",
                hint="stop it first, or use its port",
            )
        cluster = LocalCluster(data_dir=data_dir, port=running)
        _wait_until_ready(cluster, deadline)
        return cluster
    logfile = data_dir / LOG_NAME
    attempts = 1 if port is not None else START_ATTEMPTS
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else free_port()
        offset = logfile.stat().st_size if logfile.exists() else 0
        argv = [binaries.tool("pg_ctl"), "-D", str(data_dir), "-o", f"-p {chosen}", "-l", str(logfile)]
        argv += ["-w", "-t", str(max(1, math.ceil(deadline - time.monotonic()))), "start"]
        result = _run(argv, timeout=timeout + 30)
        if result.returncode == 0:
            cluster = LocalCluster(data_dir=data_dir, port=chosen)
            _wait_until_ready(cluster, deadline)
            log.info("started PostgreSQL in %s on %s:%d", data_dir, HOST, chosen)
            return cluster
        news = _read_from(logfile, offset) or result.stderr
        if cluster_running(data_dir) is not None:  # pg_ctl gave up waiting but the server lives on
            stop_cluster(data_dir, binaries, mode="immediate")
        if not any(marker in news.lower() for marker in _BIND_ERRORS):
            tail = " | ".join(news.strip().splitlines()[-3:]) or _last_line(result.stdout)
            raise LocalServerError(f"PostgreSQL in {data_dir} did not start: {tail}", hint=f"see {logfile}")
        if port is not None:
            raise LocalServerError(
                f"port {port} on {HOST} is already in use",
                hint="pass another port, or none to pick a free one",
            )
        log.warning("port %d was taken before PostgreSQL bound it (attempt %d/%d)", chosen, attempt, attempts)
    raise LocalServerError(
        f"PostgreSQL in {data_dir} found no free port in {attempts} attempts", hint=f"see {logfile}"
    )


def stop_cluster(data_dir: Path, binaries: PgBinaries, *, mode: str = "fast") -> None:
    """Stop the cluster in ``data_dir`` (``pg_ctl stop -m mode``); nothing to do if it is not running."""
    if mode not in STOP_MODES:
        raise LocalServerError(f"unknown stop mode {mode!r}", hint=f"use one of {', '.join(STOP_MODES)}")
    data_dir = data_dir.absolute()
    if cluster_running(data_dir) is None:
        log.debug("no PostgreSQL running in %s", data_dir)
        return
    result = _run([binaries.tool("pg_ctl"), "-D", str(data_dir), "-m", mode, "-w", "stop"], timeout=120)
    if result.returncode != 0 and cluster_running(data_dir) is not None:
        raise LocalServerError(
            f"could not stop PostgreSQL in {data_dir}: {_last_line(result.stderr)}",
            hint="retry with mode 'immediate', or kill the pid on the first line of postmaster.pid",
        )
    log.info("stopped PostgreSQL in %s", data_dir)


def cluster_running(data_dir: Path) -> int | None:
    """The port of the live postmaster owning ``data_dir``, or None when no server runs there."""
    pidfile = data_dir / "postmaster.pid"
    try:
        lines = pidfile.read_text(encoding="utf-8", errors="replace").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise LocalServerError(
            f"cannot read {pidfile}: {exc.strerror}", hint="run as root or as the user owning the cluster"
        ) from exc
    try:
        pid, port = int(lines[0]), int(lines[3])
    except (IndexError, ValueError):
        return None  # a stale or half-written pid file
    return port if _pid_alive(pid) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    with contextlib.suppress(OSError):  # a zombie nobody reaped is dead too
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _wait_until_ready(cluster: LocalCluster, deadline: float) -> None:
    while True:
        try:
            with psycopg.connect(cluster.url(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise LocalServerError(
                    f"PostgreSQL on {HOST}:{cluster.port} refuses connections: {_last_line(str(exc))}",
                    hint=f"see {cluster.data_dir / LOG_NAME}",
                ) from exc
        time.sleep(0.1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (someone may take it before we do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the postmaster does
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


# -- roles and databases ----------------------------------------------------------------------------


def ensure_role_and_database(cluster: LocalCluster, *, role: str, dbname: str) -> None:
    """Create the login role (not a superuser) and the database it owns, unless they exist."""
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(role)))
                log.info("created role %s", role)
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
                query = sql.SQL("CREATE DATABASE {} OWNER {}")
                conn.execute(query.format(sql.Identifier(dbname), sql.Identifier(role)))
                log.info("created database %s owned by %s", dbname, role)
    except psycopg.Error as exc:
        raise LocalServerError(
            f"could not create role {role!r} and database {dbname!r} on {HOST}:{cluster.port}: "
            f"{_last_line(str(exc))}",
            hint=f"see {cluster.data_dir / LOG_NAME}",
        ) from exc


def create_database(
    admin_url: str, name: str, *, template: str | None = None, owner: str | None = None
) -> None:
    """CREATE DATABASE ``name`` [TEMPLATE ``template``] [OWNER ``owner``] on any server."""
    parts = [sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))]
    if template is not None:
        parts.append(sql.SQL("TEMPLATE {}").format(sql.Identifier(template)))
    if owner is not None:
        parts.append(sql.SQL("OWNER {}").format(sql.Identifier(owner)))
    with _admin(admin_url, f"create database {name!r}") as conn:
        conn.execute(sql.SQL(" ").join(parts))


def drop_database(admin_url: str, name: str) -> None:
    """DROP DATABASE IF EXISTS ``name`` WITH (FORCE), a template too; nothing to do if it is missing."""
    with _admin(admin_url, f"drop database {name!r}") as conn:
        row = conn.execute("SELECT datistemplate FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if row is None:
            return
        if row[0]:
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def _admin(admin_url: str, doing: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    where = mask_dsn(admin_url)
    try:
        conn = psycopg.connect(admin_url, autocommit=True)
    except psycopg.Error as exc:
        raise ConnectionFailedError(
            f"cannot connect to {where}: {_last_line(str(exc))}", hint="check that the server runs"
        ) from exc
    try:
        with conn:
            yield conn
    except psycopg.Error as exc:
        raise DatabaseError(
            f"could not {doing} on {where}: {_last_line(str(exc))}",
            hint="the admin connection needs CREATEDB or superuser",
        ) from exc
