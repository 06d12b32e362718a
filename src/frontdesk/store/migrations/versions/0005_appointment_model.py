"""the seed's appointment model: groups with attendees, series, internal time, video links

Revision ID: 0005
Revises: 0004
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import frontdesk.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clinic", sa.Column("video_url_template", sa.Text(), nullable=True))
    op.add_column("holds", sa.Column("series_rule", sa.Text(), nullable=True))
    op.add_column("holds", sa.Column("occurrences", sa.JSON(), nullable=True))
    op.add_column("holds", sa.Column("skipped", sa.JSON(), nullable=True))
    op.add_column("busy_times", sa.Column("seats", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("appointments", sa.Column("is_group", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("appointments", sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("appointments", sa.Column("series_id", sa.String(length=100), nullable=True))
    op.add_column("appointments", sa.Column("series_rule", sa.Text(), nullable=True))
    op.add_column("appointments", sa.Column("series_index", sa.Integer(), nullable=True))
    op.add_column("appointments", sa.Column("meeting_id", sa.String(length=100), nullable=True))
    op.create_index("ix_appointments_series_id", "appointments", ["series_id"])
    op.create_table(
        "attendees",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("appointment_id", sa.String(length=100),
                  sa.ForeignKey("appointments.id", name="fk_attendees_appointment_id_appointments",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("patient_id", sa.String(length=100),
                  sa.ForeignKey("patients.id", name="fk_attendees_patient_id_patients"), nullable=False),
        sa.Column("attendance_status", sa.String(length=20), nullable=False),
        sa.Column("no_show", sa.Boolean(), nullable=False),
        sa.Column("payment_status", sa.String(length=20), nullable=False),
        sa.Column("hold_id", sa.String(length=100), nullable=True),
        sa.Column("former_appointment_id", sa.String(length=100), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_updated_at", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attendees"),
        sa.UniqueConstraint("appointment_id", "patient_id", name="uq_attendees_appointment_id"),
    )
    op.create_index("ix_attendees_patient_id", "attendees", ["patient_id"])
    op.create_index("ix_attendees_former_appointment_id", "attendees", ["former_appointment_id"])
    op.create_table(
        "reference_patients",
        sa.Column("appointment_id", sa.String(length=100),
                  sa.ForeignKey("appointments.id", name="fk_reference_patients_appointment_id_appointments",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("patient_id", sa.String(length=100),
                  sa.ForeignKey("patients.id", name="fk_reference_patients_patient_id_patients"), nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", "patient_id", name="pk_reference_patients"),
    )
    merge_seats_into_groups(op.get_bind())


# --- data: one appointment per seat becomes one group appointment with attendees -------------

MIGRATION = "migration 0005"
# The status a merged group keeps: the liveliest of its seats' (a class one patient cancelled
# still runs for the others).
STATUS_ORDER = ("confirmed", "scheduled", "pending", "pending_approval", "completed", "no_show", "cancelled")

_dt = frontdesk.store.models.UTCDateTime
appointments = sa.table(
    "appointments", sa.column("id"), sa.column("patient_id"), sa.column("appointment_type_id"),
    sa.column("start_time", _dt()), sa.column("clinician_profile_id"), sa.column("location_id"),
    sa.column("is_remote", sa.Boolean()), sa.column("status"), sa.column("hold_id"), sa.column("created_by"),
    sa.column("created_at", _dt()), sa.column("updated_at", _dt()), sa.column("is_group", sa.Boolean()),
    sa.column("title"), sa.column("attendee_name"), sa.column("attendee_email"), sa.column("version", sa.Integer()),
)
attendees = sa.table(
    "attendees", sa.column("appointment_id"), sa.column("patient_id"), sa.column("attendance_status"),
    sa.column("no_show", sa.Boolean()), sa.column("payment_status"), sa.column("hold_id"),
    sa.column("former_appointment_id"), sa.column("added_by"), sa.column("added_at", _dt()),
    sa.column("last_updated_at", _dt()),
)
status_history = sa.table("status_history", sa.column("appointment_id"), sa.column("status"),
                          sa.column("changed_by"), sa.column("changed_at", _dt()))
change_log = sa.table("change_log", sa.column("appointment_id"), sa.column("field"), sa.column("old", sa.JSON()),
                      sa.column("new", sa.JSON()), sa.column("changed_by"), sa.column("changed_at", _dt()))
links = sa.table("appointment_resources", sa.column("appointment_id"), sa.column("resource_id"))
busy = sa.table("busy_times", sa.column("id", sa.Integer()), sa.column("resource_id"), sa.column("appointment_id"),
                sa.column("seats", sa.Integer()))
idempotency = sa.table("idempotency_keys", sa.column("appointment_id"))


def merge_seats_into_groups(bind) -> None:
    """The seats of a type with capacity above 1 sharing (type, start, clinician, place) become
    one group appointment: the earliest-created seat's id is the group's; each seat's patient
    an attendee (a cancelled seat not going, a no-show seat no_show, `former_appointment_id`
    its id); every status-history and change-log row moves to the group, and a change-log
    entry names the merge; the busy rows become one set whose `seats` are the attendees going."""
    group_types = dict(bind.execute(sa.text(
        "SELECT id, name FROM appointment_types WHERE capacity > 1")).all())
    if not group_types:
        return
    a = appointments.c
    seats = bind.execute(
        sa.select(appointments).where(a.appointment_type_id.in_(sorted(group_types)))
        .order_by(a.created_at, a.id)
    ).all()
    groups: dict[tuple, list] = {}
    for seat in seats:
        key = (seat.appointment_type_id, seat.start_time, seat.clinician_profile_id, seat.location_id, seat.is_remote)
        groups.setdefault(key, []).append(seat)
    now = datetime.now(UTC)
    for members in groups.values():
        _merge(bind, members, group_types[members[0].appointment_type_id], now)


def _merge(bind, members: list, title: str, now: datetime) -> None:
    kept, others = members[0], members[1:]
    group_id, other_ids = kept.id, [m.id for m in others]
    status = min((m.status for m in members), key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 0)
    if other_ids:
        for table in (status_history, change_log, idempotency):
            bind.execute(table.update().where(table.c.appointment_id.in_(other_ids)).values(appointment_id=group_id))
        held = set(bind.execute(sa.select(links.c.resource_id).where(links.c.appointment_id == group_id)).scalars())
        for resource_id in bind.execute(sa.select(links.c.resource_id).where(links.c.appointment_id.in_(other_ids))).scalars():
            if resource_id not in held:
                held.add(resource_id)
                bind.execute(links.insert().values(appointment_id=group_id, resource_id=resource_id))
        bind.execute(links.delete().where(links.c.appointment_id.in_(other_ids)))

    # One attendee per patient (a patient booked twice into one class is one attendee: going
    # if any of their seats was, their first seat's id kept as the former appointment).
    people: dict[str, dict] = {}
    for m in members:
        if m.patient_id is None:
            continue
        row = {
            "appointment_id": group_id, "patient_id": m.patient_id,
            "attendance_status": "not_going" if m.status == "cancelled" else "going",
            "no_show": m.status == "no_show", "payment_status": "not_applicable", "hold_id": m.hold_id,
            "former_appointment_id": m.id, "added_by": m.created_by or MIGRATION, "added_at": m.created_at,
            "last_updated_at": m.updated_at,
        }
        seen = people.get(m.patient_id)
        if seen is None:
            people[m.patient_id] = row
        elif seen["attendance_status"] == "not_going" and row["attendance_status"] == "going":
            people[m.patient_id] = {**row, "former_appointment_id": seen["former_appointment_id"]}
    if people:
        bind.execute(attendees.insert(), list(people.values()))
    going = sum(1 for p in people.values() if p["attendance_status"] == "going")

    # The busy rows: one per resource, standing for the seats going.
    b = busy.c
    rows = bind.execute(sa.select(b.id, b.resource_id).where(b.appointment_id.in_([group_id, *other_ids]))
                        .order_by(b.id)).all()
    keep: dict[str, int] = {}
    for row_id, resource_id in rows:
        keep.setdefault(resource_id, row_id)
    extra = [row_id for row_id, _ in rows if row_id not in keep.values()]
    if extra:
        bind.execute(busy.delete().where(b.id.in_(extra)))
    if keep:
        bind.execute(busy.update().where(b.id.in_(list(keep.values()))).values(appointment_id=group_id, seats=going))

    if other_ids:
        bind.execute(appointments.delete().where(appointments.c.id.in_(other_ids)))
    if status != kept.status:
        bind.execute(status_history.insert().values(appointment_id=group_id, status=status, changed_by=MIGRATION,
                                                    changed_at=now))
    bind.execute(change_log.insert().values(
        appointment_id=group_id, field="group", old={"patient_id": kept.patient_id, "title": kept.title},
        new={"merged_appointment_ids": [m.id for m in members], "attendees": sorted(people)},
        changed_by=MIGRATION, changed_at=now,
    ))
    bind.execute(appointments.update().where(appointments.c.id == group_id).values(
        is_group=True, patient_id=None, title=title, attendee_name=None, attendee_email=None, status=status,
        version=appointments.c.version + 1,
    ))


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")
