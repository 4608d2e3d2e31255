"""SHA-256 of snapshot files, streamed in 1 MiB chunks."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sidecar_line(digest: str, name: str) -> str:
    """The ``manifest.json.sha256`` content, in the format ``sha256sum -c`` reads."""
    return f"{digest}  {name}\n"


def parse_sidecar(text: str) -> str:
    """The digest in a ``sha256sum``-style line; ValueError when it is not one."""
    parts = text.split()
    if len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdef" for c in parts[0]):
        raise ValueError("not a sha256sum line")
    return parts[0]
