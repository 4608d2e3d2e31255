"""A collected HTTP response as omc-data keeps it: scrubbed, gzip-compressed, self-describing.

The file is gzip of one JSON header line (source, url, status, fetched_at, content_type) followed by the
response body exactly as received (secrets scrubbed): ``zcat`` shows it, and no escaping is paid on a
10 MB body. The same envelope is written under a snapshot's ``raw/<source>/`` and under the store's
``.collected/<source>/``, so a replay, a ``--from-collected`` build and a live build all parse the very
same thing, and files read back are copied as they are. Bytes are deterministic (gzip mtime 0, sorted
keys): the same response gives the same file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from omc_data.snapshots.timefmt import format_timestamp, parse_timestamp

ENVELOPE_VERSION = 1
# Level 3: 10 MB of DeFiLlama in 87 ms to 2.4 MB; level 6 took 196 ms for 2.1 MB, level 1 62 ms for 2.6 MB.
COMPRESS_LEVEL = 3
# The largest response a source sends is DeFiLlama's ~10 MB protocol list: a file that inflates past
# six times that is refused while it is being decompressed, so a gzip bomb never reaches memory.
MAX_INFLATED_BYTES = 64 * 1024 * 1024


def inflate(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """gzip ``data`` decompressed member by member, streaming; ValueError once it exceeds ``limit``."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        chunk = inflater.decompress(rest, limit + 1 - len(out))
        while True:
            out += chunk
            if len(out) > limit:
                raise ValueError(f"it inflates beyond the {limit // (1024 * 1024)} MB bound")
            if inflater.eof or not inflater.unconsumed_tail:
                break
            chunk = inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
        if not inflater.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        rest = inflater.unused_data
    return bytes(out)


@dataclass(frozen=True)
class RawResponse:
    """One response body (secrets already scrubbed) and where and when it came from."""

    source: str  # the source's registry name (coinspot, defillama, cryptopanic, ...)
    url: str  # the request URL, secrets scrubbed
    status: int  # HTTP status
    fetched_at: dt.datetime  # UTC, when the response arrived
    body: bytes  # the response body, secrets scrubbed
    content_type: str = "application/json"
    _file: bytes | None = field(default=None, compare=False, repr=False)  # the file it was read from

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.body)

    def compressed(self) -> RawResponse:
        """This response with its file bytes made now (``to_file`` then costs nothing)."""
        return self if self._file is not None else dataclasses.replace(self, _file=self.to_file())

    def to_file(self) -> bytes:
        if self._file is not None:
            return self._file
        header = {
            "envelope": ENVELOPE_VERSION,
            "source": self.source,
            "url": self.url,
            "status": self.status,
            "fetched_at": format_timestamp(self.fetched_at),
            "content_type": self.content_type,
        }
        line = json.dumps(header, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
        return gzip.compress(line + self.body, compresslevel=COMPRESS_LEVEL, mtime=0)

    @classmethod
    def from_file(cls, data: bytes) -> RawResponse:
        """Read an envelope back; ValueError naming the problem for anything else."""
        try:
            text = inflate(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"not a gzip-compressed omc-data response ({exc})") from exc
        line, newline, body = text.partition(b"\n")
        try:
            doc = json.loads(line) if newline else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("envelope") != ENVELOPE_VERSION:
            raise ValueError("not an omc-data response envelope (version 1 header line)")
        try:
            return cls(
                source=str(doc["source"]),
                url=str(doc["url"]),
                status=int(doc["status"]),
                fetched_at=parse_timestamp(str(doc["fetched_at"])),
                body=body,
                content_type=str(doc.get("content_type", "application/json")),
                _file=data,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed response envelope: {exc}") from exc

    def file_name(self, ordinal: int) -> str:
        """``<source>/<nnn>-<YYYYMMDDTHHMMSSZ>.json.gz``: ordered by fetch, unique within a snapshot."""
        stamp = self.fetched_at.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return f"{self.source}/{ordinal:03d}-{stamp}.json.gz"
