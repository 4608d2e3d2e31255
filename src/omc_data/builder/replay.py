"""Rebuilding a snapshot from its manifest's inputs and its ``raw/`` responses, offline.

:func:`plan` reads the replayed snapshot and gives what a build needs: the spec (inputs recorded in the
manifest, overridden by name), the tables, and the real inputs (each source's kept responses, or the
outcome it had). Same inputs give byte-identical tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omc_data import defaults
from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.generators.spec import COUNTS, Spec
from omc_data.builder.live import SourceFetch
from omc_data.builder.realdata import RealInputs
from omc_data.errors import RawResponseError, UsageError
from omc_data.snapshots.store import Snapshot


@dataclass(frozen=True)
class Replay:
    spec: Spec
    tables: Sequence[str] | None
    real: RealInputs | None


def plan(snapshot: Snapshot, of: str, overrides: Mapping[str, Any], make_spec: Callable[..., Spec]) -> Replay:
    """What rebuilding ``snapshot`` (tag ``of``) takes; ``overrides`` replace recorded inputs by name.

    ``make_spec`` turns the spec's keywords into a :class:`Spec` (the caller's checks and messages).
    The snapshot is verified first; a custom password is never recorded, so a snapshot built with one
    needs ``password`` (and ``superuser_password``) among the overrides.
    """
    snapshot.verify()
    m = snapshot.manifest
    inputs = m.inputs
    if m.kind != "build":
        raise UsageError(f"{of!r} is a {m.kind}, not a build: there is nothing to replay")
    for secret in ("password", "superuser_password"):
        if inputs.get(secret) == "custom" and overrides.get(secret) is None:
            raise UsageError(
                f"{of!r} was built with a custom {secret.replace('_', ' ')}, which is never recorded",
                hint=f"pass --{secret.replace('_', '-')} again to replay it",
            )
    rest = dict(overrides)
    kwargs: dict[str, Any] = {
        k: inputs[k] for k in ("seed", "superuser_email", "bcrypt_rounds", *COUNTS) if k in inputs
    }
    kwargs["as_of"] = inputs.get("as_of")
    kwargs["password"] = defaults.PASSWORD
    # "default" was recorded for the superuser's effective password: say it explicitly, or a custom
    # --password given again would become the superuser's too
    kwargs["superuser_password"] = (
        defaults.PASSWORD if inputs.get("superuser_password") == "default" else None
    )
    synthetic_override = rest.pop("synthetic", None)
    tables = rest.pop("tables", None) or inputs.get("tables")
    kwargs.update({k: v for k, v in rest.items() if v is not None})
    spec = make_spec(**kwargs)
    recorded = inputs.get("real_data")
    if synthetic_override is False and not isinstance(recorded, dict):
        raise UsageError(f"{of!r} holds no collected data: --no-synthetic would leave nothing to build")
    if not isinstance(recorded, dict):
        return Replay(spec, tables, None)
    fetches = {}
    for name, record in m.sources.items():
        raw_paths = record.get("raw") or []
        if raw_paths:
            responses = [_raw_response(snapshot, p) for p in raw_paths]
            fetches[name] = SourceFetch(
                name,
                "replayed",
                str(record.get("endpoint", "")),
                responses,
                reason=f"replay of {of}",
                http_status=record.get("http_status"),
            )
        elif record.get("outcome") != "synthetic":
            fetches[name] = SourceFetch(
                name,
                str(record.get("outcome")),
                str(record.get("endpoint", "")),
                reason=record.get("reason"),
            )
    synthetic = bool(recorded.get("synthetic", True) if synthetic_override is None else synthetic_override)
    real = RealInputs(str(recorded.get("mode", "live")), fetches, synthetic=synthetic, replay_of=of)
    return Replay(spec, tables, real)


def _raw_response(snapshot: Snapshot, rel: str) -> RawResponse:
    """A recorded response of ``snapshot`` read back; RawResponseError naming the file when it cannot be."""
    try:
        return RawResponse.from_file(snapshot.read_bytes(rel))
    except ValueError as exc:
        raise RawResponseError(
            f"raw response {rel} of {snapshot.tag!r} cannot be replayed: {exc}", tag=snapshot.tag, path=rel
        ) from exc
