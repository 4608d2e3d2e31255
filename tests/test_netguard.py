"""The network guard (tests/netguard.py): refusals fail the test; loopback and Unix sockets pass.

Each check runs in a pytest session of its own in a subprocess (pytester), with the guard loaded as
in this suite. No check needs a network: the guard refuses before the system call, and the addresses
refused are documentation addresses nothing answers (192.0.2.1, TEST-NET-1; 2001:db8::1).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import netguard
import netguard_core
from netguard import NetworkGuardError

TESTS_DIR = Path(__file__).resolve().parent

REFUSED = """
import asyncio
import socket
import subprocess
import sys

import pytest


def test_connect_ipv4():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(("192.0.2.1", 9))


def test_connect_ex_ipv4():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect_ex(("192.0.2.1", 9))


def test_connect_ipv6():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(("2001:db8::1", 9, 0, 0))


def test_sendto_udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"x", ("192.0.2.1", 9))


def test_create_connection():
    socket.create_connection(("192.0.2.1", 9), timeout=5)


def test_asyncio_open_connection():
    async def go():
        await asyncio.wait_for(asyncio.open_connection("192.0.2.1", 9), 5)

    asyncio.run(go())


def test_a_refusal_the_code_swallows_still_fails():
    try:
        socket.create_connection(("192.0.2.1", 9), timeout=5)
    except Exception:
        pass


def test_a_refusal_in_a_fixture_fails_the_test(far):
    pass


@pytest.fixture
def far():
    try:
        socket.create_connection(("192.0.2.1", 9), timeout=5)
    except Exception:
        pass
    yield


def test_psycopg_to_another_machine():
    import psycopg

    try:
        psycopg.connect("postgresql://nobody@192.0.2.1:5432/x", connect_timeout=5)
    except psycopg.Error:
        pass


def test_a_child_python_that_swallows_the_refusal():
    code = (
        "import socket\\n"
        "try:\\n"
        "    socket.create_connection(('192.0.2.1', 9), timeout=5)\\n"
        "except Exception as exc:\\n"
        "    print(type(exc).__name__)\\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "NetworkGuardError"
"""

ALLOWED = """
import socket
import threading

import psycopg
import pytest


def serve_once(family, host):
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen()
    port = server.getsockname()[1]

    def answer():
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"hi")

    thread = threading.Thread(target=answer)
    thread.start()
    return server, port, thread


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_loopback(family, host):
    server, port, thread = serve_once(family, host)
    with server, socket.create_connection((host, port), timeout=10) as conn:
        assert conn.recv(2) == b"hi"
    thread.join(10)


def test_localhost_by_name():
    server, port, thread = serve_once(socket.AF_INET, "127.0.0.1")
    with server, socket.socket() as conn:
        conn.settimeout(10)
        conn.connect(("localhost", port))
        assert conn.recv(2) == b"hi"
    thread.join(10)


def test_unix_socket():
    import tempfile

    path = tempfile.mkdtemp(dir="/tmp") + "/s"  # pytest's tmp_path can pass the 107-byte limit
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            conn, _ = server.accept()
            with conn:
                client.sendall(b"ok")
                assert conn.recv(2) == b"ok"
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"x")
        assert b.recv(1) == b"x"


def test_udp_to_loopback():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with rx, tx:
        rx.bind(("127.0.0.1", 0))
        tx.sendto(b"u", rx.getsockname())
        assert rx.recv(1) == b"u"


def test_psycopg_to_a_closed_local_port_fails_as_usual():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused by the kernel
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"postgresql://nobody@127.0.0.1:{port}/x", connect_timeout=5)


def test_only_local_names_resolve():
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("192.0.2.1", 80)  # numeric: no lookup
    with pytest.raises(socket.gaierror, match="netguard"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(socket.gaierror, match="netguard"):
        socket.gethostbyname("example.com")
"""


@pytest.fixture
def guarded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytest project loading the guard as this suite does (from tests/, through PYTHONPATH)."""
    pytester.makeconftest('pytest_plugins = ["netguard"]\n')
    parts = [str(TESTS_DIR), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(parts))
    monkeypatch.delenv(netguard.LOG_ENV)  # the session gets a log of its own
    return pytester


def test_every_way_out_to_another_machine_fails_the_test(guarded: pytest.Pytester) -> None:
    guarded.makepyfile(test_refused=REFUSED)
    result = guarded.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=240)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 9 and outcomes.get("errors") == 1, result.stdout.str()
    assert "passed" not in outcomes, result.stdout.str()
    text = result.stdout.str()
    for name in (
        "test_connect_ipv4",
        "test_connect_ex_ipv4",
        "test_connect_ipv6",
        "test_sendto_udp",
        "test_create_connection",
        "test_asyncio_open_connection",
        "test_a_refusal_the_code_swallows_still_fails",
        "test_psycopg_to_another_machine",
        "test_a_child_python_that_swallows_the_refusal",
    ):
        assert f"FAILED test_refused.py::{name}" in text, text
    assert "ERROR test_refused.py::test_a_refusal_in_a_fixture_fails_the_test" in text, text  # in its setup
    assert "refused connect to '192.0.2.1' port 9" in text
    assert "refused connect to '2001:db8::1' port 9" in text
    assert "refused sendto to '192.0.2.1' port 9" in text
    assert "refused PostgreSQL connection to '192.0.2.1'" in text


def test_loopback_unix_sockets_and_local_names_pass(guarded: pytest.Pytester) -> None:
    guarded.makepyfile(test_allowed=ALLOWED)
    result = guarded.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=240)
    result.assert_outcomes(passed=7)


def test_this_process_and_its_children_are_guarded() -> None:
    # The refusal is expected here: take it back from the record so this test does not fail for it.
    with pytest.raises(NetworkGuardError, match=r"refused connect to '192\.0\.2\.1'"):
        socket.create_connection(("192.0.2.1", 9), timeout=5)
    assert len(netguard_core.take_refusals()) == 1
    assert str(netguard.SITE_DIR) == os.environ["PYTHONPATH"].split(os.pathsep)[0]
    code = "import socket; socket.create_connection(('192.0.2.1', 9), timeout=5)"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert child.returncode == 1
    assert "NetworkGuardError: [Errno 13] netguard: tests may not reach other machines" in child.stderr
    assert len(netguard_core.take_refusals()) == 1


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.1", False),
        ("::ffff:192.0.2.1", False),
        ("2001:db8::1", False),
        ("0.0.0.0", False),
        ("localhost", False),  # a name, not an address (connect allows it by name separately)
        (None, False),
    ],
)
def test_what_counts_as_loopback(host: str | None, loopback: bool) -> None:
    assert netguard.is_loopback(host) is loopback


def test_local_names() -> None:
    assert netguard.is_local_name("localhost")
    assert netguard.is_local_name("db.localhost.")
    assert netguard.is_local_name(socket.gethostname())
    assert netguard.is_local_name("192.0.2.1")  # numeric: nothing to look up
    assert not netguard.is_local_name("db")
    assert not netguard.is_local_name("example.com")
