"""The production lot of each part, when the line gives one (PLC lot registers).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inspections", sa.Column("lot", sa.String(64), nullable=True))
    op.create_index("ix_inspections_lot", "inspections", ["lot"])


def downgrade() -> None:
    op.drop_index("ix_inspections_lot", "inspections")
    op.drop_column("inspections", "lot")
