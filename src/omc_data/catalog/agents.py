"""Catalog entries of the AI "Lab": agent sessions, their messages and the artifacts they produce."""

from __future__ import annotations

from omc_data.catalog.model import (
    CURRENT_HEAD,
    INTEGER,
    TIMESTAMPTZ,
    UUID,
    Table,
    _c,
    _fk,
    _keys,
    varchar,
)

AGENT_SESSIONS = Table(
    name="agent_sessions",
    doc="AI 'Lab' agent runs.",
    columns=(
        _c("id", UUID, False),
        _c("user_id", UUID, False),
        _c("user_goal", varchar(), False),
        _c(
            "status",
            varchar(20),
            False,
            values=("pending", "running", "completed", "failed", "cancelled", "awaiting_approval"),
        ),
        _c("error_message", varchar()),
        _c("result_summary", varchar()),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
        _c("completed_at", TIMESTAMPTZ),
        _c(
            "llm_provider",
            varchar(20),
            since=CURRENT_HEAD,
            values=("openai", "google", "anthropic", "system_default"),
        ),
        _c("llm_model", varchar(100), since=CURRENT_HEAD),
        _c(
            "llm_credential_id",
            UUID,
            since=CURRENT_HEAD,
            doc="FK to the app table user_llm_credentials; always NULL in datasets",
        ),
    ),
    primary_key=("id",),
    primary_key_name="agent_sessions_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("agent_sessions", "user_id", "user"),),
)

AGENT_SESSION_MESSAGES = Table(
    name="agent_session_messages",
    doc="The conversation of an agent session.",
    columns=(
        _c("id", UUID, False),
        _c("session_id", UUID, False),
        _c(
            "role",
            varchar(20),
            False,
            doc="user / assistant / system / function",
            values=("user", "assistant", "system", "function"),
        ),
        _c("content", varchar(), False),
        _c("agent_name", varchar(100)),
        _c("metadata_json", varchar()),
        _c("created_at", TIMESTAMPTZ, False),
        _c("sequence_id", INTEGER, since=CURRENT_HEAD),
        _c("event_type", varchar(50), since=CURRENT_HEAD),
        _c("stage", varchar(50), since=CURRENT_HEAD),
    ),
    primary_key=("id",),
    primary_key_name="agent_session_messages_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("agent_session_messages", "session_id", "agent_sessions"),),
)

AGENT_ARTIFACTS = Table(
    name="agent_artifacts",
    doc="Files an agent session produced (models, plots, reports, code, data).",
    columns=(
        _c("id", UUID, False),
        _c("session_id", UUID, False),
        _c(
            "artifact_type",
            varchar(50),
            False,
            doc="model / plot / report / code / data",
            values=("model", "plot", "report", "code", "data"),
        ),
        _c("name", varchar(255), False),
        _c("description", varchar()),
        _c("file_path", varchar(500)),
        _c("mime_type", varchar(100)),
        _c("size_bytes", INTEGER),
        _c("metadata_json", varchar()),
        _c("created_at", TIMESTAMPTZ, False),
    ),
    primary_key=("id",),
    primary_key_name="agent_artifacts_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("agent_artifacts", "session_id", "agent_sessions"),),
)
