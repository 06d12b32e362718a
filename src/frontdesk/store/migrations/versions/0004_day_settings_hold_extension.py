"""the flow board's minutes in the clinic row; a hold's one extension

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import frontdesk.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the existing clinic row; plain ADD COLUMN keeps every history row.
    op.add_column("clinic", sa.Column("late_after_minutes", sa.Integer(), nullable=False, server_default="10"))
    op.add_column("clinic", sa.Column("waiting_alert_minutes", sa.Integer(), nullable=False, server_default="15"))
    op.add_column("holds", sa.Column("extended_at", frontdesk.store.models.UTCDateTime(), nullable=True))
    op.add_column("holds", sa.Column("extended_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")
