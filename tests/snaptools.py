"""Helpers shared by the tests: small real builds, hand-made tables, file digests, the CLI as a subprocess.

Not a conftest: plain functions the test modules import (``tests/`` is on ``sys.path`` in pytest's
default import mode, since it holds the root ``conftest.py``; ``pg.py`` is imported the same way).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import omc_data
from omc_data import catalog
from omc_data.snapshots.arrowschema import arrow_schema
from omc_data.snapshots.checksum import sha256_bytes, sidecar_line
from omc_data.snapshots.manifest import MANIFEST_NAME, SIDECAR_NAME, Manifest
from omc_data.snapshots.store import Store
from omc_data.snapshots.writer import SnapshotWriter

AS_OF = "2026-11-01T00:00:00Z"
AS_OF_DT = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
SMALL: dict[str, Any] = {"seed": 7, "as_of": AS_OF, "users": 3, "coins": 2, "days": 1, "bcrypt_rounds": 4}
SMALL_CLI = ["--no-real-data", "--seed", "7", "--as-of", AS_OF, "--users", "3", "--coins", "2", "--days", "1"]
SMALL_CLI += ["--bcrypt-rounds", "4"]
# Variables that would steer the CLI from outside the test: never inherited by the subprocesses.
_STEERING = ("OMC_DATA_", "FIRST_SUPERUSER", "DATABASE_URL", "POSTGRES_")


def build_small(store: Path, tag: str, **overrides: Any) -> Manifest:
    """A real build, kept small (~0.1 s): 4 users, 2 coins, 1 day of ticks."""
    return omc_data.build_snapshot(tag, store=store, **{**SMALL, **overrides})


# --- files ---------------------------------------------------------------------------------------


def tree_state(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and folder under ``root``: (sha256 or 'dir', size, mtime_ns), by relative path."""
    out: dict[str, tuple[str, int, int]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            out[rel] = ("dir", 0, st.st_mtime_ns)
        else:
            out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
    return out


def snapshot_rows(store: Path, tag: str, table: str) -> list[dict[str, Any]]:
    """Every row of a snapshot's table, read back from its Parquet parts in order."""
    snap = omc_data.open_snapshot(tag, store=store)
    return [r for p in snap.part_paths(table) for r in pq.read_table(p).to_pylist()]


def fresh_copy(base: Path, tmp_path: Path) -> Path:
    """A private copy of a module-wide store, for a test that damages it."""
    root = tmp_path / "s"
    shutil.copytree(base, root)
    return root


def read_manifest_doc(snapshot: Path) -> Any:
    return json.loads((snapshot / MANIFEST_NAME).read_text())


def write_manifest(snapshot: Path, data: bytes | Any) -> None:
    """Rewrite manifest.json and recompute its sidecar, so only the intended defect remains."""
    raw = data if isinstance(data, bytes) else (json.dumps(data, indent=2) + "\n").encode()
    (snapshot / MANIFEST_NAME).write_bytes(raw)
    (snapshot / SIDECAR_NAME).write_text(sidecar_line(sha256_bytes(raw), MANIFEST_NAME))


# --- hand-made tables --------------------------------------------------------------------------------


def write_snapshot(store: Path, tag: str, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Publish a hand-made snapshot of ``tables`` (rows as dicts; the writer runs no domain checks)."""
    with SnapshotWriter(Store(store), tag) as writer:
        for name in catalog.load_order(tables):
            t = catalog.table(name)
            writer.write_table(t, pa.Table.from_pylist(tables[name], schema=arrow_schema(t)))
        writer.publish(inputs={}, libraries={}, omc_data_version="test")


def arrow_table(table_name: str, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows (dicts; missing columns are NULL) as an Arrow table of the catalog's types, nullable fields."""
    schema = arrow_schema(catalog.table(table_name))
    columns = {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}
    return pa.table(columns)


def user_row(n: int, **overrides: Any) -> dict[str, Any]:
    ts = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    row = {
        "email": f"user{n}@example.com",
        "is_active": True,
        "is_superuser": n == 0,
        "full_name": f"User {n}",
        "id": uuid.UUID(int=n + 1),
        "hashed_password": "$2b$04$" + "x" * 53,
        "created_at": ts,
        "updated_at": ts,
    }
    return {**row, **overrides}


def session_row(n: int, user_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    ts = dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)
    row = {
        "id": uuid.UUID(int=1000 + n),
        "user_id": user_id,
        "user_goal": "find a strategy",
        "status": "completed",
        "created_at": ts,
        "updated_at": ts,
    }
    return {**row, **overrides}


def price_row(n: int, bid: str, ask: str, last: str, **overrides: Any) -> dict[str, Any]:
    ts = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=5 * n)
    row = {
        "id": n + 1,
        "coin_type": "btc",
        "bid": decimal.Decimal(bid),
        "ask": decimal.Decimal(ask),
        "last": decimal.Decimal(last),
        "timestamp": ts,
        "created_at": ts,
    }
    return {**row, **overrides}


# --- the CLI ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:  # shown by pytest when an assertion about a run fails
        return (
            f"omc-data {' '.join(self.args)} -> {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STEERING)}
    env.update(extra or {})
    return env


class Pending:
    """A CLI run in progress: start several, then collect them, so their import costs overlap."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None, cwd: Path | None) -> None:
        self.args = tuple(args)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omc_data", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=cli_env(env),
            cwd=cwd,
        )

    def result(self, timeout: float = 120) -> Run:
        with self.proc:
            out, err = self.proc.communicate(timeout=timeout)
        return Run(self.args, self.proc.returncode, out, err)


def spawn_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Pending:
    """Start ``python -m omc_data ARGS`` (environment variables that steer omc-data are not inherited)."""
    return Pending(args, env, cwd)


def run_cli_many(
    calls: Sequence[Sequence[str]], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> list[Run]:
    """Run the CLI once per call, concurrently (each run pays ~1-2 s of imports)."""
    pending = [Pending(args, env, cwd) for args in calls]
    return [p.result() for p in pending]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    return run_cli_many([args], env=env, cwd=cwd)[0]


def assert_json_error(run: Run, *, kind: str, code: int) -> dict[str, Any]:
    """The run failed with ``code``, one JSON error document on stdout and one line on stderr."""
    assert run.code == code, run
    error: dict[str, Any] = run.json()["error"]
    assert error["kind"] == kind, run
    assert error["exit_code"] == code
    assert error["message"] and error["hint"], run
    assert_one_line_error(run)
    return error


def assert_one_line_error(run: Run) -> str:
    """One line on stderr, starting with 'error:', and no traceback."""
    assert "Traceback" not in run.stderr, run
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run
    assert lines[0].startswith("error: "), run
    return lines[0]
