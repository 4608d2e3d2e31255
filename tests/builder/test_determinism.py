"""Builds are reproducible to the byte, independent per entity, and obey the domain rules in the Parquet."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import omc_data
from omc_data import catalog, defaults
from omc_data.snapshots.checksum import sha256_file
from snaptools import snapshot_rows

AS_OF = "2026-11-01T00:00:00Z"
AS_OF_DT = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
SMALL: dict[str, Any] = {"as_of": AS_OF, "users": 3, "coins": 2, "days": 1, "bcrypt_rounds": 4}
ADMIN_PASSWORD = "admin-only-pw"
RULES: dict[str, Any] = {
    "seed": 9,
    "as_of": "2026-11-01T00:07:31Z",
    "users": 40,
    "coins": 3,
    "days": 2,
    "bcrypt_rounds": 4,
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("builder-store")
    omc_data.build_snapshot("s5", store=root, seed=5, **SMALL)
    omc_data.build_snapshot("s5-again", store=root, seed=5, **SMALL)
    omc_data.build_snapshot("s6", store=root, seed=6, **SMALL)
    omc_data.build_snapshot("s5-users4", store=root, seed=5, **{**SMALL, "users": 4})
    omc_data.build_snapshot("rules", store=root, superuser_password=ADMIN_PASSWORD, **RULES)
    return root


def part_digests(store: Path, tag: str) -> dict[str, list[str]]:
    """table -> sha256 of each part file, recomputed from the bytes on disk."""
    snap = omc_data.open_snapshot(tag, store=store)
    return {name: [sha256_file(p) for p in snap.part_paths(name)] for name in snap.manifest.tables}


BUILD_SCRIPT = """
import sys, omc_data
omc_data.build_snapshot(sys.argv[2], store=sys.argv[1], seed=5, as_of="2026-11-01T00:00:00Z",
                        users=3, coins=2, days=1, bcrypt_rounds=4)
