"""the waitlist; clinicians' external busy time imported from their calendars; busy rows
longer than a day flagged, so a window's read is bounded on both sides; the setup's version

Revision ID: 0007
Revises: 0006
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

import frontdesk.store.models
from frontdesk.domain.busy import LONG_SPAN

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clinic", sa.Column("setup_version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("busy_times", sa.Column("long_span", sa.Boolean(), nullable=False, server_default=sa.false()))
    busy = sa.table("busy_times", sa.column("id"), sa.column("busy_start"), sa.column("busy_end"),
                    sa.column("long_span"))
    bind = op.get_bind()
    long_ids = [
        row_id for row_id, start, end in bind.execute(sa.select(busy.c.id, busy.c.busy_start, busy.c.busy_end))
        if _as_datetime(end) - _as_datetime(start) > LONG_SPAN
    ]
    if long_ids:
        bind.execute(busy.update().where(busy.c.id.in_(long_ids)).values(long_span=True))
    op.create_index("ix_busy_times_long_span", "busy_times", ["resource_id", "long_span", "busy_end"])
    op.add_column("blocks", sa.Column("long_span", sa.Boolean(), nullable=False, server_default=sa.false()))
    blocks = sa.table("blocks", sa.column("id"), sa.column("span_start"), sa.column("span_end"), sa.column("long_span"))
    long_ids = [
        row_id for row_id, start, end in bind.execute(sa.select(blocks.c.id, blocks.c.span_start, blocks.c.span_end))
        if end is not None and _as_datetime(end) - _as_datetime(start) > LONG_SPAN
    ]
    if long_ids:
        bind.execute(blocks.update().where(blocks.c.id.in_(long_ids)).values(long_span=True))
    op.create_index("ix_blocks_long_span", "blocks", ["resource_id", "long_span", "span_end"])
    op.add_column("resources", sa.Column("external_calendars", sa.JSON(), nullable=True))
    op.create_table(
        "external_busy",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("clinician_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("busy_start", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("busy_end", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("imported_at", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["clinician_id"], ["resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_external_busy_clinician_busy_end", "external_busy", ["clinician_id", "busy_end", "busy_start"])
    op.create_index("ix_external_busy_clinician_source", "external_busy", ["clinician_id", "source"])
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("patient_id", sa.String(length=100), nullable=False),
        sa.Column("appointment_type_id", sa.String(length=100), nullable=False),
        sa.Column("clinician_id", sa.String(length=100), nullable=True),
        sa.Column("location_id", sa.String(length=100), nullable=True),
        sa.Column("remote", sa.Boolean(), nullable=True),
        sa.Column("earliest", sa.Date(), nullable=True),
        sa.Column("latest", sa.Date(), nullable=True),
        sa.Column("weekdays", sa.JSON(), nullable=True),
        sa.Column("time_from", sa.String(length=5), nullable=True),
        sa.Column("time_to", sa.String(length=5), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("ended_at", frontdesk.store.models.UTCDateTime(), nullable=True),
        sa.Column("appointment_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"]),
        sa.ForeignKeyConstraint(["appointment_type_id"], ["appointment_types.id"]),
        sa.ForeignKeyConstraint(["clinician_id"], ["resources.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_waitlist_status_created", "waitlist_entries", ["status", "created_at", "id"])
    op.create_index("ix_waitlist_patient", "waitlist_entries", ["patient_id"])


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")


def _as_datetime(value):
    """A stored instant as a datetime (SQLite's driver hands raw text back here)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
