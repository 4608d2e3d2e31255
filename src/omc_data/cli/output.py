"""What the CLI prints, and where: results on stdout, progress, logs and errors on stderr.

``--json`` prints exactly one JSON document on stdout (errors too), with stable snake_case keys.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from omc_data.errors import OmcDataError


def _console(*, err: bool) -> Console:
    """Wide when not a terminal, so piped tables and one-line errors are never folded at 80 columns."""
    probe = Console(stderr=err)
    return Console(stderr=err, highlight=False, width=None if probe.is_terminal else 200)


stdout = _console(err=False)
stderr = _console(err=True)
log = logging.getLogger("omc_data.cli")


@dataclass
class Settings:
    """The global options, shared by every command through typer's context."""

    store: Path
    verbosity: int  # -1 quiet, 0 normal, 1 info, 2 debug


def setup_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler: logging.Handler
    if stderr.is_terminal:
        handler = RichHandler(console=stderr, show_path=False, show_time=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("omc-data: %(levelname)s: %(message)s"))
    root = logging.getLogger("omc_data")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # -vv also shows the HTTP client's own lines (request URLs: the collectors scrub tokens out of them)
    for name in ("httpx", "httpcore"):
        lib = logging.getLogger(name)
        lib.handlers[:] = [handler] if level <= logging.DEBUG else []
        lib.setLevel(level if level <= logging.DEBUG else logging.WARNING)
        lib.propagate = level > logging.DEBUG


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def notice(message: str, settings: Settings | None = None) -> None:
    """A line for people on stderr (silenced by -q)."""
    if settings is None or settings.verbosity >= 0:
        stderr.print(message, markup=False)


def warn(message: str) -> None:
    stderr.print(f"warning: {message}", style="yellow", markup=False)


# The library's messages name its parameters; the CLI says its flags instead. One mapping, here.
PARAMETER_FLAGS: dict[str, str] = {
    "allow_column_loss=True": "--allow-column-loss",
    "as_of": "--as-of",
    "cascade=True": "--cascade",
    "create_schema=True": "--create-schema",
    "lock_timeout": "--lock-timeout",
    "store=PATH": "--store",
    "tables=[...]": "--tables",
    "wait=True": "--wait",
}
_NAMES = "|".join(re.escape(p) for p in sorted(PARAMETER_FLAGS, key=len, reverse=True))
_PARAMETER = re.compile(rf"(?<![\w-])({_NAMES})(?!\w)")


def as_flags(text: str) -> str:
    """``text`` with the library's parameter names replaced by the CLI's flags."""
    return _PARAMETER.sub(lambda m: PARAMETER_FLAGS[m.group(1)], text)


def error_document(exc: OmcDataError) -> dict[str, Any]:
    """The ``--json`` error document: kind, message, hint, details, exit code, and the error's fields."""
    doc: dict[str, Any] = {
        "kind": exc.kind,
        "message": as_flags(exc.message),
        "hint": as_flags(exc.hint) if exc.hint else exc.hint,
        "details": [as_flags(line) for line in exc.details],
        "exit_code": exc.exit_code,
    }
    for name, value in exc.fields().items():
        doc.setdefault(name, value)  # a field never hides the fixed keys
    return {"error": doc}


def render_error(exc: OmcDataError, *, json_mode: bool) -> None:
    if json_mode:
        emit_json(error_document(exc))
    stderr.print(f"error: {as_flags(str(exc))}", style="red", markup=False, soft_wrap=True)
    for line in exc.details:
        stderr.print(f"  - {as_flags(line)}", markup=False, soft_wrap=True)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class _RichTask:
    def __init__(self, bar: Progress, task_id: Any) -> None:
        self.bar, self.task_id = bar, task_id

    def advance(self, amount: int = 1) -> None:
        self.bar.advance(self.task_id, amount)


class _LogTask:
    def advance(self, amount: int = 1) -> None:
        return None


class CliProgress:
    """Progress bars on stderr when it is a terminal; otherwise one INFO log line per finished task."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = stderr.is_terminal and settings.verbosity >= 0
        self.bar: Progress | None = None

    @contextmanager
    def session(self) -> Iterator[CliProgress]:
        if not self.enabled:
            yield self
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        ) as bar:
            self.bar = bar
            try:
                yield self
            finally:
                self.bar = None

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[_RichTask | _LogTask]:
        started = time.perf_counter()
        if self.bar is None:
            yield _LogTask()
        else:
            task_id = self.bar.add_task(description, total=total)
            try:
                yield _RichTask(self.bar, task_id)
            finally:
                self.bar.remove_task(task_id)
        log.info("%s: %.2fs", description, time.perf_counter() - started)
