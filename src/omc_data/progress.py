"""How long work reports progress without printing: a small protocol with a no-op default.

Library code calls ``progress.task(...)`` and ``advance(...)``; the CLI passes an implementation that
draws rich progress bars on stderr, the tests and the Python API default to ``NULL_PROGRESS``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol


class Task(Protocol):
    def advance(self, amount: int = 1) -> None: ...


class Progress(Protocol):
    def task(self, description: str, total: int | None = None) -> AbstractContextManager[Task]:
        """A unit of work (a table, a file, a source); ``total`` in the unit ``advance`` counts."""
        ...


class _NullTask:
    def advance(self, amount: int = 1) -> None:
        return None

    def __enter__(self) -> _NullTask:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class NullProgress:
    """Reports nothing."""

    def task(self, description: str, total: int | None = None) -> _NullTask:
        return _NullTask()


NULL_PROGRESS: Progress = NullProgress()
