"""The tables of the session store (SQLAlchemy Core). Changes go through numbered migrations."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("learner_id", sa.String(200), nullable=False, index=True),
    sa.Column("persona_id", sa.String(64), nullable=False, index=True),
    sa.Column("persona", sa.JSON, nullable=False),  # the spec as it was, so a session resumes even if the file changed
    sa.Column("difficulty", sa.String(10), nullable=False),
    sa.Column("model", sa.String(300), nullable=False, server_default=""),
    sa.Column("max_turns", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("end_reason", sa.String(20)),
    sa.Column("end_detail", sa.Text),
)

turns = sa.Table(
    "turns",
    metadata,
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("speaker", sa.String(10), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("delivery", sa.JSON),  # a voice.Delivery for a spoken turn; NULL for a typed one
)

# A learner's recording of a turn, kept only when they opted in (Delivery.audio_kept says so on the turn).
turn_audio = sa.Table(
    "turn_audio",
    metadata,
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("wav", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

appraisals = sa.Table(
    "appraisals",
    metadata,
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("turn_idx", sa.Integer, primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),  # a TurnAppraisal: what was read, how the state moved, and why
)

scorecards = sa.Table(
    "scorecards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

memories = sa.Table(
    "memories",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("learner_id", sa.String(200), nullable=False),
    sa.Column("persona_id", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_memories_learner_persona", "learner_id", "persona_id"),
)
