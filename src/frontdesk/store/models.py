"""SQLAlchemy models: one table for each thing in booking.md. Every instant is stored as naive UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from frontdesk.domain.busy import LONG_SPAN
from frontdesk.domain.patients import search_name
from frontdesk.domain.statuses import (
    DEFAULT_HOLD_MINUTES,
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_WAITING_ALERT_MINUTES,
    IN_PERSON,
)
from frontdesk.store.search_keys import place_search_key


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:
        # Every model here maps one Table; SQLAlchemy types __table__ as any FromClause.
        __table__: ClassVar[Table]


class Clinic(Base):
    """Clinic-wide settings: a single row with id 1."""

    __tablename__ = "clinic"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    hold_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_HOLD_MINUTES)
    late_after_minutes: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_LATE_AFTER_MINUTES, server_default=str(DEFAULT_LATE_AFTER_MINUTES)
    )
    waiting_alert_minutes: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_WAITING_ALERT_MINUTES, server_default=str(DEFAULT_WAITING_ALERT_MINUTES)
    )
    # Phones typed without a country code are this country's (ISO 3166 alpha-2); dates typed
    # at the desk are read in `date_order` (DMY, MDY or YMD).
    country: Mapped[str] = mapped_column(String(2), default="GB", server_default="GB")
    date_order: Mapped[str] = mapped_column(String(3), default="DMY", server_default="DMY")
    # Each remote booking's link: the template with its own meeting id for `{meeting_id}`.
    video_url_template: Mapped[str | None] = mapped_column(Text)
    # Goes up with every change to the setup (SETUP_MODELS): what a process has read of the
    # setup stays good while this stays the same (services/setup.py).
    setup_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[list[LocationHours]] = relationship(
        cascade="all, delete-orphan", order_by="LocationHours.weekday, LocationHours.start_minute"
    )


class LocationHours(Base):
    """Opening hours of a location on one weekday (0 = Monday), minutes since midnight."""

    __tablename__ = "location_hours"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("location_id", "weekday", "start_minute", "end_minute"),)


class Resource(Base):
    """A bookable thing: a clinician (kind 'clinician') or a room (kind 'room', at one location).

    Both share one table so blocks, bookings and row locks treat them alike.
    """

    __tablename__ = "resources"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    # A clinician's own calendars, from the clinic file: [{"file": ..., "source": ...}]
    # (interop.md), imported again by `availability --sync-external`.
    external_calendars: Mapped[list[dict] | None] = mapped_column(JSON)


type_clinicians = Table(
    "type_clinicians",
    Base.metadata,
    Column("appointment_type_id", ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True),
    Column("clinician_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
)
type_locations = Table(
    "type_locations",
    Base.metadata,
    Column("appointment_type_id", ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)
type_rooms = Table(
    "type_rooms",
    Base.metadata,
    Column("appointment_type_id", ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True),
    Column("room_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
)


class AppointmentType(Base):
    __tablename__ = "appointment_types"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    padding_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    padding_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    duration_options: Mapped[list[int]] = mapped_column(JSON, default=list)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=0)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    modes: Mapped[list[str]] = mapped_column(JSON, default=lambda: [IN_PERSON])
    clinicians: Mapped[list[Resource]] = relationship(secondary=type_clinicians, order_by=Resource.id)
    locations: Mapped[list[Location]] = relationship(secondary=type_locations, order_by=Location.id)
    rooms: Mapped[list[Resource]] = relationship(secondary=type_rooms, order_by=Resource.id)


class ScheduleRule(Base):
    """Weekly working hours of a clinician in one channel: in person at a location, or remote.

    Rows from a clinic file have no id of their own; `key` (a digest of the row) makes loading
    the same file twice change nothing.
    """

    __tablename__ = "schedule_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    weekdays: Mapped[list[int]] = mapped_column(JSON)  # 0 = Monday
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)  # up to 1440 (24:00)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)  # inclusive


class ScheduleOverride(Base):
    """One date's hours for a channel, replacing its weekly hours; no start/end closes it."""

    __tablename__ = "schedule_overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    date: Mapped[date] = mapped_column(Date)
    start_minute: Mapped[int | None] = mapped_column(Integer)
    end_minute: Mapped[int | None] = mapped_column(Integer)
    # Availability reads the dates of its window only, however many past overrides there are.
    __table_args__ = (Index("ix_schedule_overrides_clinician_date", "clinician_id", "date"),)


