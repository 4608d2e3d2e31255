"""Synthetic generators, one per dataset table, registered in ``GENERATORS``.

A generator takes the build's :class:`World` (the spec plus memoised facts of parent entities) and
returns the table's rows, sorted by key, as an Arrow table or a stream of record batches (for tables
where volume lives). Adding a table is one catalog entry plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

import pyarrow as pa

from omc_data.builder.generators import agents, algorithms, news, prices, protocols, trading, users
from omc_data.builder.generators.world import World

Generated: TypeAlias = pa.Table | Iterable[pa.RecordBatch]
Generator: TypeAlias = Callable[[World], Generated]

GENERATORS: dict[str, Generator] = {
    "user": users.generate,
    "agent_sessions": agents.generate_sessions,
    "agent_session_messages": agents.generate_messages,
    "agent_artifacts": agents.generate_artifacts,
    "algorithms": algorithms.generate_algorithms,
    "deployed_algorithms": algorithms.generate_deployed,
    "positions": trading.generate_positions,
    "orders": trading.generate_orders,
    "price_data_5min": prices.generate,
    "protocol_fundamentals": protocols.generate,
    "news_sentiment": news.generate,
}
