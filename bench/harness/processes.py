"""The spawner: forks, times and reaps the children, so that their ru_maxrss is not the harness's.

See the package docstring for why the children are not forked by the harness itself.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .definitions import MB, BenchmarkError

_SPAWNER_CODE = r"""
import marshal, os, signal, time

def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf

def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]

def child(path, argv, env, cwd, stderr_path):
    try:
        os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        for name in ("SIGPIPE", "SIGXFSZ"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        if cwd is not None:
            os.chdir(cwd)
        os.execve(path, argv, env)
    except BaseException as exc:
        try:
            os.write(2, ("omc-bench: cannot start %s: %s\n" % (path, exc)).encode())
        finally:
            os._exit(127)

def main():
    state = {"pid": 0, "timed_out": False}
    def on_alarm(signum, frame):
        if state["pid"]:
            state["timed_out"] = True
            os.kill(state["pid"], signal.SIGKILL)
    signal.signal(signal.SIGALRM, on_alarm)
    while True:
        header = read_exact(8)
        body = header and read_exact(int.from_bytes(header, "little"))
        if not body:
            return
        path, argv, env, cwd, stderr_path, timeout = marshal.loads(body)
        state["timed_out"] = False
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            child(path, argv, env, cwd, stderr_path)
        state["pid"] = pid
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: pid stays ours
        t1 = time.perf_counter()
        state["pid"] = 0
        signal.setitimer(signal.ITIMER_REAL, 0)
        _, status, ru = os.wait4(pid, 0)
        reply = marshal.dumps((status, t1 - t0, ru.ru_maxrss, ru.ru_utime + ru.ru_stime, state["timed_out"]))
        write_all(len(reply).to_bytes(8, "little") + reply)

try:
    main()
except KeyboardInterrupt:
    os._exit(130)
"""


@dataclass(frozen=True)
class RawRun:
    status: int
    seconds: float
    maxrss_mb: float
    cpu_seconds: float
    timed_out: bool

    @property
    def exit_code(self) -> int:
        return os.waitstatus_to_exitcode(self.status)


def maxrss_mb(maxrss: int) -> float:
    return maxrss / MB if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, KiB elsewhere


class Spawner:
    """A ``python -S -I`` child that forks, times and reaps the contenders on request."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-S", "-I", "-c", _SPAWNER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )

    def __enter__(self) -> Spawner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        path: str,
        argv: list[str],
        env: dict[str, str],
        cwd: Path | None,
        stderr: Path,
        timeout: float | None,
    ) -> RawRun:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        request = marshal.dumps(
            (path, argv, env, None if cwd is None else str(cwd), str(stderr), float(timeout or 0))
        )
        try:
            self._proc.stdin.write(len(request).to_bytes(8, "little") + request)
            header = self._read_exact(8)
            reply = marshal.loads(self._read_exact(int.from_bytes(header, "little")))
        except (OSError, EOFError) as exc:
            raise BenchmarkError(f"the spawner process died (exit code {self._proc.poll()}): {exc}") from exc
        status, seconds, maxrss, cpu, timed_out = reply
        return RawRun(int(status), float(seconds), maxrss_mb(int(maxrss)), float(cpu), bool(timed_out))

    def _read_exact(self, n: int) -> bytes:
        assert self._proc.stdout is not None
        buf = b""
        while len(buf) < n:
            chunk = self._proc.stdout.read(n - len(buf))
            if not chunk:
                raise EOFError("no reply")
            buf += chunk
        return buf

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def rss_floor(spawner: Spawner, logs: Path) -> float | None:
    """What a child that uses almost nothing reports as peak RSS: inherited from the spawner."""
    true = shutil.which("true")
    if true is None:
        return None
    runs = [spawner.run(true, ["true"], dict(os.environ), None, logs / "floor.stderr", 10) for _ in range(2)]
    if any(r.status != 0 for r in runs):
        return None
    return min(r.maxrss_mb for r in runs)
