"""What a data source declares about itself: the one value the rest of omc-data reads.

A source module (``coinspot.py``, ``defillama.py``, ``cryptopanic.py``) ends with a :class:`Source`
naming everything that differs from one source to another: the table it feeds, its default endpoint and
the environment variable overriding it, its token (if any), how a response is checked, how it is fetched
(one GET unless it pages), how responses become rows, and how often ``omc-data collect`` files it.
``sources/__init__.py`` lists them in :data:`~omc_data.builder.sources.REGISTRY`; nothing else names a
source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.sources.counts import SourceCounts

if TYPE_CHECKING:  # loaded lazily: the CLI reads the registry for its options
    from omc_data.builder.fetch.http import Fetcher
    from omc_data.builder.generators.spec import Spec

# every_run: filed by each ``collect`` run (no lock: each run is one more real observation);
# daily: at most one response per UTC day; new_items: only items newer than those already filed.
SchedulePolicy = Literal["every_run", "daily", "new_items"]
# ``RealData`` fields a source fills (what the generators weave in instead of their stand-ins).
RealField = Literal["prices", "protocols", "news"]


@dataclass(frozen=True)
class Token:
    """A secret the source wants: read from ``env`` or from the first line of the file ``--<option>``."""

    env: str  # the environment variable holding it, e.g. CRYPTOPANIC_API_KEY
    option: str  # the CLI option naming a file that holds it, e.g. --cryptopanic-token-file
    # True: without it the source is skipped (never fetched), not degraded; False: fetched without it
    required: bool = True
    label: str = ""  # how messages name it, e.g. "CryptoPanic token"

    @property
    def missing(self) -> str:
        """The reason a source is skipped without its token."""
        return f"no {self.label}: set {self.env} or pass {self.option}"


@dataclass
class FetchJob:
    """One source's fetch in progress: where to, with what, and the responses so far."""

    fetcher: Fetcher
    endpoint: str  # the configured endpoint (secrets not scrubbed: it is requested)
    token: str | None
    limit: int  # records the build wants (``CollectRequest.news``): a paged source stops there
    watermark: int | None  # ``new_items`` sources: the newest item id already filed
    responses: list[RawResponse] = field(default_factory=list)


@dataclass(frozen=True)
class Reading:
    """How a build reads a source's responses."""

    # True: filed over time by ``omc-data collect`` (or a replay of such a build); False: fetched once
    # for the build (or a replay of one)
    collected: bool
    synthetic: bool  # False: ``--no-synthetic``, no stand-in fills what real data lacks


@dataclass(frozen=True)
class Parsed:
    """What a source's responses gave: the value of its ``RealData`` field and extra manifest facts."""

    value: Any
    record: dict[str, Any] = field(default_factory=dict)  # added to the source's manifest record


@dataclass(frozen=True)
class Incremental:
    """How a ``new_items`` source files only new items: a response cut to the items not filed yet."""

    # (the response keeping only items newer than the watermark and not in ``seen``, their count);
    # adds the kept ids to ``seen``
    keep_new: Callable[[RawResponse, int | None, set[int]], tuple[RawResponse, int]]
    state_key: str = "newest_id"  # where the watermark is kept in the collection's state


async def single_get(source: Source, job: FetchJob) -> str | None:
    """The default fetch: one GET of the endpoint, checked; a note for the manifest or None."""
    job.responses.append(await job.fetcher.get(job.endpoint, check=source.check))
    return None


@dataclass(frozen=True)
class Source:
    """A real data source, declared once."""

    name: str  # the name used everywhere: --sources, raw/<name>/, .collected/<name>/, the manifest
    tables: tuple[str, ...]  # the dataset tables its rows feed (the manifest records the first)
    endpoint: str  # default URL
    endpoint_env: str  # environment variable overriding it (a full URL, e.g. a mirror)
    check: Callable[[bytes], None]  # ValueError with a one-line reason for a body that is not an answer
    # responses (oldest fetch first) -> the value of ``real_field``, counting what it saw and skipped
    parse: Callable[[Spec, Sequence[RawResponse], SourceCounts, Reading], Parsed]
    real_field: RealField
    schedule: SchedulePolicy = "every_run"
    token: Token | None = None
    # how the responses are fetched; the default is one GET (see :func:`single_get`)
    fetch: Callable[[Source, FetchJob], Awaitable[str | None]] = single_get
    incremental: Incremental | None = None  # required by the ``new_items`` schedule
    # a collected build's default as_of is the latest fetch of the chosen sources that lead it (the
    # price source: its ticks are the build's), or of all chosen sources when none leads
    leads_as_of: bool = False
    # chosen when no sources are named (``--sources`` not given); an alternative source for a table
    # another source already fills says False, as two chosen sources may not fill the same table
    default: bool = True

    def __post_init__(self) -> None:
        if not self.tables:
            raise ValueError(f"source {self.name!r} feeds no table")
        if (self.schedule == "new_items") != (self.incremental is not None):
            raise ValueError(f"source {self.name!r}: the new_items schedule goes with incremental=...")

    @property
    def table(self) -> str:
        """The table the manifest's source record names."""
        return self.tables[0]
