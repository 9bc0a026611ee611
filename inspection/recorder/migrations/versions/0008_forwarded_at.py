"""When each record reached the fleet's central database (NULL: not yet, or no fleet configured).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inspections", sa.Column("forwarded_at", sa.DateTime(), nullable=True))
    op.create_index("ix_inspections_forwarded_at", "inspections", ["forwarded_at"])


def downgrade() -> None:
    op.drop_index("ix_inspections_forwarded_at", "inspections")
    op.drop_column("inspections", "forwarded_at")
