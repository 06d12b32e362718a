"""one table of busy time that the database keeps free of overlaps; appointment versions

Revision ID: 0002
Revises: 0001

- `busy_times`: one row per resource of each active booking (appointment or hold), filled
  from the old link tables, which lose their busy columns. PostgreSQL refuses overlapping
  rows with an exclusion constraint, SQLite with triggers (booking.md, Integrity).
- `appointments.version` (every change adds one) and `loaded_version` (what a clinic-file
  load last wrote); `holds.desk` (the terminal a hold was made at).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import frontdesk.store.models
from frontdesk.domain.booking import share_key
from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OVERLAP_MESSAGE = "frontdesk: busy time overlaps"  # store/db.py maps it to SLOT_UNAVAILABLE

# Two rows of one resource may overlap only when they share a key (a group's seats) or one
# of them was allowed to overlap with a reason.
_SQLITE_CHECK = """
WHEN NOT NEW.exempt AND EXISTS (
    SELECT 1 FROM busy_times AS other
    WHERE other.resource_id = NEW.resource_id
      AND other.busy_start < NEW.busy_end AND other.busy_end > NEW.busy_start
      AND other.share_key <> NEW.share_key AND NOT other.exempt AND other.id IS NOT NEW.id
)
BEGIN SELECT RAISE(ABORT, '{message}'); END
""".format(message=OVERLAP_MESSAGE)


def _utc(value):
    if value is None or isinstance(value, datetime):
        return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _fill(bind) -> list[dict]:
    """The busy rows of today's active bookings, from the link tables' padded intervals."""
    capacity = dict(bind.execute(sa.text("SELECT id, capacity FROM appointment_types")).all())
    rows = []
    appointments = bind.execute(sa.text(
        "SELECT l.resource_id, l.busy_start, l.busy_end, a.id, a.appointment_type_id, a.start_time,"
        " a.clinician_profile_id, a.overlap_reason, a.status"
        " FROM appointment_resources l JOIN appointments a ON a.id = l.appointment_id"
    )).all()
    for rid, low, high, aid, tid, start, clinician, overlap, status in appointments:
        if status not in ACTIVE_APPOINTMENT_STATUSES:
            continue
        start = _utc(start)
        rows.append(dict(
            resource_id=rid, busy_start=_utc(low), busy_end=_utc(high), appointment_id=aid, hold_id=None,
            expires_at=None, appointment_type_id=tid, booked_start=start, exempt=overlap is not None,
            share_key=share_key(aid, (capacity.get(tid) or 1) > 1, tid, start, clinician),
        ))
    holds = bind.execute(sa.text(
        "SELECT l.resource_id, l.busy_start, l.busy_end, h.id, h.appointment_type_id, h.start_time,"
        " h.clinician_id, h.expires_at FROM hold_resources l JOIN holds h ON h.id = l.hold_id"
        " WHERE h.status = 'active'"
    )).all()
    for rid, low, high, hid, tid, start, clinician, expires in holds:
        start = _utc(start)
        rows.append(dict(
            resource_id=rid, busy_start=_utc(low), busy_end=_utc(high), appointment_id=None, hold_id=hid,
            expires_at=_utc(expires), appointment_type_id=tid, booked_start=start, exempt=False,
            share_key=share_key(hid, (capacity.get(tid) or 1) > 1, tid, start, clinician),
        ))
    return rows


def _exempt_old_overlaps(rows: list[dict]) -> None:
    """Data written before the database refused overlaps may hold some; they are kept, marked
    exempt (as an allowed overlap), so the constraint can be added over them."""
    by_resource: dict[str, list[dict]] = {}
    for row in rows:
        by_resource.setdefault(row["resource_id"], []).append(row)
    for items in by_resource.values():
        kept: list[dict] = []
        for row in sorted(items, key=lambda r: (r["busy_start"], r["busy_end"])):
            if row["exempt"]:
                continue
            if any(o["busy_end"] > row["busy_start"] and o["share_key"] != row["share_key"] for o in kept):
                row["exempt"] = True
            else:
                kept = [o for o in kept if o["busy_end"] > row["busy_start"]] + [row]


def upgrade() -> None:
    bind = op.get_bind()
    rows = _fill(bind)
    _exempt_old_overlaps(rows)

    busy = op.create_table(
        "busy_times",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=False),
        sa.Column("busy_start", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("busy_end", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("appointment_id", sa.String(length=100), nullable=True),
        sa.Column("hold_id", sa.String(length=100), nullable=True),
        sa.Column("expires_at", frontdesk.store.models.UTCDateTime(), nullable=True),
        sa.Column("appointment_type_id", sa.String(length=100), nullable=True),
        sa.Column("booked_start", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("share_key", sa.String(length=300), nullable=False),
        sa.Column("exempt", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_busy_times_appointment_id_appointments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_busy_times_hold_id_holds"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name=op.f("fk_busy_times_resource_id_resources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_busy_times")),
    )
    with op.batch_alter_table("busy_times", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_busy_times_appointment_id"), ["appointment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_busy_times_hold_id"), ["hold_id"], unique=False)
        batch_op.create_index("ix_busy_times_resource_busy_end", ["resource_id", "busy_end", "busy_start", "expires_at"],
                              unique=False)
    if rows:
        op.bulk_insert(busy, rows)

    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE busy_times ADD CONSTRAINT busy_times_no_overlap EXCLUDE USING gist ("
            " resource_id WITH =, tsrange(busy_start, busy_end, '[)') WITH &&, share_key WITH <>"
            ") WHERE (NOT exempt)"
        )
    else:
        op.execute(f"CREATE TRIGGER busy_times_no_overlap_insert BEFORE INSERT ON busy_times {_SQLITE_CHECK}")
        op.execute(
            "CREATE TRIGGER busy_times_no_overlap_update BEFORE UPDATE OF resource_id, busy_start, busy_end,"
            f" share_key, exempt ON busy_times {_SQLITE_CHECK}"
        )

    with op.batch_alter_table("appointment_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_resources_resource_busy_end")
        batch_op.drop_column("busy_start")
        batch_op.drop_column("busy_end")
    with op.batch_alter_table("hold_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_hold_resources_resource_busy_end")
        batch_op.drop_column("busy_start")
        batch_op.drop_column("busy_end")
    # Plain ADD COLUMN: a batch copy of these tables would cascade-delete their history rows.
    op.add_column("appointments", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("appointments", sa.Column("loaded_version", sa.Integer(), nullable=True))
    op.add_column("holds", sa.Column("desk", sa.String(length=100), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")

