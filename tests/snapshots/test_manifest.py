"""The manifest: round-trips, its own checksum, and every way it can be damaged (one-line errors, exit 1)."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omc_data.errors import ManifestError
from omc_data.snapshots.checksum import parse_sidecar, sha256_file, sidecar_line
from omc_data.snapshots.manifest import (
    MANIFEST_NAME,
    SIDECAR_NAME,
    ColumnEntry,
    FileEntry,
    Manifest,
    TableEntry,
    parse_manifest,
)
from omc_data.snapshots.store import TAG_PATTERN, Store
from omc_data.snapshots.timefmt import format_timestamp, parse_timestamp
from snaptools import (
    assert_json_error,
    assert_one_line_error,
    build_small,
    fresh_copy,
    read_manifest_doc,
    run_cli,
    run_cli_many,
    tree_state,
    write_manifest,
)

# --- round trip -------------------------------------------------------------------------------------

tags = st.from_regex(TAG_PATTERN, fullmatch=True)
names = st.text(min_size=1, max_size=12)
hex_digests = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
segments = st.text(alphabet="abcxyz019._-", min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
rel_paths = st.lists(segments, min_size=1, max_size=4).map("/".join)
decimals_as_text = st.decimals(allow_nan=False, allow_infinity=False, places=8).map(lambda d: format(d, "f"))
instants = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [dt.timezone.utc, dt.timezone(dt.timedelta(hours=10)), dt.timezone(-dt.timedelta(hours=5))]
    ),
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | decimals_as_text
    | instants.map(format_timestamp)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=5)


@st.composite
def file_entries(draw: st.DrawFn, *, rows: bool) -> FileEntry:
    return FileEntry(
        path=draw(rel_paths),
        bytes=draw(st.integers(min_value=0, max_value=2**53)),
        sha256=draw(hex_digests),
        rows=draw(st.integers(min_value=0, max_value=10**9)) if rows else None,
    )


COLUMN_TYPES = ["text", "varchar(100)", "numeric(20,8)", "timestamptz", "uuid", "integer", "bigint"]
COLUMN_TYPES += ["boolean"]


def extremes(column_type: str) -> st.SearchStrategy[Any]:
    """Extremes of the kind the writer records for ``column_type`` (a wrong kind is damage)."""
    if column_type in ("integer", "bigint"):
        return st.none() | st.integers(-(2**63), 2**63 - 1)
    if column_type == "boolean":
        return st.none() | st.booleans()
    return st.none() | st.text(max_size=12)


@st.composite
def table_entries(draw: st.DrawFn, name: str) -> TableEntry:
    parts = tuple(draw(st.lists(file_entries(rows=True), max_size=3)))
    schema = draw(
        st.lists(
            st.builds(ColumnEntry, name=names, type=st.sampled_from(COLUMN_TYPES), nullable=st.booleans()),
            min_size=1,
            max_size=4,
            unique_by=lambda c: c.name,
        )
    )
    stats: dict[str, dict[str, Any]] = {}
    for column in draw(st.lists(st.sampled_from(schema), max_size=3, unique_by=lambda c: c.name)):
        stats[column.name] = draw(
            st.fixed_dictionaries(
                {"nulls": st.integers(0, 10**6), "min": extremes(column.type), "max": extremes(column.type)},
                optional={"max_length": st.integers(0, 10**4), "max_scale": st.integers(0, 8)},
            )
        )
    return TableEntry(
        name=name,
        rows=sum(p.rows or 0 for p in parts),
        parts=parts,
        schema=tuple(schema),
        primary_key=tuple(draw(st.lists(names, max_size=2))),
        diff_key=tuple(draw(st.lists(names, max_size=2))),
        stats=stats,
    )


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    table_names = draw(st.lists(names, max_size=3, unique=True))
    return Manifest(
        tag=draw(tags),
        kind=draw(st.sampled_from(["build", "capture"])),
        created_at=draw(instants),
        parent=draw(st.none() | tags),
        omc_data_version=draw(st.text(max_size=10)),
        libraries=draw(st.dictionaries(names, st.text(max_size=10), max_size=4)),
        catalog_fingerprint=draw(hex_digests),
        inputs=draw(json_objects),
        sources=draw(st.dictionaries(names, json_objects, max_size=3)),
        tables={name: draw(table_entries(name)) for name in table_names},
        raw=tuple(draw(st.lists(file_entries(rows=False), max_size=3))),
        validation=draw(json_objects),
    )


@settings(max_examples=100, deadline=None)
@given(manifest=manifests())
def test_a_manifest_round_trips(manifest: Manifest) -> None:
    text = manifest.dumps()
    parsed = parse_manifest(text, tag=manifest.tag)
    assert parsed.to_json() == manifest.to_json()
    assert parsed.dumps() == text
    assert parsed == manifest
    assert parsed.created_at.tzinfo == dt.timezone.utc


@settings(max_examples=100, deadline=None)
@given(instant=instants)
def test_timestamps_are_rfc3339_utc_with_z_and_round_trip(instant: dt.datetime) -> None:
    text = format_timestamp(instant)
    assert text.endswith("Z")
    assert text[4] == "-" and text[10] == "T"  # four-digit years, even before 1000
    assert parse_timestamp(text) == instant


@settings(max_examples=50, deadline=None)
@given(digest=hex_digests)
def test_the_sidecar_line_round_trips(digest: str) -> None:
    assert parse_sidecar(sidecar_line(digest, MANIFEST_NAME)) == digest


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small real snapshot, copied by each test that damages it."""
    root = tmp_path_factory.mktemp("base") / "s"
    build_small(root, "v1")
    return root


