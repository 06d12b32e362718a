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
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a column's reference only inline
        op.execute(
            "ALTER TABLE holds ADD COLUMN reschedule_appointment_id VARCHAR(100)"
            " CONSTRAINT fk_holds_reschedule_appointment_id_appointments"
            " REFERENCES appointments (id) ON DELETE CASCADE"
        )
    else:
        op.add_column("holds", sa.Column("reschedule_appointment_id", sa.String(length=100), nullable=True))
        op.create_foreign_key(
            op.f("fk_holds_reschedule_appointment_id_appointments"), "holds", "appointments",
            ["reschedule_appointment_id"], ["id"], ondelete="CASCADE",
        )


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")
