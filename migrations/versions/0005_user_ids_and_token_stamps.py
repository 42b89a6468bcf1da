"""user ids are never reused (SQLite AUTOINCREMENT) and tokens carry a per-user stamp

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dbconnector.store.users import new_token_stamp

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_STAMP = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_stamp", _STAMP, nullable=True))
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("token_stamp", _STAMP))
    for (user_id,) in bind.execute(sa.select(users.c.id)).all():
        bind.execute(
            users.update().where(users.c.id == user_id).values(token_stamp=new_token_stamp())
        )
    # On SQLite the NOT NULL rebuilds the table, which is where AUTOINCREMENT is added: its
    # counter starts from the highest id copied over and never goes back.
    with op.batch_alter_table(
        "users", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.alter_column("token_stamp", existing_type=_STAMP, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("users", recreate="auto") as batch:
        batch.drop_column("token_stamp")
