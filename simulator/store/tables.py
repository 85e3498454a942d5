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

# -- teams: a trainer's cohorts, their assigned practice, and the trainer's review of it ---------------------------

cohorts = sa.Table(
    "cohorts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),  # what trainers type in `rapport assign NAME`
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Who belongs to a cohort and as what: its trainers (who see and review it) and its learners (who are assigned).
cohort_members = sa.Table(
    "cohort_members",
    metadata,
    sa.Column("cohort_id", sa.String(32), sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(10), nullable=False),  # "trainer" or "learner"
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_cohort_members_user", "user_id"),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("cohort_id", sa.String(32), sa.ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("persona_id", sa.String(64), nullable=False),
    sa.Column("difficulty", sa.String(10), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True)),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("pass_bar", sa.JSON, nullable=False),  # a teams.PassBar
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# A session a learner started for an assignment: what makes it visible to the cohort's trainers.
attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("assignment_id", sa.String(32), sa.ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("learner_id", sa.String(200), nullable=False, index=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("turn_idx", sa.Integer, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# A trainer's score for one criterion of a session, beside the machine's: the newest per criterion stands.
overrides = sa.Table(
    "overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("criterion", sa.String(64), nullable=False),
    sa.Column("machine_score", sa.Float),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
