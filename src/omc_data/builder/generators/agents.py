"""The AI "Lab": ``agent_sessions`` with their ``agent_session_messages`` and ``agent_artifacts``.

Each session belongs to a user (rendezvous hashing, so one more user moves few sessions), pursues a goal
about coins from the ranked list, and runs through the app's agents in order: the user's goal, then data
retrieval, analysis, training, evaluation and reporting, with tool results between them. Completed
sessions leave artifacts; some of them are models that algorithms point at.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators import users
from omc_data.builder.generators.coins import top_coins
from omc_data.builder.generators.common import instant_between, json_text, sorted_table, weighted
from omc_data.builder.generators.streams import derive_uuid, rng
from omc_data.builder.generators.world import World

SESSIONS = catalog.AGENT_SESSIONS
MESSAGES = catalog.AGENT_SESSION_MESSAGES
ARTIFACTS = catalog.AGENT_ARTIFACTS

STATUSES = {
    "completed": 0.55,
    "failed": 0.1,
    "cancelled": 0.07,
    "running": 0.1,
    "pending": 0.08,
    "awaiting_approval": 0.1,
}
FINISHED = ("completed", "failed", "cancelled")
LLMS = (
    ("openai", "gpt-4o"),
    ("openai", "gpt-4.1-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("google", "gemini-2.5-pro"),
    ("system_default", None),
)
GOALS = (
    "Predict {coin} price movements over the next {hours} hours",
    "Find a mean-reversion strategy for {coin} on 5-minute data",
    "Compare momentum and breakout signals for {coin} and {coin2}",
    "Build a classifier for {coin} price direction using the last {days} days",
    "Backtest a moving-average crossover on {coin} with a {pct}% stop loss",
    "Estimate the volatility of {coin} and suggest a position size for a ${aud} budget",
    "Does news sentiment lead {coin} returns? Test it on recent data",
    "Train a reinforcement-learning agent to trade {coin} against {coin2}",
)
FAILURES = (
    "LLM provider rate limit exceeded after 3 retries",
    "Not enough price history for {coin} to train a model",
    "Tool call timed out: fetch_price_data",
    "Model training diverged (loss became NaN)",
)
# (agent, stage, what it says, what its tool returns)
PIPELINE = (
    (
        "DataRetrievalAgent",
        "data_retrieval",
        "Fetching 5-minute prices for {coin} and related news.",
        "Retrieved {rows} price rows for {coin} ({days} days) and {news} news items.",
    ),
    (
        "DataAnalystAgent",
        "analysis",
        "Computing returns, volatility and indicators (RSI, MACD, SMA 20/50).",
        "Annualised volatility {vol}%, lag-1 autocorrelation {ac}.",
    ),
    (
        "ModelTrainingAgent",
        "training",
        "Training a {model} on {features} features with walk-forward validation.",
        "Trained {model}: validation accuracy {acc}, F1 {f1}.",
    ),
    (
        "ModelEvaluatorAgent",
        "evaluation",
        "Evaluating on the hold-out window and backtesting the signal.",
        "Hold-out Sharpe {sharpe}, max drawdown {dd}%, win rate {win}%.",
    ),
    (
        "ReportingAgent",
        "reporting",
        "Writing the report and saving the artifacts.",
        "Saved report, plots and the model.",
    ),
)
# How a conversation ends when the session finished or waits for the user.
FINAL_WORDS: dict[str, tuple[str, str | None, str | None, str, str]] = {
    "completed": (
        "assistant",
        "ReportingAgent",
        "reporting",
        "Done: the report and artifacts are ready.",
        "message",
    ),
    "awaiting_approval": (
        "assistant",
        "ModelEvaluatorAgent",
        "evaluation",
        "Awaiting your approval to continue.",
        "approval_request",
    ),
}
MODELS = ("random forest", "gradient boosting", "logistic regression", "LSTM", "XGBoost")
ARTIFACT_KINDS = {
    "model": ("{coin}_{model}.pkl", "application/octet-stream", (200_000, 40_000_000)),
    "plot": ("{coin}_equity_curve.png", "image/png", (40_000, 900_000)),
    "report": ("{coin}_analysis_report.md", "text/markdown", (2_000, 60_000)),
    "code": ("{coin}_strategy.py", "text/x-python", (1_000, 30_000)),
    "data": ("{coin}_features.csv", "text/csv", (50_000, 20_000_000)),
}
GOAL_COINS = 20  # goals talk about the top coins of the ranked list, whatever --coins says


@dataclass(frozen=True)
class SessionFact:
    ordinal: int
    id: bytes
    user: users.UserFact
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None
    coin: str  # upper-case code the goal is about
    coin2: str
    model: str
    goal: str


@dataclass(frozen=True)
class ArtifactFact:
    id: bytes
    session: SessionFact
    kind: str
    created_at: dt.datetime


def _session(world: World, ordinal: int) -> SessionFact:
    spec = world.spec
    r = rng(spec.seed, SESSIONS.name, ordinal)
    user = users.owner(world, SESSIONS.name, ordinal)
    status = weighted(r, STATUSES)
    as_of = spec.as_of_tick
    recent = status in ("running", "pending", "awaiting_approval")
    earliest = max(user.created_at, as_of - (dt.timedelta(hours=6) if recent else dt.timedelta(days=30)))
    created = instant_between(r, earliest, as_of - dt.timedelta(minutes=1) if not recent else as_of)
    completed = None
    if status in FINISHED:
        completed = instant_between(r, created + dt.timedelta(seconds=20), created + dt.timedelta(minutes=25))
        completed = min(completed, as_of)
    updated = completed or instant_between(r, created, as_of)
    codes = [c.code for c in top_coins(GOAL_COINS)]
    coin, coin2 = r.sample(codes, 2)
    goal = r.choice(GOALS).format(
        coin=coin,
        coin2=coin2,
        hours=r.choice((4, 12, 24, 48)),
        days=r.choice((7, 30, 90)),
        pct=r.choice((2, 3, 5)),
        aud=r.choice((500, 1000, 5000)),
    )
    return SessionFact(
        ordinal,
        derive_uuid(spec.seed, SESSIONS.name, ordinal).bytes,
        user,
        status,
        created,
        updated,
        completed,
        coin,
        coin2,
        r.choice(MODELS),
        goal,
    )


def sessions(world: World) -> list[SessionFact]:
    return [_session(world, n) for n in range(world.spec.agent_sessions)]


def _artifact_kinds(r: random.Random) -> list[str]:
    kinds = ["model"] if r.random() < 0.6 else []
    kinds += r.sample(["plot", "report", "code", "data"], r.randint(1, 3))
    return kinds


def artifacts(world: World) -> list[ArtifactFact]:
    out = []
    for s in world.get(sessions):
        if s.status != "completed" or s.completed_at is None:
            continue
        r = rng(world.spec.seed, ARTIFACTS.name, s.ordinal)
        for j, kind in enumerate(_artifact_kinds(r)):
            at = instant_between(r, s.created_at, s.completed_at)
            out.append(
                ArtifactFact(
                    derive_uuid(world.spec.seed, ARTIFACTS.name, f"{s.ordinal}:{j}").bytes, s, kind, at
                )
            )
    return out


def generate_sessions(world: World) -> pa.Table:
    rows = []
    for s in world.get(sessions):
        r = rng(world.spec.seed, SESSIONS.name, s.ordinal, "text")
        provider, model = r.choice(LLMS)
        rows.append(
            {
                "id": s.id,
                "user_id": s.user.id,
                "user_goal": s.goal,
                "status": s.status,
                "error_message": r.choice(FAILURES).format(coin=s.coin) if s.status == "failed" else None,
                "result_summary": (
                    f"Trained a {s.model} for {s.coin}; see the report and model artifacts."
                    if s.status == "completed"
                    else None
                ),
                "created_at": s.created_at,
                "updated_at": s.updated_at,
                "completed_at": s.completed_at,
                "llm_provider": provider,
                "llm_model": model,
                "llm_credential_id": None,
            }
        )
    return sorted_table(SESSIONS, rows)


def _figures(r: random.Random, s: SessionFact, world: World) -> dict[str, Any]:
    return {
        "coin": s.coin,
        "coin2": s.coin2,
        "model": s.model,
        "days": world.spec.days,
        "rows": world.spec.days * 288,
        "news": r.randint(5, 80),
        "vol": r.randint(25, 140),
        "ac": f"{r.uniform(-0.2, 0.2):.3f}",
        "features": r.randint(8, 40),
        "acc": f"{r.uniform(0.5, 0.68):.3f}",
        "f1": f"{r.uniform(0.45, 0.66):.3f}",
        "sharpe": f"{r.uniform(-0.5, 2.4):.2f}",
        "dd": r.randint(3, 35),
        "win": r.randint(38, 64),
    }


def _conversation(world: World, s: SessionFact) -> list[dict[str, Any]]:
    """3-12 messages in the order the app writes them; times between the session's start and its end."""
    r = rng(world.spec.seed, MESSAGES.name, s.ordinal)
    n = r.randint(3, 12)
    figures = _figures(r, s, world)
    plan: list[tuple[str, str | None, str | None, str, str]] = [
        (
            "system",
            None,
            None,
            "You are the OMC Lab orchestrator. Plan, delegate to agents, report.",
            "message",
        ),
        ("user", None, None, s.goal, "message"),
    ]
    for step_agent, step_stage, says, result in PIPELINE:
        plan.append(("assistant", step_agent, step_stage, says.format(**figures), "message"))
        plan.append(("function", step_agent, step_stage, result.format(**figures), "tool_result"))
    last = FINAL_WORDS.get(s.status)
    plan = [*plan[: n - 1], last] if last else plan[:n]
    end = s.completed_at or s.updated_at
    stamps = sorted(instant_between(r, s.created_at, end) for _ in plan)
    rows = []
    for seq, ((role, agent, stage, content, event), at) in enumerate(zip(plan, stamps, strict=True), start=1):
        meta: dict[str, Any] | None = None
        if role == "assistant":
            meta = {"tokens": r.randint(40, 1800)}
        elif role == "function":
            meta = {"tool": f"{stage}_tool", "duration_ms": r.randint(30, 9000), "ok": True}
        rows.append(
            {
                "id": derive_uuid(world.spec.seed, MESSAGES.name, f"{s.ordinal}:{seq}").bytes,
                "session_id": s.id,
                "role": role,
                "content": content,
                "agent_name": agent,
                "metadata_json": json_text(meta) if meta is not None else None,
                "created_at": at,
                "sequence_id": seq,
                "event_type": event,
                "stage": stage,
            }
        )
    return rows


