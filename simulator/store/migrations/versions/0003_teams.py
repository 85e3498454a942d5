"""Teams: cohorts and their members, assignments and the sessions attempting them, trainers' comments and overrides."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
    )
    op.create_table(
        "cohort_members",
        sa.Column("cohort_id", sa.String(32), sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("added_at", _WHEN, nullable=False),
    )
    op.create_index("ix_cohort_members_user", "cohort_members", ["user_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("cohort_id", sa.String(32), sa.ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("persona_id", sa.String(64), nullable=False),
        sa.Column("difficulty", sa.String(10), nullable=False),
        sa.Column("due_at", _WHEN),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("pass_bar", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
    )
    op.create_index("ix_assignments_cohort_id", "assignments", ["cohort_id"])
    op.create_table(
        "attempts",
        sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("assignment_id", sa.String(32), sa.ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("learner_id", sa.String(200), nullable=False),
        sa.Column("started_at", _WHEN, nullable=False),
    )
    op.create_index("ix_attempts_assignment_id", "attempts", ["assignment_id"])
    op.create_index("ix_attempts_learner_id", "attempts", ["learner_id"])
    for name, extra in (("comments", [sa.Column("turn_idx", sa.Integer, nullable=False),
                                      sa.Column("author", sa.String(200), nullable=False),
                                      sa.Column("text", sa.Text, nullable=False)]),
                        ("overrides", [sa.Column("criterion", sa.String(64), nullable=False),
                                       sa.Column("machine_score", sa.Float),
                                       sa.Column("score", sa.Float, nullable=False),
                                       sa.Column("reason", sa.Text, nullable=False),
                                       sa.Column("author", sa.String(200), nullable=False)])):
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
            *extra,
            sa.Column("created_at", _WHEN, nullable=False),
        )
        op.create_index(f"ix_{name}_session_id", name, ["session_id"])


def downgrade() -> None:
    for name in ("overrides", "comments", "attempts", "assignments", "cohort_members", "cohorts"):
        op.drop_table(name)
