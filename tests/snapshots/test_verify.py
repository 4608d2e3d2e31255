"""verify: every file under tables/ and raw/ against the manifest; any altered byte is found."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omc_data import catalog
from omc_data.errors import IntegrityError
from omc_data.snapshots.store import Store
from omc_data.snapshots.writer import SnapshotWriter
from snaptools import build_small, fresh_copy, run_cli, run_cli_many, tree_state

TAG = "v1"
USER_PART = "tables/user/part-00000.parquet"
PRICE_PART = "tables/price_data_5min/part-00000.parquet"
RAW = "raw/coinspot/latest.json"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one snapshot holding two tables and a raw response (copied by each test)."""
    tmp = tmp_path_factory.mktemp("verify")
    build_small(tmp / "built", "src")
    parts = tmp / "built" / "src" / "tables"
    root = tmp / "s"
    with SnapshotWriter(Store(root), TAG) as writer:
        for name in ("user", "price_data_5min"):
            writer.write_table(catalog.table(name), pq.read_table(parts / name / "part-00000.parquet"))
        writer.write_raw("coinspot/latest.json", b'{"status": "ok", "prices": {"btc": {"bid": "1"}}}\n')
        writer.publish(inputs={}, libraries={}, omc_data_version="test")
    return root


@pytest.fixture
def store(base: Path, tmp_path: Path) -> Path:
    return fresh_copy(base, tmp_path)


def test_an_intact_snapshot_verifies(store: Path) -> None:
    files = Store(store).open(TAG).manifest.files()
    assert sorted(files) == sorted([USER_PART, PRICE_PART, RAW])
    as_json, as_text = run_cli_many(
        [["--store", str(store), "verify", TAG, "--json"], ["--store", str(store), "verify", TAG]]
    )
    assert as_json.code == 0, as_json
    assert as_json.json() == {"tag": TAG, "ok": True, "files_checked": 3, "problems": []}
    assert as_text.code == 0, as_text
    assert as_text.stderr == ""


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_flipped_byte_fails_verification(base: Path, data: st.DataObject) -> None:
    files = Store(base).open(TAG).manifest.files()
    rel = data.draw(st.sampled_from(sorted(files)), label="file")
    position = data.draw(st.integers(0, files[rel].bytes - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "s"
        shutil.copytree(base, root)
        path = root / TAG / rel
        content = bytearray(path.read_bytes())
        content[position] ^= mask
        path.write_bytes(bytes(content))

        snapshot = Store(root).open(TAG)  # the manifest is intact: the snapshot opens
        assert snapshot.problems() == [f"checksum mismatch in {rel}"]
        with pytest.raises(IntegrityError) as info:
            snapshot.verify()
        assert info.value.exit_code == 1
        assert rel in str(info.value)


def test_the_cli_names_a_flipped_byte_and_exits_1(store: Path) -> None:
    path = store / TAG / PRICE_PART
    content = bytearray(path.read_bytes())
    content[100] ^= 0xFF
    path.write_bytes(bytes(content))
    as_json, as_text = run_cli_many(
        [["--store", str(store), "verify", TAG, "--json"], ["--store", str(store), "verify", TAG]]
    )
    assert as_json.code == 1, as_json
    assert as_json.json() == {
        "tag": TAG,
        "ok": False,
        "files_checked": 3,
        "problems": [f"checksum mismatch in {PRICE_PART}"],
    }
    assert as_text.code == 1, as_text
    assert f"{TAG}: checksum mismatch in {PRICE_PART}" in as_text.stderr.splitlines()
    assert "Traceback" not in as_text.stderr


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-10])


DAMAGES = [
    ("missing part", lambda s: (s / USER_PART).unlink(), f"missing file {USER_PART}"),
    ("missing raw", lambda s: (s / RAW).unlink(), f"missing file {RAW}"),
    (
        "part replaced by a folder",
        lambda s: ((s / USER_PART).unlink(), (s / USER_PART).mkdir()),
        f"{USER_PART} is a directory",
    ),
    (
        "extra part",
        lambda s: shutil.copy(s / USER_PART, s / "tables/user/part-00001.parquet"),
        "extra file tables/user/part-00001.parquet",
    ),
    (
        "extra table",
        lambda s: ((s / "tables/orders").mkdir(), (s / "tables/orders/part-00000.parquet").write_bytes(b"")),
        "extra file tables/orders/part-00000.parquet",
    ),
    (
        "extra raw",
        lambda s: (s / "raw/coinspot/more.json").write_text("{}"),
        "extra file raw/coinspot/more.json",
    ),
    ("extra symlink", lambda s: (s / "raw/link").symlink_to(s / RAW), "extra file raw/link"),
    ("truncated", lambda s: _truncate(s / PRICE_PART), f"size mismatch in {PRICE_PART}"),
    ("grown", lambda s: (s / RAW).write_bytes((s / RAW).read_bytes() + b" "), f"size mismatch in {RAW}"),
]


@pytest.mark.parametrize(("damage", "expected"), [d[1:] for d in DAMAGES], ids=[d[0] for d in DAMAGES])
def test_verify_names_each_problem(damage: Callable[[Path], object], expected: str, store: Path) -> None:
    damage(store / TAG)
    problems = Store(store).open(TAG).problems()
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_truncated_file_reports_both_sizes(store: Path) -> None:
    path = store / TAG / PRICE_PART
    size = path.stat().st_size
    _truncate(path)
    assert Store(store).open(TAG).problems() == [
        f"size mismatch in {PRICE_PART} ({size - 10} bytes, manifest says {size})"
    ]


def test_the_cli_lists_every_problem_at_once_and_changes_nothing(store: Path) -> None:
    snap = store / TAG
    (snap / USER_PART).unlink()
    _truncate(snap / PRICE_PART)
    (snap / "tables/user/extra.parquet").write_bytes(b"PAR1")
    (snap / "raw/notes.txt").write_text("hello")
    before = tree_state(store)
    run = run_cli("--store", str(store), "verify", TAG, "--json")
    assert run.code == 1, run
    doc = run.json()
    assert doc["ok"] is False and doc["files_checked"] == 3
    assert [p.split(" (")[0] for p in doc["problems"]] == [
        f"size mismatch in {PRICE_PART}",
        f"missing file {USER_PART}",
        "extra file raw/notes.txt",
        "extra file tables/user/extra.parquet",
    ]
    with pytest.raises(IntegrityError, match="and 3 more"):
        Store(store).open(TAG).verify()
    assert tree_state(store) == before
