"""The accounts a developer can log in with, read from a snapshot's ``user`` table."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq

from omc_data.snapshots.store import Snapshot

_COLUMNS = ["email", "is_superuser", "is_active", "full_name"]


def login_accounts(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Superusers first, then by email."""
    rows: list[dict[str, Any]] = []
    for path in snapshot.part_paths("user"):
        rows.extend(pq.read_table(path, columns=_COLUMNS).to_pylist())
    return sorted(rows, key=lambda r: (not r["is_superuser"], r["email"]))