def generate_messages(world: World) -> pa.Table:
    rows = [row for s in world.get(sessions) for row in _conversation(world, s)]
    return sorted_table(MESSAGES, rows)


def generate_artifacts(world: World) -> pa.Table:
    rows = []
    for a in world.get(artifacts):
        s = a.session
        r = rng(world.spec.seed, ARTIFACTS.name, a.id.hex())
        pattern, mime, (lo, hi) = ARTIFACT_KINDS[a.kind]
        name = pattern.format(coin=s.coin.lower(), model=s.model.lower().replace(" ", "_"))
        meta: dict[str, Any] = {"coin": s.coin, "format": name.rsplit(".", 1)[1]}
        if a.kind == "model":
            meta |= {
                "algorithm": s.model,
                "accuracy": round(r.uniform(0.5, 0.68), 4),
                "features": r.randint(8, 40),
            }
        rows.append(
            {
                "id": a.id,
                "session_id": s.id,
                "artifact_type": a.kind,
                "name": name,
                "description": f"{a.kind.capitalize()} from the {s.model} study of {s.coin}",
                "file_path": f"artifacts/{s.id.hex()}/{name}",
                "mime_type": mime,
                "size_bytes": r.randint(lo, hi),
                "metadata_json": json_text(meta),
                "created_at": a.created_at,
            }
        )
    return sorted_table(ARTIFACTS, rows)
