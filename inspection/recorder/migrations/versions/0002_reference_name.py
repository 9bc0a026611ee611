"""The reference image each part was compared with (models with image+reference input).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inspections", sa.Column("reference_name", sa.String(256), nullable=True))


def downgrade() -> None:
    op.drop_column("inspections", "reference_name")
