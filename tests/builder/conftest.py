"""Fixtures for the fetching and source tests: a real local HTTP server and a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakeapi import FakeApi, FakeClock


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """A running :class:`FakeApi` on 127.0.0.1, closed after the test."""
    with FakeApi() as api:
        yield api


@pytest.fixture
def fake_clock() -> FakeClock:
    """A :class:`FakeClock` at monotonic 1000.0 and 2026-11-24T12:00:00Z; sleeping is instant."""
    return FakeClock()