"""


def test_same_inputs_same_bytes_across_processes(store: Path, tmp_path: Path) -> None:
    envs = [
        {"PYTHONHASHSEED": "1", "TZ": "UTC", "LC_ALL": "C"},
        {"PYTHONHASHSEED": "31337", "TZ": "Australia/Sydney", "LC_ALL": "C.UTF-8"},
    ]
    procs = []
    for i, extra in enumerate(envs):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMC_DATA_")} | extra
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", BUILD_SCRIPT, str(tmp_path / f"store{i}"), "twin"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    first, second = (part_digests(tmp_path / f"store{i}", "twin") for i in range(2))
    assert first == second
    assert first == part_digests(store, "s5")  # and the same as this process's build
    assert set(first) == {t.name for t in catalog.TABLES}
    # the manifests agree on everything but the moment they were written
    docs = [json.loads((tmp_path / f"store{i}" / "twin" / "manifest.json").read_text()) for i in range(2)]
    for doc in docs:
        doc.pop("created_at")
    assert docs[0] == docs[1]


def test_rebuild_in_process_is_identical(store: Path) -> None:
    assert part_digests(store, "s5") == part_digests(store, "s5-again")


def test_another_seed_gives_other_bytes(store: Path) -> None:
    a, b = part_digests(store, "s5"), part_digests(store, "s6")
    for name in a:
        assert a[name] != b[name], name


def test_one_more_user_leaves_everything_else_alone(store: Path) -> None:
    a, b = part_digests(store, "s5"), part_digests(store, "s5-users4")
    assert a["price_data_5min"] == b["price_data_5min"]
    assert a["user"] != b["user"]
    users_a = {r["id"]: r for r in snapshot_rows(store, "s5", "user")}
    users_b = {r["id"]: r for r in snapshot_rows(store, "s5-users4", "user")}
    assert len(users_a) == 4
    assert len(users_b) == 5
    assert users_a.keys() <= users_b.keys()
    for uid, row in users_a.items():
        assert users_b[uid] == row


@pytest.mark.filterwarnings("ignore:'crypt' is deprecated:DeprecationWarning")
def test_password_hashes_verify_with_the_apps_passlib(store: Path) -> None:
    from passlib.context import CryptContext

    context = CryptContext(schemes=["bcrypt"])
    users = snapshot_rows(store, "rules", "user")
    admin = [u for u in users if u["is_superuser"]]
    others = [u for u in users if not u["is_superuser"]]
    assert len(admin) == 1
    assert admin[0]["email"] == defaults.SUPERUSER_EMAIL
    assert len(others) == RULES["users"]
    for user in users:
        assert user["hashed_password"].startswith("$2b$04$")
        assert len(user["hashed_password"]) == 60
    assert context.verify(ADMIN_PASSWORD, admin[0]["hashed_password"])
    assert not context.verify(defaults.PASSWORD, admin[0]["hashed_password"])
    user_hashes = {u["hashed_password"] for u in others}
    assert len(user_hashes) == 1  # one password, hashed once per build
    (user_hash,) = user_hashes
    assert context.verify(defaults.PASSWORD, user_hash)
    assert not context.verify(ADMIN_PASSWORD, user_hash)

    # the same seed gives the same hash; another seed another salt
    same = {u["hashed_password"] for u in snapshot_rows(store, "s5", "user")}
    assert same == {u["hashed_password"] for u in snapshot_rows(store, "s5-again", "user")}
    assert same.isdisjoint({u["hashed_password"] for u in snapshot_rows(store, "s6", "user")})
    assert all(context.verify(defaults.PASSWORD, h) for h in same)


def test_manifest_keeps_no_password(store: Path) -> None:
    text = (store / "rules" / "manifest.json").read_text()
    assert ADMIN_PASSWORD not in text
    assert defaults.PASSWORD not in text
    inputs = json.loads(text)["inputs"]
    assert (inputs["password"], inputs["superuser_password"]) == ("default", "custom")
    assert "$2b$" not in json.dumps(inputs)


def test_manifest_keeps_no_hash(store: Path) -> None:
    assert "$2b$" not in (store / "rules" / "manifest.json").read_text()


def test_price_rules_hold_in_the_parquet(store: Path) -> None:
    prices = snapshot_rows(store, "rules", "price_data_5min")
    as_of_tick = dt.datetime(2026, 11, 1, 0, 5, tzinfo=dt.timezone.utc)  # 00:07:31 floored to the tick
    per_coin: dict[str, list[dt.datetime]] = {}
    for r in prices:
        assert r["bid"] is not None and r["ask"] is not None and r["last"] is not None
        assert 0 < r["bid"] < r["ask"], r
        assert r["bid"] <= r["last"] <= r["ask"], r
        assert r["coin_type"] == r["coin_type"].lower()
        assert r["created_at"] <= as_of_tick
        per_coin.setdefault(r["coin_type"], []).append(r["timestamp"])
    assert len(per_coin) == RULES["coins"]
    assert sorted(per_coin) == ["btc", "eth", "usdt"]
    for coin, stamps in per_coin.items():
        assert len(stamps) == RULES["days"] * 288, coin
        assert stamps == sorted(stamps)
        assert stamps[-1] == as_of_tick, coin
        assert {b - a for a, b in itertools.pairwise(stamps)} == {dt.timedelta(minutes=5)}
    ids = [r["id"] for r in prices]
    assert sorted(ids) == list(range(1, len(prices) + 1))


def test_nothing_lies_after_as_of(store: Path) -> None:
    for tag, as_of in (("rules", dt.datetime(2026, 11, 1, 0, 5, tzinfo=dt.timezone.utc)), ("s5", AS_OF_DT)):
        snap = omc_data.open_snapshot(tag, store=store)
        for name in snap.manifest.tables:
            stamps = [c.name for c in catalog.table(name).columns if c.type == catalog.TIMESTAMPTZ]
            for r in snapshot_rows(store, tag, name):
                for col in stamps:
                    assert r[col] is None or r[col] <= as_of, (tag, name, col)
        for r in snapshot_rows(store, tag, "user"):
            assert r["created_at"] <= r["updated_at"]


def test_emails_use_reserved_domains_and_are_unique(store: Path) -> None:
    users = snapshot_rows(store, "rules", "user")
    emails = [u["email"] for u in users]
    assert all(e.rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"} for e in emails)
    assert all(e == e.strip() and " " not in e and e.count("@") == 1 for e in emails)
    assert len(set(emails)) == len(emails)
    assert len({e.lower() for e in emails}) == len(emails)
    domains = Counter(e.rsplit("@", 1)[1] for e in emails)
    assert len(domains) == 3
    assert all(len(e) <= 255 for e in emails)
