"""An anomaly model's score of each part (0.5: its threshold) and its score map; empty for other models.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inspections", sa.Column("anomaly_score", sa.Float(), nullable=True))
    op.add_column("inspections", sa.Column("anomaly_map", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("inspections", "anomaly_map")
    op.drop_column("inspections", "anomaly_score")
