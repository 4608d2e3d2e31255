"""What made a snapshot's bytes: the omc-data version and the versions of the libraries that shape them.

Recorded in every manifest (builds and captures), so two snapshots that differ only because a locked
dependency moved can be told apart from two that differ in their inputs.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """``{name: version}`` of the installed distributions among ``names`` (missing ones left out)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def omc_data_version() -> str:
    try:
        return importlib.metadata.version("omc-data")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"
