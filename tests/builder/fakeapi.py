"""A real HTTP server on 127.0.0.1 for the collector tests, and a fake clock.

``FakeApi`` serves scripted :class:`Reply` objects per path from a background thread: statuses, JSON or
HTML bodies, headers (``Retry-After``), a delay (a hang past the client's timeout) and a body truncated
mid-way (``Content-Length`` announces more than is sent, then the connection closes). Every request is
recorded. Unknown paths answer 404 with a JSON body.

``FakeClock`` implements ``omc_data.builder.fetch.http.Clock``: sleeping advances it instantly and is
recorded, so retry tests never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FAKE_START_MONOTONIC = 1000.0
FAKE_START_NOW = dt.datetime(2026, 11, 24, 12, 0, 0, tzinfo=dt.timezone.utc)


class FakeClock:
    """A clock that only moves when slept on (or advanced): ``sleep`` returns at once."""

    def __init__(self, monotonic: float = FAKE_START_MONOTONIC, now: dt.datetime = FAKE_START_NOW) -> None:
        self._monotonic = monotonic
        self._now = now
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._monotonic

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._now += dt.timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)  # still yield, like a real sleep


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""  # dict/list -> JSON
    headers: dict[str, str] = field(default_factory=dict)  # content-type: JSON for dict/list/bytes
    delay: float = 0.0  # seconds before answering
    truncate: int | None = None  # send only this many body bytes, announce them all, then close
    trickle: float = 0.0  # seconds between single body bytes (a server that never quite stalls)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        if isinstance(self.body, dict | list):
            body = json.dumps(self.body).encode("utf-8")
            default_type = "application/json"
        elif isinstance(self.body, str):
            body = self.body.encode("utf-8")
            default_type = "text/plain; charset=utf-8"
        else:
            body = self.body
            default_type = "application/json"
        headers = dict(self.headers)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = default_type
        return body, headers


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; header names are lower-case."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


NOT_FOUND = Reply(404, {"status": "error", "message": "not found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeApi


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real APIs
    server: _Server
    timeout = 10  # a socket timeout, so a stuck connection never keeps a thread forever

    def setup(self) -> None:
        super().setup()
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.api._track(self.connection, add=False)

    def do_GET(self) -> None:
        api = self.server.api
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        request = Request(parts.path, query, {k.lower(): v for k, v in self.headers.items()})
        reply = api._record_and_choose(request)
        if reply.delay > 0 and api._closing.wait(reply.delay):
            self.close_connection = True
            return
        body, headers = reply.encoded()
        try:
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if reply.truncate is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            if reply.truncate is not None:
                self.wfile.write(body[: reply.truncate])
                self.close_connection = True
            elif reply.trickle > 0:
                for i in range(len(body)):
                    if api._closing.wait(reply.trickle):
                        break
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
            else:
                self.wfile.write(body)
        except OSError:  # the client gave up (a timeout) and closed the connection
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeApi:
    """A scripted JSON API on ``http://127.0.0.1:<port>``, running until closed (a context manager)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._routes: dict[str, list[Reply]] = {}
        self._pages: dict[str, dict[str, Reply]] = {}
        self._requests: list[Request] = []
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, *replies: Reply) -> None:
        """Serve ``replies`` in order at ``path``; the last one repeats."""
        if not replies:
            raise ValueError("route() needs at least one reply")
        with self._lock:
            self._routes[path] = list(replies)
            self._pages.pop(path, None)

    def route_pages(self, path: str, pages: dict[str, Reply]) -> None:
        """Choose the reply by the ``page`` query parameter ("1" when absent); other pages are 404."""
        with self._lock:
            self._pages[path] = dict(pages)
            self._routes.pop(path, None)

    @property
    def requests(self) -> list[Request]:
        """A copy of the requests received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def _record_and_choose(self, request: Request) -> Reply:
        with self._lock:
            self._requests.append(request)
            if request.path in self._pages:
                return self._pages[request.path].get(request.query.get("page", "1"), NOT_FOUND)
            replies = self._routes.get(request.path)
            if not replies:
                return NOT_FOUND
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
                if self._closing.is_set():  # accepted just before shutdown: do not keep it open
                    with contextlib.suppress(OSError):
                        connection.shutdown(socket.SHUT_RDWR)
            else:
                self._connections.discard(connection)

    def close(self) -> None:
        """Stop serving; requests still waiting out a delay are dropped at once."""
        if self._closing.is_set():
            return
        self._closing.set()  # wakes the handlers waiting out a delay
        self._server.shutdown()  # no new connections from here on
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # wake the handlers blocked on an idle keep-alive connection
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()  # joins the handler threads
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeApi:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def closed_port_url() -> str:
    """The URL of a local port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
