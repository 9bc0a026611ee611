"""The scale each part was measured with (millimetres per pixel), so its defect sizes read in mm.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inspections", sa.Column("mm_per_px", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("inspections", "mm_per_px")
