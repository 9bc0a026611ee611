"""Counted defects per inspection, and indexes that cover the statistics' scans and the defect Pareto.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATS_COLUMNS = ["created_at", "station", "recipe_name", "model_name", "verdict", "cycle_ms", "defects"]


def upgrade() -> None:
    op.add_column("inspections", sa.Column("defects", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE inspections SET defects = (SELECT count(*) FROM detections "
        "WHERE detections.inspection_id = inspections.id AND detections.counted)"
    )
    op.create_index("ix_inspections_stats", "inspections", STATS_COLUMNS)
    op.create_index("ix_detections_counted_label", "detections", ["counted", "label"])


def downgrade() -> None:
    op.drop_index("ix_detections_counted_label", "detections")
    op.drop_index("ix_inspections_stats", "inspections")
    op.drop_column("inspections", "defects")
