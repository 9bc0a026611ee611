"""What judged a part: the sha256 of the effective recipe in each record, and each recipe's content once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inspections", sa.Column("recipe_sha256", sa.String(64), nullable=True))
    op.create_index("ix_inspections_recipe_sha256", "inspections", ["recipe_sha256"])
    op.create_table(
        "recipes",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recipes")
    op.drop_index("ix_inspections_recipe_sha256", "inspections")
    op.drop_column("inspections", "recipe_sha256")
