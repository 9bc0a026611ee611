"""A part seen by several cameras: one row per view (its verdict, reasons, image), and each detection's view.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_views",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("view", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(128), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("missing", sa.Boolean(), nullable=False),
        sa.Column("recipe_name", sa.String(128), nullable=False),
        sa.Column("recipe_sha256", sa.String(64), nullable=True),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("detect_ms", sa.Float(), nullable=False),
        sa.Column("defects", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(256), nullable=True),
        sa.Column("reference_name", sa.String(256), nullable=True),
        sa.Column("image_path", sa.String(512), nullable=True),
    )
    op.create_index("ix_inspection_views_inspection_id", "inspection_views", ["inspection_id"])
    with op.batch_alter_table("detections") as batch:
        batch.add_column(sa.Column("view", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detections") as batch:
        batch.drop_column("view")
    op.drop_index("ix_inspection_views_inspection_id", "inspection_views")
    op.drop_table("inspection_views")