class Block(Base):
    """Time off for a resource, in its wall-clock time; one-off or recurring (RFC 5545 RRULE).

    span_start/span_end (UTC) bound every occurrence so a query reads only blocks that can
    touch its window; span_end is null for a rule that recurs forever.
    """

    __tablename__ = "blocks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    start_local: Mapped[datetime] = mapped_column(DateTime)
    end_local: Mapped[datetime] = mapped_column(DateTime)
    rrule: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(200))
    span_start: Mapped[datetime] = mapped_column(UTCDateTime)
    span_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its occurrences span more than domain.busy.LONG_SPAN (a recurring block that ends, a
    # week away): read on their own, so the others are found in a range of span_end bounded
    # on both sides, however far ahead the clinic has planned time off.
    long_span: Mapped[bool] = mapped_column(Boolean, default=lambda ctx: _spans_long(ctx.get_current_parameters()),
                                            server_default=false())
    # Past one-off blocks end before any window asked about: (resource, span_end) skips them.
    __table_args__ = (
        Index("ix_blocks_resource_span_end", "resource_id", "span_end"),
        Index("ix_blocks_long_span", "resource_id", "long_span", "span_end"),
    )


def _spans_long(values: dict) -> bool:
    start, end = values.get("span_start"), values.get("span_end")
    return start is not None and end is not None and end - start > LONG_SPAN


class ExternalBusy(Base):
    """A clinician's busy time imported from one of their own calendars (iCalendar), one row
    per occurrence, already expanded and in UTC. Nothing of the event but its time is kept.

    Not in `busy_times`: a private calendar may overlap a booking, and that is its owner's
    business; availability treats these rows as busy time like blocks. Importing a source
    again replaces its rows. No row is longer than domain.busy.LONG_SPAN (a longer period is
    cut into rows), so a window's read is bounded on both sides.
    """

    __tablename__ = "external_busy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(100))
    busy_start: Mapped[datetime] = mapped_column(UTCDateTime)
    busy_end: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (
        Index("ix_external_busy_clinician_busy_end", "clinician_id", "busy_end", "busy_start"),
        Index("ix_external_busy_clinician_source", "clinician_id", "source"),
    )


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    # The phone as E.164 (+447700900396), whatever way it was typed: what search matches.
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    # "last first|first last", accents stripped and case folded (domain/patients.py); kept
    # in step with the names on every flush (below). Sorting on it sorts by last name.
    search_name: Mapped[str | None] = mapped_column(String(410))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SQLite: the patient's place in name order, (search_name, id), with gaps (migration
    # 0009): the rowid of both search indexes (patients_fts, patients_words), so they give
    # their matches in the list's order. Set below on insert and rename; unlike the table's
    # own rowid, VACUUM or a dump and restore leave it alone. Unused on PostgreSQL.
    search_key: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    # batch=False: each patient is written before the next one's key is placed (below).
    __mapper_args__ = {"version_id_col": version, "batch": False}


# An email typed in any case is found through this index.
Index("ix_patients_email_lower", func.lower(Patient.email))
# A name search reads (and sorts on) this index alone, fetching only the patients it finds.
Index("ix_patients_search_name", Patient.search_name, Patient.id)
Index("ix_patients_search_key", Patient.search_key, unique=True)
# Not in these models, made by migrations 0008 and 0009 for one engine each: SQLite's FTS5
# trigram table over search_name, phone_e164 and email and its word table over search_name
# (with their triggers and shadow tables), PostgreSQL's pg_trgm indexes. A schema comparison
# leaves these names out.
SEARCH_INDEX_NAMES = ("patients_fts", "patients_words", "ix_patients_search_name_trgm", "ix_patients_phone_trgm",
                      "ix_patients_email_trgm")


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _keep_search_name(_mapper, connection, patient: Patient) -> None:
    name = search_name(patient.first_name, patient.last_name)
    moved = name != patient.search_name or patient.search_key is None
    patient.search_name = name
    if moved and connection.dialect.name == "sqlite":
        patient.search_key = place_search_key(connection, name, patient.id)


hold_resources = Table(
    "hold_resources",
    Base.metadata,
    Column("hold_id", ForeignKey("holds.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_id", ForeignKey("resources.id"), primary_key=True),
)


class Hold(Base):
    """A slot reserved while details are taken. 'expired' is read from the clock, never written."""

    __tablename__ = "holds"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # active, confirmed, released
    appointment_type_id: Mapped[str] = mapped_column(ForeignKey("appointment_types.id"))
    clinician_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    is_remote: Mapped[bool] = mapped_column(Boolean, default=False)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    desk: Mapped[str | None] = mapped_column(String(100))  # the terminal it was made at
    # A hold made to move this appointment: its own busy time does not stand in the way. (No
    # foreign key: appointments already refer to holds, and a cycle would muddle table order.)
    reschedule_appointment_id: Mapped[str | None] = mapped_column(String(100))
    # A desk may extend its hold once: when, and by whom.
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended_by: Mapped[str | None] = mapped_column(String(100))
    # A series hold (one countdown over every occurrence of `series_rule`): the occurrences it
    # holds, [{index, start_time, end_time}] (ISO UTC), and those it skipped, with why. The
    # hold's own start/end are its first occurrence's. None for a hold of one slot.
    series_rule: Mapped[str | None] = mapped_column(Text)
    occurrences: Mapped[list[dict] | None] = mapped_column(JSON)
    skipped: Mapped[list[dict] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    resources: Mapped[list[Resource]] = relationship(secondary=hold_resources, order_by=Resource.id, viewonly=True)
    appointment: Mapped[Appointment | None] = relationship(
        back_populates="hold", uselist=False, foreign_keys="Appointment.hold_id"
    )
    # The attendee a confirmed seat hold became (a group another hold began has its hold_id).
    seat: Mapped[Attendee | None] = relationship(
        primaryjoin="foreign(Attendee.hold_id) == Hold.id", uselist=False, viewonly=True
    )


appointment_resources = Table(
    "appointment_resources",
    Base.metadata,
    Column("appointment_id", ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_id", ForeignKey("resources.id"), primary_key=True),
    Index("ix_appointment_resources_resource", "resource_id", "appointment_id"),
)


class Appointment(Base):
    """The appointments-api object, plus the rooms it takes, its hold, history and change log."""

    __tablename__ = "appointments"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"))
    clinician_profile_id: Mapped[str | None] = mapped_column(ForeignKey("resources.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    appointment_type_id: Mapped[str | None] = mapped_column(ForeignKey("appointment_types.id"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    is_remote: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_channel: Mapped[str | None] = mapped_column(String(50))
    video_link: Mapped[str | None] = mapped_column(String(500))
    video_provider: Mapped[str | None] = mapped_column(String(50))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    attendee_email: Mapped[str | None] = mapped_column(String(200))
    attendee_name: Mapped[str | None] = mapped_column(String(200))
    meeting_url: Mapped[str | None] = mapped_column(String(500))
    attendance_status: Mapped[str | None] = mapped_column(String(50))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_start_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The day's actions made so far, newest last, each with the visit as it was before it:
    # what `revert` undoes (domain/day.py).
    day_actions: Mapped[list[dict] | None] = mapped_column(JSON, default=list)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    booking_source: Mapped[str | None] = mapped_column(String(50))
    episode_id: Mapped[str | None] = mapped_column(String(100))
    overlap_reason: Mapped[str | None] = mapped_column(Text)
    hold_id: Mapped[str | None] = mapped_column(ForeignKey("holds.id"), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # A group (a type with capacity above 1): one appointment per start, clinician and room,
    # its patients in `attendees`.
    is_group: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Staff time for the clinicians in `resources` (the host is clinician_profile_id).
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # One occurrence of a series booked from one hold: the series, its rule, its place (0 first).
    series_id: Mapped[str | None] = mapped_column(String(100), index=True)
    series_rule: Mapped[str | None] = mapped_column(Text)
    series_index: Mapped[int | None] = mapped_column(Integer)
    meeting_id: Mapped[str | None] = mapped_column(String(100))  # a remote booking's own meeting
    # Goes up by one on every change (SQLAlchemy checks it on each UPDATE): a desk that saw an
    # older version is told VERSION_CONFLICT instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The version a clinic-file load last wrote; a reload keeps what a desk changed since.
    loaded_version: Mapped[int | None] = mapped_column(Integer)
    resources: Mapped[list[Resource]] = relationship(
        secondary=appointment_resources, order_by=Resource.id, viewonly=True
    )
    hold: Mapped[Hold | None] = relationship(back_populates="appointment", foreign_keys=[hold_id])
    status_history: Mapped[list[StatusChange]] = relationship(
        cascade="all, delete-orphan", order_by="StatusChange.id"
    )
    change_log: Mapped[list[FieldChange]] = relationship(cascade="all, delete-orphan", order_by="FieldChange.id")
    attendees: Mapped[list[Attendee]] = relationship(cascade="all, delete-orphan", order_by="Attendee.id")
    reference_patients: Mapped[list[Patient]] = relationship(
        secondary="reference_patients", order_by="Patient.id", viewonly=True
    )
    # Each list filter has its index ending in (start_time, id): a page is read in order and
    # from the index alone, and the next page seeks past the last row's key (keyset paging).
    __table_args__ = (
        Index("ix_appointments_start", "start_time", "id"),
        Index("ix_appointments_location_start", "location_id", "start_time", "id"),
        Index("ix_appointments_clinician_start", "clinician_profile_id", "start_time", "id"),
        Index("ix_appointments_status_start", "status", "start_time", "id"),
        Index("ix_appointments_type_start", "appointment_type_id", "start_time", "id"),
        Index("ix_appointments_patient_start", "patient_id", "start_time", "id"),
        Index("ix_appointments_internal_start", "internal", "start_time", "id"),
    )
    __mapper_args__ = {"version_id_col": version}


class Attendee(Base):
    """A patient in a group appointment (appointment-model `attendees`). `not_going` frees the
    seat and keeps the row; `former_appointment_id` names the one-seat appointment a migration
    merged into the group, so its id still leads somewhere."""

    __tablename__ = "attendees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    appointment_id: Mapped[str] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    attendance_status: Mapped[str] = mapped_column(String(20))  # going, not_going
    no_show: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_status: Mapped[str] = mapped_column(String(20))  # not_applicable, pending, paid
    hold_id: Mapped[str | None] = mapped_column(String(100))  # the seat hold it was confirmed from
    former_appointment_id: Mapped[str | None] = mapped_column(String(100), index=True)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    patient: Mapped[Patient] = relationship()
    __table_args__ = (UniqueConstraint("appointment_id", "patient_id"),)


reference_patients = Table(
    "reference_patients",
    Base.metadata,
    Column("appointment_id", ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True),
    Column("patient_id", ForeignKey("patients.id"), primary_key=True),
)


class BusyTime(Base):
    """The busy time of one resource taken by one active booking (an appointment or a hold),
    padded by the booking's type: the table the database itself keeps free of overlaps.

    Only bookings that take time have rows: a cancelled, completed or no-show appointment and
    a confirmed or released hold have none. An expired hold keeps its rows until a booking
    transaction clears them (a constraint cannot read the clock), so reads skip them by
    `expires_at`. Rows overlap only when they share `share_key` (the seats of one group) or
    when an overlap was allowed with a reason (`exempt`). PostgreSQL enforces this with an
    exclusion constraint, SQLite with triggers (migration 0002).
    """

    __tablename__ = "busy_times"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    busy_start: Mapped[datetime] = mapped_column(UTCDateTime)
    busy_end: Mapped[datetime] = mapped_column(UTCDateTime)
    appointment_id: Mapped[str | None] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    hold_id: Mapped[str | None] = mapped_column(ForeignKey("holds.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a hold's
    appointment_type_id: Mapped[str | None] = mapped_column(String(100))
    booked_start: Mapped[datetime] = mapped_column(UTCDateTime)  # the booking's own (unpadded) start
    share_key: Mapped[str] = mapped_column(String(300))
    exempt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The seats of a group this row stands for: a group appointment's attendees going (a seat
    # hold is 1). Capacity is the booking rule's to check; the database checks the overlap.
    seats: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Longer than domain.busy.LONG_SPAN (rare: staff away for days): read on their own, so
    # every other row of a window is found in a range of busy_end bounded on both sides.
    long_span: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Availability reads a window of busy time from these indexes alone, however much future
    # the table holds.
    __table_args__ = (
        Index("ix_busy_times_resource_busy_end", "resource_id", "busy_end", "busy_start", "expires_at"),
        Index("ix_busy_times_long_span", "resource_id", "long_span", "busy_end"),
    )


class StatusChange(Base):
    __tablename__ = "status_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    appointment_id: Mapped[str] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FieldChange(Base):
    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    appointment_id: Mapped[str] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    old: Mapped[object | None] = mapped_column(JSON)
    new: Mapped[object | None] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WaitlistEntry(Base):
    """A patient waiting for a slot that fits their wishes (booking.md "Waitlist"); its offers
    are computed by the availability engine when asked, never stored.

    status: waiting, booked (the patient was booked into a fitting slot) or removed.
    """

    __tablename__ = "waitlist_entries"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    appointment_type_id: Mapped[str] = mapped_column(ForeignKey("appointment_types.id"))
    clinician_id: Mapped[str | None] = mapped_column(ForeignKey("resources.id"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    remote: Mapped[bool | None] = mapped_column(Boolean)  # None: either mode
    earliest: Mapped[date | None] = mapped_column(Date)
    latest: Mapped[date | None] = mapped_column(Date)
    weekdays: Mapped[list[int] | None] = mapped_column(JSON)  # 0 = Monday; None: any day
    time_from: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", the location's wall clock
    time_to: Mapped[str | None] = mapped_column(String(5))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appointment_id: Mapped[str | None] = mapped_column(ForeignKey("appointments.id"))
    # First come, first offered: the waiting entries in the order they were added.
    __table_args__ = (
        Index("ix_waitlist_status_created", "status", "created_at", "id"),
        Index("ix_waitlist_patient", "patient_id"),
    )


class IdempotencyKey(Base):
    """A create's idempotency key, the digest of its body, and the appointment it made."""

    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[str] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The clinic's setup: what availability reads besides busy time. Changed only by a
# clinic-file load; every ORM flush changing it bumps `Clinic.setup_version` (store/db.py).
# A Core write to these tables must bump it too, or processes keep reading the old setup.
SETUP_MODELS: tuple[type[Base], ...] = (
    Clinic, Location, LocationHours, Resource, AppointmentType, ScheduleRule, ScheduleOverride,
)
