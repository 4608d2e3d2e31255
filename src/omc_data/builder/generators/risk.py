"""``system_setting``, ``risk_rule`` and ``audit_log``: the safety manager's settings and its record.

Settings are keyed: ``kill_switch`` (``{"active": false}``: trading allowed, and the app's kill-switch
endpoint answers) plus a few the app's pages show. Risk rules carry the limits the app's safety manager
reads (``max_position_size`` with ``max_value`` or ``max_percentage``...). The audit log holds events
of real users: the superuser's kill-switch toggles (the last one agrees with the ``kill_switch``
setting), and around each order the trader's ``TRADE_APPROVED`` or ``TRADE_REJECTED`` and, for an
algorithm's order, its ``ALGORITHM_SIGNAL``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators import trading, users
from omc_data.builder.generators.common import instant_between, json_text, sorted_table
from omc_data.builder.generators.streams import derive_uuid, rng
from omc_data.builder.generators.world import World

SETTINGS = catalog.SYSTEM_SETTING
RULES = catalog.RISK_RULE
AUDIT = catalog.AUDIT_LOG
KILL_SWITCH_ACTIVE = False  # the dataset's kill switch: off, so every trading page works

# (key, value, description): the app reads kill_switch; the others are plausible operator settings.
SETTING_ROWS: tuple[tuple[str, Any, str], ...] = (
    (
        catalog.KILL_SWITCH,
        {"active": KILL_SWITCH_ACTIVE},
        "Global Kill Switch - Halts all trading when active",
    ),
    (
        "maintenance_mode",
        {"active": False, "message": ""},
        "Shows a banner and pauses collectors when active",
    ),
    ("default_trading_currency", {"currency": "AUD"}, "Quote currency of new orders"),
    ("paper_trading", {"enabled": True, "starting_balance": 10000}, "Paper-trading accounts for the Lab"),
    ("collector_defaults", {"retry_limit": 3, "timeout_seconds": 30}, "Defaults for new collector runs"),
)

# (name, rule_type, value, description, active)
RULE_ROWS: tuple[tuple[str, str, dict[str, Any], str, bool], ...] = (
    ("Max position size", "max_position_size", {"max_value": 5000}, "No single order above 5,000 AUD", True),
    (
        "Max position share",
        "max_position_size",
        {"max_percentage": 20},
        "No order above 20% of the portfolio",
        False,
    ),
    (
        "Daily loss limit",
        "max_daily_loss",
        {"max_value": 1000},
        "Stop trading after losing 1,000 AUD in a day",
        True,
    ),
    ("Max order value", "max_order_value", {"max_value": 2500}, "Largest single order", True),
    ("Open positions", "max_open_positions", {"max_count": 8}, "At most 8 coins held at once", True),
    ("Drawdown brake", "max_drawdown", {"max_percentage": 25}, "Pause algorithms after a 25% drawdown", True),
    (
        "Trading hours",
        "trading_hours",
        {"start": "00:00", "end": "23:59", "timezone": "UTC"},
        "Always on",
        False,
    ),
)
TOGGLES = 4  # kill-switch toggles by the superuser: on, off, on, off (ends as KILL_SWITCH_ACTIVE)


def _age(world: World, days: int) -> dt.datetime:
    return world.spec.as_of_tick - dt.timedelta(days=days)


def generate_settings(world: World) -> pa.Table:
    spec = world.spec
    toggles = _toggle_times(world)
    rows = []
    for key, value, description in SETTING_ROWS:
        r = rng(spec.seed, SETTINGS.name, key)
        updated = instant_between(r, _age(world, 120), _age(world, 1))
        if key == catalog.KILL_SWITCH and toggles:
            updated = toggles[-1]  # set by the last toggle in the audit log
        rows.append(
            {"key": key, "value": json_text(value), "description": description, "updated_at": updated}
        )
    return sorted_table(SETTINGS, rows)


def generate_rules(world: World) -> pa.Table:
    spec = world.spec
    admin = world.get(users.facts)[0]
    rows = []
    for n, (name, kind, value, description, active) in enumerate(RULE_ROWS):
        r = rng(spec.seed, RULES.name, n)
        created = instant_between(r, max(admin.created_at, _age(world, 200)), _age(world, 30))
        rows.append(
            {
                "name": name,
                "description": description,
                "rule_type": kind,
                "value": json_text(value),
                "is_active": active,
                "id": derive_uuid(spec.seed, RULES.name, n).bytes,
                "created_at": created,
                "updated_at": instant_between(r, created, _age(world, 1)),
            }
        )
    return sorted_table(RULES, rows)


def _toggle_times(world: World) -> list[dt.datetime]:
    r = rng(world.spec.seed, AUDIT.name, "kill_switch")
    admin = world.get(users.facts)[0]
    lo = max(admin.created_at, _age(world, 60))
    return sorted({instant_between(r, lo, _age(world, 2)) for _ in range(TOGGLES)})


def _event(
    seed: int, key: str, kind: str, severity: str, details: Any, user: bytes | None, at: dt.datetime
) -> dict[str, Any]:
    return {
        "event_type": kind,
        "severity": severity,
        "details": json_text(details),
        "user_id": user,
        "id": derive_uuid(seed, AUDIT.name, key).bytes,
        "timestamp": at,
    }


def generate_audit(world: World) -> pa.Table:
    spec = world.spec
    admin = world.get(users.facts)[0]
    rows = []
    times = _toggle_times(world)
    created = {u.id: u.created_at for u in world.get(users.facts)}
    for n, at in enumerate(times):  # alternating, the last one leaving the switch as the setting says
        active = KILL_SWITCH_ACTIVE if (len(times) - 1 - n) % 2 == 0 else not KILL_SWITCH_ACTIVE
        rows.append(
            _event(spec.seed, f"kill:{n}", "kill_switch_toggle", "critical", {"active": active}, admin.id, at)
        )
    for order in world.get(trading.facts).orders:
        oid = str(uuid.UUID(bytes=order["id"]))
        r = rng(spec.seed, AUDIT.name, oid)
        placed = order["created_at"]
        trade = {
            "order_id": oid,
            "coin_type": order["coin_type"],
            "side": order["side"],
            "quantity": str(order["quantity"]),
        }
        if order["algorithm_id"] is not None:
            signal = {
                "algorithm_id": str(uuid.UUID(bytes=order["algorithm_id"])),
                "signal": {
                    "action": order["side"],
                    "coin_type": order["coin_type"],
                    "quantity": str(order["quantity"]),
                },
                "market_data_snapshot": {"coin_type": order["coin_type"], "price": str(order["price"] or "")},
            }
            at = max(placed - dt.timedelta(seconds=r.randint(1, 20)), created[order["user_id"]])
            rows.append(
                _event(spec.seed, f"signal:{oid}", "ALGORITHM_SIGNAL", "info", signal, order["user_id"], at)
            )
        if order["status"] == "failed":
            details = {**trade, "reason": order["error_message"]}
            rows.append(
                _event(
                    spec.seed, f"trade:{oid}", "TRADE_REJECTED", "warning", details, order["user_id"], placed
                )
            )
        else:
            rows.append(
                _event(spec.seed, f"trade:{oid}", "TRADE_APPROVED", "info", trade, order["user_id"], placed)
            )
    return sorted_table(AUDIT, rows)
