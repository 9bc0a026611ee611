"""A tamper-evident audit trail: each entry chained to the one before by a keyed hash (NULL: written
before the chain began); each account sealed with the same key (NULL: not sealed yet).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("chain", sa.String(64), nullable=True))
    op.add_column("users", sa.Column("seal", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "seal")
    op.drop_column("audit_log", "chain")
