"""Ctrl-C says what happened (issue 14, item 7): one line on stderr, an error document under --json,
exit 130, and nothing changed: a load rolls back, a build publishes nothing.

Each test starts the real CLI, waits for a progress line on stderr (polled, with a generous deadline),
then sends SIGINT, as a terminal's Ctrl-C would.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_load import db_state

import omc_data
from snaptools import Pending, spawn_cli
from trusttools import store_state

BIG: dict[str, Any] = {"as_of": "2026-11-01T00:00:00Z", "days": 200, "coins": 10, "bcrypt_rounds": 4}


class Watched:
    """A CLI run whose stderr is read as it comes, so a test can wait for a line, then interrupt it."""

    def __init__(self, run: Pending) -> None:
        self.run, self.lines = run, list[str]()
        assert run.proc.stderr is not None
        stream = run.proc.stderr
        self.reader = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self.reader.start()

    def wait_for(self, text: str, deadline_s: float = 120) -> None:
        deadline = time.monotonic() + deadline_s
        while not any(text in line for line in self.lines):
            assert self.run.proc.poll() is None, f"exited {self.run.proc.returncode} first: {self.lines}"
            assert time.monotonic() < deadline, (
                f"no {text!r} on stderr within {deadline_s:.0f}s: {self.lines}"
            )
            time.sleep(0.02)  # polling interval of a condition, not a synchronising sleep

    def interrupt(self) -> tuple[int, str, str]:
        with self.run.proc as proc:  # closes the pipes
            proc.send_signal(signal.SIGINT)
            assert proc.stdout is not None
            out = proc.stdout.read()
            code = proc.wait(timeout=120)
            self.reader.join(timeout=30)
        return code, out, "".join(self.lines)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interrupt-store")
    omc_data.build_snapshot("big", store=root, seed=1, users=50, **BIG)
    return root


def _cli(store: Path, *args: str) -> Watched:
    return Watched(spawn_cli("-v", "--store", str(store), *args))


@pytest.mark.parametrize("json_mode", [False, True])
def test_ctrl_c_during_a_build_says_nothing_was_published(store: Path, json_mode: bool) -> None:
    before = store_state(store)
    flags = ["--json"] if json_mode else []
    run = _cli(store, "build", "--tag", "new", "--no-real-data", "--seed", "2", "--as-of", BIG["as_of"],
               "--days", str(BIG["days"]), "--coins", "10", *flags)  # fmt: skip
    run.wait_for("generating price_data_5min")
    code, out, err = run.interrupt()
    assert code == 130, (out, err)
    assert err.strip().splitlines()[-1] == "interrupted: nothing was published", err
    assert "Traceback" not in err
    if json_mode:
        error = json.loads(out)["error"]
        assert error["kind"] == "interrupted" and error["exit_code"] == 130
        assert error["message"] == "interrupted: nothing was published"
    else:
        assert out == ""
    assert store_state(store) == before


@pytest.mark.parametrize("json_mode", [False, True])
def test_ctrl_c_during_a_load_rolls_back_and_says_nothing_was_changed(
    store: Path, pg_db: str, json_mode: bool
) -> None:
    omc_data.load_snapshot("big", db=pg_db, store=store, create_schema=True, tables=["user"])
    before, files = db_state(pg_db), store_state(store)
    flags = ["--json"] if json_mode else []
    run = _cli(store, "load", "big", "--db", pg_db, *flags)
    run.wait_for("empty tables:")  # inside the load's transaction, before the big COPY
    code, out, err = run.interrupt()
    assert code == 130, (out, err)
    assert err.strip().splitlines()[-1] == "interrupted: nothing was changed", err
    assert "Traceback" not in err
    if json_mode:
        error = json.loads(out)["error"]
        assert error["kind"] == "interrupted" and error["message"] == "interrupted: nothing was changed"
    assert db_state(pg_db) == before
    assert store_state(store) == files