@pytest.fixture
def store(base: Path, tmp_path: Path) -> Path:
    return fresh_copy(base, tmp_path)


def test_the_sidecar_is_what_sha256sum_checks(store: Path) -> None:
    subprocess.run(["sha256sum", "--check", "--quiet", SIDECAR_NAME], cwd=store / "v1", check=True)
    expected = sha256_file(store / "v1" / MANIFEST_NAME)
    assert parse_sidecar((store / "v1" / SIDECAR_NAME).read_text()) == expected


def test_a_published_manifest_records_what_the_design_says(store: Path) -> None:
    doc = read_manifest_doc(store / "v1")
    assert doc["format_version"] == 2 and doc["tag"] == "v1"  # its json columns need the second version
    assert doc["created_at"].endswith("Z")
    assert doc["inputs"]["as_of"] == "2026-11-01T00:00:00Z"
    assert doc["inputs"]["password"] == "default"
    assert {"pyarrow", "numpy", "faker", "polars"} <= set(doc["libraries"])
    for table in doc["tables"].values():
        assert all(set(c) == {"name", "type", "nullable"} for c in table["schema"])
        assert table["rows"] == sum(p["rows"] for p in table["parts"])
    bid = doc["tables"]["price_data_5min"]["stats"]["bid"]
    assert isinstance(bid["min"], str) and "." in bid["min"]  # decimals as strings
    assert doc["validation"]["passed"] is True


# --- damaged manifests --------------------------------------------------------------------------------


def _edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def damage(snapshot: Path) -> None:
        doc = read_manifest_doc(snapshot)
        change(doc)
        write_manifest(snapshot, doc)

    return damage


def _flip_a_byte(snapshot: Path) -> None:
    path = snapshot / MANIFEST_NAME
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _missing_fields(doc: dict[str, Any]) -> None:
    del doc["created_at"], doc["tables"]


def _rows_disagree(doc: dict[str, Any]) -> None:
    doc["tables"]["user"]["rows"] += 1


def _part_leaves_the_snapshot(doc: dict[str, Any]) -> None:
    doc["tables"]["user"]["parts"][0]["path"] = "../v0/tables/user/part-00000.parquet"


