"""A collected HTTP response as omc-data keeps it: scrubbed, gzip-compressed, self-describing.

The same envelope is written under a snapshot's ``raw/<source>/`` and under the store's
``.collected/<source>/``, so a replay, a ``--from-collected`` build and a live build all parse the very
same thing. Bytes are deterministic (gzip mtime 0, sorted keys): the same response gives the same file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import dataclass
from typing import Any

from omc_data.snapshots.timefmt import format_timestamp, parse_timestamp

ENVELOPE_VERSION = 1
SOURCES = ("coinspot", "defillama", "cryptopanic")


@dataclass(frozen=True)
class RawResponse:
    """One response body (secrets already scrubbed) and where and when it came from."""

    source: str  # coinspot | defillama | cryptopanic
    url: str  # the request URL, secrets scrubbed
    status: int  # HTTP status
    fetched_at: dt.datetime  # UTC, when the response arrived
    body: bytes  # the response body, secrets scrubbed
    content_type: str = "application/json"

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.body)

    def to_file(self) -> bytes:
        doc = {
            "envelope": ENVELOPE_VERSION,
            "source": self.source,
            "url": self.url,
            "status": self.status,
            "fetched_at": format_timestamp(self.fetched_at),
            "content_type": self.content_type,
            "body": self.body.decode("utf-8", errors="replace"),
        }
        text = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return gzip.compress(text, compresslevel=6, mtime=0)

    @classmethod
    def from_file(cls, data: bytes) -> RawResponse:
        """Read an envelope back; ValueError naming the problem for anything else."""
        try:
            doc = json.loads(gzip.decompress(data))
        except (OSError, EOFError, ValueError) as exc:
            raise ValueError(f"not a gzip-compressed omc-data response ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("envelope") != ENVELOPE_VERSION:
            raise ValueError(
                f"unknown response envelope {doc.get('envelope') if isinstance(doc, dict) else doc!r}"
            )
        try:
            return cls(
                source=str(doc["source"]),
                url=str(doc["url"]),
                status=int(doc["status"]),
                fetched_at=parse_timestamp(str(doc["fetched_at"])),
                body=str(doc["body"]).encode("utf-8"),
                content_type=str(doc.get("content_type", "application/json")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed response envelope: {exc}") from exc

    def file_name(self, ordinal: int) -> str:
        """``<source>/<nnn>-<YYYYMMDDTHHMMSSZ>.json.gz``: ordered by fetch, unique within a snapshot."""
        stamp = self.fetched_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"{self.source}/{ordinal:03d}-{stamp}.json.gz"
