"""the day's flow: arrival and visit times, the actions revert undoes; holds that move an appointment

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import frontdesk.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of these tables would cascade-delete their history rows.
    op.add_column("appointments", sa.Column("arrived_at", frontdesk.store.models.UTCDateTime(), nullable=True))
    op.add_column("appointments", sa.Column("actual_start_time", frontdesk.store.models.UTCDateTime(), nullable=True))
    op.add_column("appointments", sa.Column("actual_end_time", frontdesk.store.models.UTCDateTime(), nullable=True))
    op.add_column("appointments", sa.Column("day_actions", sa.JSON(), nullable=True))
    op.add_column("holds", sa.Column("reschedule_appointment_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")
