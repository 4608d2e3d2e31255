"""The real data sources, one module each, and the one registry everything else reads.

- ``model``: :class:`Source`, what a source declares about itself (tables, endpoint and its environment
  override, token, response check, fetch, parser to rows, schedule policy).
- ``coinspot``, ``defillama``, ``cryptopanic``: pure mappings from responses to rows, with counts of
  what was skipped and why, each ending with its ``SOURCE``.
- ``counts``: what a mapping saw, produced, rounded and skipped; the JSON and decimal readers they share.

:data:`REGISTRY` lists the sources in the order the manifest records them. The raw-file naming, the
live fetch, ``omc-data collect``'s schedule, the build's source records, the CLI's ``--sources`` and the
endpoint settings all read it; adding a source is its module plus one line here (``CONTRIBUTING.md``).
"""

from __future__ import annotations

from omc_data.builder.sources import coinspot, cryptopanic, defillama
from omc_data.builder.sources.model import Source

# Read at call time (``REGISTRY[...]``, never copied at import), so a test may add a source to it.
REGISTRY: dict[str, Source] = {s.name: s for s in (coinspot.SOURCE, defillama.SOURCE, cryptopanic.SOURCE)}


def names() -> tuple[str, ...]:
    """Every source's name, in registry order."""
    return tuple(REGISTRY)


def defaults() -> tuple[str, ...]:
    """The sources chosen when none are named, in registry order."""
    return tuple(name for name, s in REGISTRY.items() if s.default)


def clash(chosen: tuple[str, ...]) -> tuple[str, str] | None:
    """Two chosen sources that would fill the same table, or None."""
    filled: dict[str, str] = {}
    for name in chosen:
        field = REGISTRY[name].real_field
        if field in filled:
            return filled[field], name
        filled[field] = name
    return None


def source(name: str) -> Source:
    """The source called ``name``; ValueError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r} (sources: {', '.join(REGISTRY)})") from None
