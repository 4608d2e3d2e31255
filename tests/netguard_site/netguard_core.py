"""The network guard's mechanism, standard library only: see ``tests/netguard.py`` for the rules.

``sitecustomize.py`` beside this file imports it into every child Python the tests start (this folder
is first on their ``PYTHONPATH``); the pytest plugin ``tests/netguard.py`` imports it into the test
process under the same name, so a pytest run inside a test shares one guard per process.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

LOG_ENV = "TESTS_NETGUARD_LOG"
SITE_DIR = Path(__file__).resolve().parent
_INSTALLED = "_tests_netguard_installed"  # a flag on the socket module: one audit hook per process
_INET = (socket.AF_INET, socket.AF_INET6)
_CONNECT_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})
_LOOKUP_EVENTS = frozenset({"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"})

_lock = threading.Lock()
_refusals: list[str] = []  # recorded in this process, not yet reported
_reporting = False  # True in a pytest process; children write to the parent's log instead
_checking = threading.local()


class NetworkGuardError(PermissionError):
    """A test tried to reach another machine.

    An OSError, so ``socket.create_connection`` and asyncio close the socket they opened and move on
    as for any failed connect; code that catches it does not hide it (the refusal is recorded).
    """


def is_loopback(host: object) -> bool:
    """A literal IPv4/IPv6 loopback address (an IPv6 scope ``%lo`` is ignored)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def is_local_name(host: object) -> bool:
    """A name (or address) that resolves on this machine without asking a DNS server."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.rstrip(".").lower()
    if name in ("", "localhost") or name.endswith(".localhost") or name == socket.gethostname().lower():
        return True
    try:
        ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    return True  # a numeric address: nothing to look up (connecting to it is checked separately)


def refuse(what: str) -> NetworkGuardError:
    """Record a refusal and return the error to raise.

    A pytest process (:func:`report_here`) keeps it for its own report; a child Python appends it to
    the parent's log, so the parent's test fails even if the child swallows the error.
    """
    message = f"netguard: tests may not reach other machines: refused {what}"
    log = os.environ.get(LOG_ENV)
    if _reporting or not log:
        with _lock:
            _refusals.append(message)
    else:
        try:
            with Path(log).open("a", encoding="utf-8") as out:
                out.write(message.replace("\n", " ") + "\n")
        except OSError:
            pass  # the parent's log is gone: the error raised here still says it
    return NetworkGuardError(errno.EACCES, message)


def report_here() -> None:
    """This process reports its own refusals (the pytest plugin calls this)."""
    global _reporting
    _reporting = True


def _check_destination(sock: Any, address: Any, verb: str) -> None:
    family = getattr(sock, "family", None)
    if family not in _INET or not isinstance(address, tuple) or not address:
        return  # Unix sockets, socket pairs, netlink...; sendto/sendmsg without an address
    host = address[0]
    if not (is_loopback(host) or _is_localhost(host)):
        raise refuse(f"{verb} to {address[0]!r} port {address[1] if len(address) > 1 else '?'}")


def _is_localhost(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _CONNECT_EVENTS:
        if event == "socket.sendmsg":
            _check_destination(args[0], args[1], "sendmsg")
        else:
            _check_destination(args[0], args[1], event.removeprefix("socket."))
    elif event in _LOOKUP_EVENTS:
        if getattr(_checking, "busy", False):
            return  # gethostname() inside is_local_name
        _checking.busy = True
        try:
            host = args[0]
            if event == "socket.gethostbyaddr":
                if not (is_loopback(host) or (is_local_name(host) and not _is_numeric(host))):
                    raise socket.herror(1, f"Unknown host (netguard: tests look up only local names: {host})")
            elif not is_local_name(host):
                raise socket.gaierror(
                    socket.EAI_NONAME,
                    f"Name or service not known (netguard: tests resolve only local names, not {host!r})",
                )
        finally:
            _checking.busy = False


def _is_numeric(host: object) -> bool:
    try:
        ipaddress.ip_address(str(host).partition("%")[0])
    except ValueError:
        return False
    return True


def check_conninfo(conninfo: str) -> None:
    """Refuse a libpq connection string whose host address is not loopback or a Unix socket folder."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    hostaddr = str(params.get("hostaddr") or "")
    host = str(params.get("host") or "")
    if hostaddr:
        targets = hostaddr.split(",")
    elif host:
        targets = host.split(",")
    else:
        return  # libpq's default: the Unix socket
    for target in targets:
        target = target.strip()
        if not target or target.startswith(("/", "@")) or target[1:2] == ":":
            continue  # a Unix socket folder (also Windows/abstract forms)
        if is_loopback(target) or _is_localhost(target):
            continue
        raise refuse(f"PostgreSQL connection to {target!r}")


def _guard_connect_gen(cls: Any) -> None:
    original = cls.__dict__.get("_connect_gen")
    if original is None or getattr(original, "_netguard", False):
        return
    func = original.__func__

    def _connect_gen(klass: Any, /, conninfo: str = "", **kwargs: Any) -> Any:
        check_conninfo(conninfo)
        return func(klass, conninfo, **kwargs)

    wrapped: Any = classmethod(_connect_gen)
    wrapped._netguard = True
    cls._connect_gen = wrapped


def guard_psycopg() -> None:
    """Check psycopg's connection attempts (sync and async) once it is imported."""
    import psycopg

    for cls in (psycopg.Connection, psycopg.AsyncConnection):
        for klass in cls.__mro__:
            if "_connect_gen" in klass.__dict__:
                _guard_connect_gen(klass)
                break


class _PsycopgWatcher:
    """A meta path finder that guards psycopg right after ``psycopg`` is imported (lazily, in children)."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: object = None) -> Any:
        if name != "psycopg":
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module: Callable[[Any], None] = loader.exec_module

        class _Loader:
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: Any) -> None:
                exec_module(module)
                guard_psycopg()

        spec.loader = _Loader()  # type: ignore[assignment]
        return spec


def install() -> None:
    """Install the guard in this process (idempotent)."""
    if getattr(socket, _INSTALLED, False):
        return
    setattr(socket, _INSTALLED, True)
    sys.addaudithook(_audit)
    if "psycopg" in sys.modules:
        guard_psycopg()
    else:
        sys.meta_path.insert(0, _PsycopgWatcher())


def take_refusals() -> list[str]:
    """The refusals recorded since the last call, here and in the children."""
    with _lock:
        taken = list(_refusals)
        _refusals.clear()
    log = os.environ.get(LOG_ENV)
    if log:
        path = Path(log)
        try:
            text = path.read_text(encoding="utf-8")
            path.write_text("", encoding="utf-8")
        except OSError:
            text = ""
        taken.extend(line for line in text.splitlines() if line)
    return taken
