"""Synthetic generators, one per dataset table, registered in ``GENERATORS``.

A generator takes the build's :class:`World` (the spec plus memoised facts of parent entities) and
returns the table's rows, sorted by key, as an Arrow table or a stream of record batches (for tables
where volume lives). Adding a table is one catalog entry plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

import pyarrow as pa

from omc_data.builder.generators import (
    agents,
    algorithms,
    audits,
    backtests,
    news,
    prices,
    protocols,
    risk,
    trading,
    users,
)
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
    "system_setting": risk.generate_settings,
    "risk_rule": risk.generate_rules,
    "audit_log": risk.generate_audit,
    "backtest_runs": backtests.generate_runs,
    "strategy_promotions": backtests.generate_promotions,
    "trade_audit": audits.generate,
}

# Tables a generator reads as this build wrote them (the build writes them first; see market.py).
READS: dict[str, tuple[str, ...]] = {
    "backtest_runs": ("price_data_5min",),
    "trade_audit": ("price_data_5min",),
}