# (defect, how it is made, the fragment its message must carry)
DAMAGES: list[tuple[str, Callable[[Path], object], str]] = [
    ("not-json", lambda s: write_manifest(s, b'{"format_version": 1, "tag": '), "is not valid JSON"),
    ("not-an-object", lambda s: write_manifest(s, b"[1, 2]\n"), "is not a JSON object"),
    ("not-utf8", lambda s: write_manifest(s, b'{"tag": "\xff"}'), "is not UTF-8"),
    ("format-version-3", _edit(lambda d: d.update(format_version=3)), "format_version 3"),
    ("format-version-1", _edit(lambda d: d.update(format_version=1)), "types of format_version 2"),
    ("missing-fields", _edit(_missing_fields), "lacks created_at, tables"),
    ("rows-disagree", _edit(_rows_disagree), "rows disagree with its parts"),
    ("path-escapes", _edit(_part_leaves_the_snapshot), "leaves the snapshot directory"),
    ("bad-timestamp", _edit(lambda d: d.update(created_at="yesterday")), "is malformed"),
    ("fails-own-checksum", _flip_a_byte, f"fails its own checksum ({SIDECAR_NAME})"),
    ("no-sidecar", lambda s: (s / SIDECAR_NAME).unlink(), f"has no {SIDECAR_NAME}"),
    (
        "bad-sidecar",
        lambda s: (s / SIDECAR_NAME).write_text("garbage\n"),
        f"{SIDECAR_NAME} of 'v1' is malformed",
    ),
    ("no-manifest", lambda s: (s / MANIFEST_NAME).unlink(), f"has no {MANIFEST_NAME}"),
    ("another-tag", _edit(lambda d: d.update(tag="v2")), "belongs to tag 'v2'"),
]


@pytest.mark.parametrize(("defect", "damage", "fragment"), DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_manifest_is_refused_with_one_line_and_exit_1(
    defect: str, damage: Callable[[Path], None], fragment: str, store: Path
) -> None:
    damage(store / "v1")
    before = tree_state(store)

    with pytest.raises(ManifestError) as info:
        Store(store).open("v1")
    assert fragment in str(info.value)
    assert info.value.tag == "v1" and info.value.exit_code == 1
    (listed,) = Store(store).snapshots()  # listing still works and says what is wrong
    assert listed.manifest is None and listed.error is not None and fragment in listed.error

    show_json, show_text, verify_json, verify_text = run_cli_many(
        [
            ["--store", str(store), "show", "v1", "--json"],
            ["--store", str(store), "show", "v1"],
            ["--store", str(store), "verify", "v1", "--json"],
            ["--store", str(store), "verify", "v1"],
        ]
    )
    for run in (show_json, verify_json):
        error = assert_json_error(run, kind="manifest_error", code=1)
        assert "'v1'" in error["message"] and fragment in error["message"]
        assert "omc-data rm" in error["hint"]  # the way out
    for run in (show_text, verify_text):
        assert run.code == 1, run
        assert run.stdout == "", run
        line = assert_one_line_error(run)
        assert "'v1'" in line and fragment in line and "omc-data rm" in line
    assert tree_state(store) == before  # nothing was repaired, moved or removed


def test_a_snapshot_folder_renamed_to_another_tag_is_refused(store: Path) -> None:
    (store / "v1").rename(store / "v9")
    before = tree_state(store)
    run = run_cli("--store", str(store), "verify", "v9", "--json")
    error = assert_json_error(run, kind="manifest_error", code=1)
    assert "manifest in directory 'v9' belongs to tag 'v1'" in error["message"]
    assert tree_state(store) == before


def test_a_traceback_is_shown_with_omc_data_debug(store: Path) -> None:
    _flip_a_byte(store / "v1")
    run = run_cli("--store", str(store), "show", "v1", env={"OMC_DATA_DEBUG": "1"})
    assert run.code == 1, run
    assert "Traceback" in run.stderr
    assert "ManifestError" in run.stderr
