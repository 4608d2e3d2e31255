"""DeFiLlama ``GET /protocols`` (a JSON array): the top protocols by TVL, one row per protocol per UTC day.

DeFiLlama top N by TVL, then name; tolerant of null or missing TVL; protocol is the slug as the app's own
collector stores it (else the name), fitted to the column and deduplicated (one row per protocol per UTC
day); fees and revenue NULL.

- Of several responses, only the latest of each UTC day (by ``fetched_at``) is read; the others are not.
- An entry that is not an object, or has neither a non-blank slug nor a non-blank name, is skipped
  (``no name or slug``).
- TVL: a JSON number or numeric string, rounded half-even to 2 decimals (numeric(20, 2)). Null or missing
  gives None silently; negative, non-finite, unreadable or more than 18 integer digits gives None and
  counts ``tvl unusable`` (for every entry read, not only the top). Rows with None TVL rank last.
- Ranking: TVL descending (the rounded value), then name casefolded, then slug, then document order.
  ``protocol`` is cut to 50 characters; later entries with the same cut value are skipped
  (``duplicate protocol``), then the first ``top`` are kept.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.sources.counts import SourceCounts, fit_decimal, load_json, one_line, read_number
from omc_data.builder.sources.model import Parsed, Reading, Source

if TYPE_CHECKING:  # the generators load lazily: the CLI reads the registry for its options
    from omc_data.builder.generators.spec import Spec

SCALE = 2  # numeric(20, 2)
INTEGER_DIGITS = 18
PROTOCOL_LENGTH = 50  # varchar(50)


def _entries(body: bytes) -> list[Any]:
    try:
        doc = load_json(body)
    except ValueError as exc:
        raise ValueError(f"DeFiLlama response is not JSON ({one_line(str(exc))})") from None
    if not isinstance(doc, list):
        kind = "object" if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"DeFiLlama response is a JSON {kind}, expected an array of protocols")
    return doc


def check(body: bytes) -> None:
    """ValueError with a one-line reason unless the body is a JSON array."""
    _entries(body)


@dataclass(frozen=True)
class _Candidate:
    tvl: decimal.Decimal | None
    name: str
    slug: str
    protocol: str
    rounded: bool


def parse_protocols(
    responses: Sequence[RawResponse], *, top: int, counts: SourceCounts
) -> list[dict[str, Any]]:
    """Rows ``{protocol, tvl_usd, fees_24h, revenue_24h, collected_at}`` sorted by (collected_at, protocol).

    ``collected_at`` is the response's ``fetched_at``. ValueError for a negative ``top`` or a used response
    that is not a JSON array. ``counts.records`` += entries of the used responses, ``counts.rows`` += rows.
    """
    if top < 0:
        raise ValueError(f"top must be 0 or more, not {top}")
    latest: dict[dt.date, RawResponse] = {}
    for response in responses:  # equal fetch times: the later in the sequence wins
        day = response.fetched_at.astimezone(dt.timezone.utc).date()
        held = latest.get(day)
        if held is None or response.fetched_at >= held.fetched_at:
            latest[day] = response
    rows: list[dict[str, Any]] = []
    for day in sorted(latest):
        rows.extend(_day(latest[day], top, counts))
    rows.sort(key=lambda row: (row["collected_at"], row["protocol"]))
    counts.rows += len(rows)
    return rows


def _day(response: RawResponse, top: int, counts: SourceCounts) -> list[dict[str, Any]]:
    entries = _entries(response.body)
    counts.records += len(entries)
    candidates: list[_Candidate] = []
    for entry in entries:
        name = _text(entry.get("name")) if isinstance(entry, dict) else None
        slug = _text(entry.get("slug")) if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or (name is None and slug is None):
            counts.skip("no name or slug")
            continue
        tvl, rounded = _tvl(entry.get("tvl"), counts)
        protocol = (slug or name or "")[:PROTOCOL_LENGTH]
        candidates.append(_Candidate(tvl, name or "", slug or "", protocol, rounded))
    candidates.sort(key=_rank)
    kept: list[_Candidate] = []
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.protocol in seen:
            counts.skip("duplicate protocol")
            continue
        seen.add(candidate.protocol)
        kept.append(candidate)
    kept = kept[:top]
    counts.rounded += sum(c.rounded for c in kept)
    return [
        {
            "protocol": c.protocol,
            "tvl_usd": c.tvl,
            "fees_24h": None,
            "revenue_24h": None,
            "collected_at": response.fetched_at,
        }
        for c in kept
    ]


def _rank(c: _Candidate) -> tuple[bool, decimal.Decimal, str, str, str]:
    """TVL descending (None last), then name casefolded, then slug (sorted() keeps document order)."""
    negated = c.tvl.copy_negate() if c.tvl is not None else decimal.Decimal(0)  # exact, no context
    return (c.tvl is None, negated, c.name.casefold(), c.slug, c.name)


def _text(value: object) -> str | None:
    """A non-blank string as it is, else None."""
    return value if isinstance(value, str) and value.strip() else None


def _tvl(value: object, counts: SourceCounts) -> tuple[decimal.Decimal | None, bool]:
    if value is None:
        return None, False
    try:
        return fit_decimal(read_number(value), scale=SCALE, integer_digits=INTEGER_DIGITS)
    except ValueError:
        counts.skip("tvl unusable")
        return None, False


def protocols(spec: Spec, responses: Sequence[RawResponse], counts: SourceCounts, reading: Reading) -> Parsed:
    """The build's rows: :func:`parse_protocols` with the spec's ``protocols`` as ``top``."""
    return Parsed(parse_protocols(responses, top=spec.protocols, counts=counts))


SOURCE = Source(
    name="defillama",
    tables=("protocol_fundamentals",),
    endpoint="https://api.llama.fi/protocols",
    endpoint_env="OMC_DATA_DEFILLAMA_URL",
    check=check,
    parse=protocols,
    real_field="protocols",
    schedule="daily",
)
