"""The network guard: a test that opens a socket to anything but this machine fails.

Registered by ``tests/conftest.py`` (``pytest_plugins``); the mechanism is ``netguard_site/netguard_core.py``.

- **In the test process**, an audit hook (``sys.addaudithook``) sees every ``socket.connect`` (also
  ``connect_ex``, ``create_connection``, asyncio), ``socket.sendto`` and ``socket.sendmsg`` with an
  address. An IPv4/IPv6 destination that is not loopback (127.0.0.0/8, ::1, ::ffff:127.x) is refused
  with ``NetworkGuardError`` *before* the system call, so no packet leaves. psycopg's connection
  attempts are checked too (libpq opens its sockets in C, out of the audit hook's sight): a host
  address that is not loopback, ``localhost`` or a Unix socket folder is refused before libpq runs.
  Unix sockets, socket pairs and netlink are always allowed; listening (``bind``) is not checked.
- **In child Pythons the tests start**, ``netguard_site/sitecustomize.py`` installs the same guard.
  This plugin puts that folder first on ``PYTHONPATH`` in ``os.environ`` at start-up, so every child
  started with the inherited environment (``subprocess`` without ``env=``, or an ``env`` built from
  ``os.environ``, as the tests do) gets it. Children started with ``-S``/``-I`` or with an environment
  built from nothing are not guarded, nor are non-Python children (PostgreSQL, coreutils).

A refusal fails the test even when the code under test catches the error: every refusal is recorded
(children append to the file named by ``TESTS_NETGUARD_LOG``), and the report of the test phase
(setup, call or teardown) in which it happened becomes a failure naming the address.

**Name resolution is local only.** ``localhost``, ``*.localhost``, this machine's host name and
numeric addresses resolve; any other name raises ``socket.gaierror`` (``EAI_NONAME``, "Name or service
not known") without a DNS query, as on a machine without a network. That is not a failure by itself:
resolving opens nothing here, and code that handles an unresolvable name (a docker-compose service
name, say) is then tested deterministically. Reverse lookups of non-loopback addresses raise
``socket.herror`` the same way.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

SITE_DIR = Path(__file__).resolve().parent / "netguard_site"
if str(SITE_DIR) not in sys.path:
    sys.path.insert(0, str(SITE_DIR))  # one copy of the mechanism per process, also under a nested pytest

import netguard_core  # noqa: E402
from netguard_core import LOG_ENV, NetworkGuardError, is_local_name, is_loopback  # noqa: E402

__all__ = ["LOG_ENV", "SITE_DIR", "NetworkGuardError", "is_local_name", "is_loopback"]


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(LOG_ENV):
        fd, log = tempfile.mkstemp(prefix="netguard-", suffix=".log")
        os.close(fd)
        os.environ[LOG_ENV] = log
        config.add_cleanup(lambda: Path(log).unlink(missing_ok=True))
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(SITE_DIR) not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(SITE_DIR), *parts])
    netguard_core.install()
    netguard_core.report_here()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    refusals = netguard_core.take_refusals()
    if refusals:
        text = "\n".join(dict.fromkeys(refusals))
        if report.failed:
            report.sections.append(("netguard", text))
        else:
            report.outcome = "failed"
            report.longrepr = text
            if hasattr(report, "wasxfail"):
                del report.wasxfail
    return report
