"""Inspections and their detections.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(128), nullable=False),
        sa.Column("recipe_name", sa.String(128), nullable=False),
        sa.Column("recipe_version", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("part_serial", sa.String(128), nullable=True),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("grab_ms", sa.Float(), nullable=False),
        sa.Column("detect_ms", sa.Float(), nullable=False),
        sa.Column("decide_ms", sa.Float(), nullable=False),
        sa.Column("cycle_ms", sa.Float(), nullable=False),
        sa.Column("source_name", sa.String(256), nullable=True),
        sa.Column("image_path", sa.String(512), nullable=True),
        sa.Column("annotated_path", sa.String(512), nullable=True),
    )
    op.create_index("ix_inspections_created_at", "inspections", ["created_at"])
    op.create_index("ix_inspections_station", "inspections", ["station"])
    op.create_index("ix_inspections_recipe_name", "inspections", ["recipe_name"])
    op.create_index("ix_inspections_model_sha256", "inspections", ["model_sha256"])
    op.create_index("ix_inspections_part_serial", "inspections", ["part_serial"])
    op.create_index("ix_inspections_verdict", "inspections", ["verdict"])
    op.create_index("ix_inspections_station_time", "inspections", ["station", "created_at"])
    op.create_table(
        "detections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.Column("area", sa.Float(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_detections_inspection_id", "detections", ["inspection_id"])
    op.create_index("ix_detections_label", "detections", ["label"])


def downgrade() -> None:
    op.drop_table("detections")
    op.drop_table("inspections")
