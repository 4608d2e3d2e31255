"""Replay (issue 14): a recorded response that is not gzip, or that inflates past the bound, is a one-line
error naming the file; nothing is built and the store is unchanged."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from fakeapi import FakeApi, FakeClock
from recorded import request, serve

import omc_data
from omc_data.builder.fetch.raw import MAX_INFLATED_BYTES
from omc_data.snapshots.checksum import sha256_bytes
from snaptools import read_manifest_doc, run_cli, write_manifest
from trusttools import store_state

SMALL: dict[str, Any] = {"seed": 7, "users": 1, "coins": 2, "days": 1, "bcrypt_rounds": 4}


def _replace_raw(snapshot: Path, rel: str, data: bytes) -> None:
    """Put ``data`` in place of a raw response and vouch for it in the manifest: only the content is bad."""
    (snapshot / rel).write_bytes(data)
    doc = read_manifest_doc(snapshot)
    for entry in doc["raw"]:
        if entry["path"] == rel:
            entry.update(bytes=len(data), sha256=sha256_bytes(data))
    write_manifest(snapshot, doc)


def _bomb() -> bytes:
    """A few hundred KB of gzip that inflates one byte past the bound."""
    header = json.dumps({"envelope": 1, "source": "coinspot"}).encode() + b"\n"
    return gzip.compress(header + b" " * MAX_INFLATED_BYTES, compresslevel=9)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (lambda: b'{"prices": "plain JSON, never compressed"}', "not a gzip-compressed omc-data response"),
        (_bomb, f"inflates beyond the {MAX_INFLATED_BYTES // (1024 * 1024)} MB bound"),
    ],
    ids=["not-gzip", "gzip-bomb"],
)
def test_a_bad_raw_response_stops_the_replay_by_name(
    content: Any, named: str, tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    omc_data.collect_once(store=tmp_path, collector=request(fake_api, fake_clock))
    fake_api.close()
    m = omc_data.build_snapshot("v1", store=tmp_path, real_data="collected", **SMALL)
    rel = m.sources["coinspot"]["raw"][0]
    _replace_raw(tmp_path / "v1", rel, content())
    before = store_state(tmp_path)
    run = run_cli("--store", str(tmp_path), "build", "--tag", "v2", "--replay", "v1")
    assert run.code == 1, run
    assert f"raw response {rel} of 'v1' cannot be replayed" in run.stderr, run
    assert named in run.stderr and "nothing was built" in run.stderr, run
    assert "internal error" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run
    assert store_state(tmp_path) == before
