"""job indexes that keep a submit and a claim independent of how many jobs are kept

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The per-user active count and the oldest-queued claim each read only the rows they count or
    # take; with single-column indexes they read every job the user (or the queue) ever kept.
    op.create_index("ix_jobs_user_status", "jobs", ["user_id", "status"])
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at", "id"])
    op.drop_index("ix_jobs_user_id", "jobs")
    op.drop_index("ix_jobs_status", "jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_user_id", "jobs", ["user_id"])
    op.drop_index("ix_jobs_status_created", "jobs")
    op.drop_index("ix_jobs_user_status", "jobs")
