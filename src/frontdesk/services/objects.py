"""Plain objects that services take and return. Field names are the API documents' names, so
the command line turns them into JSON as they are.

All datetimes are timezone-aware (UTC unless said otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from frontdesk.domain.statuses import (
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_WAITING_ALERT_MINUTES,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None
    has_more: bool
    # The next page's place as an opaque key (keyset paging); lists that seek set it.
    next_cursor: str | None = None


# --- clinic reference data ---------------------------------------------------------------


@dataclass(frozen=True)
class LocationView:
    id: str
    name: str
    timezone: str


@dataclass(frozen=True)
class ClinicianView:
    id: str
    name: str
    timezone: str | None  # as set, else that of the first location with hours


@dataclass(frozen=True)
class RoomView:
    id: str
    name: str
    location_id: str


@dataclass(frozen=True)
class AppointmentTypeView:
    id: str
    name: str
    duration_minutes: int
    interval_minutes: int | None
    padding_before_minutes: int
    padding_after_minutes: int
    duration_options: list[int]
    min_notice_minutes: int
    capacity: int
    modes: list[str]
    clinician_ids: list[str]
    location_ids: list[str]
    room_ids: list[str]


@dataclass(frozen=True)
class ClinicOverview:
    name: str
    hold_minutes: int
    locations: list[LocationView]
    clinicians: list[ClinicianView]
    rooms: list[RoomView]
    appointment_types: list[AppointmentTypeView]
    # The flow board (clinic file): not arrived this long after the start is late; waiting
    # this long after arriving is an alert.
    late_after_minutes: int = DEFAULT_LATE_AFTER_MINUTES
    waiting_alert_minutes: int = DEFAULT_WAITING_ALERT_MINUTES
    # How the desk writes: national phones are this country's; dates are typed in this order.
    country: str = "GB"
    date_order: str = "DMY"


@dataclass(frozen=True)
class LoadReport:
    path: str
    counts: dict[str, int]  # rows in the file, by section ("locations": 2, ...)
    # By section ("clinic", "locations", ...): {"added", "changed", "kept", "removed"}, each a
    # list of ids (rows without ids: their place in the file, or their database id, and what
    # they are). "kept": appointments a desk changed since they were loaded, left as they are.
    changes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    dry_run: bool = False  # True: nothing was written


# --- a clinician's own calendars, imported ----------------------------------------------


@dataclass(frozen=True)
class CalendarImport:
    """What one import of a calendar did (services/calendars.py)."""

    clinician_id: str
    source: str
    file: str
    events: int  # VEVENTs in the file
    busy_periods: int  # busy time written, one per occurrence in the horizon that takes time
    skipped: int  # occurrences in the horizon that take no time: transparent, cancelled, or of no length
    replaced: int  # busy periods of the source's previous import, removed
    horizon_start: datetime
    horizon_end: datetime


@dataclass(frozen=True)
class ExternalBusyView:
    """A clinician's busy time from their own calendar on one day: its time only, nothing of
    the event. Cut to the day asked for; `whole_day` when it takes all of it."""

    clinician_id: str
    clinician_name: str
    source: str
    busy_start: datetime
    busy_end: datetime
    whole_day: bool = False


# --- availability ------------------------------------------------------------------------


@dataclass(frozen=True)
class AvailabilityQuery:
    appointment_type_id: str
    start_date: str  # YYYY-MM-DD or ISO 8601 instant
    end_date: str
    clinician_id: str | None = None
    location_id: str | None = None
    is_remote: bool | None = None
    timezone: str | None = None  # IANA; output and date-only edges in it (UTC when None)
    round_robin: str | None = None  # None, RANDOM, BALANCED, NONE, COMBINED
    resource_ids: tuple[str, ...] = ()
    duration: int | None = None
    interval: int | None = None
    first_available: bool = False
    seed: int | None = None
    reschedule_appointment_id: str | None = None  # moving it: its own time is not busy


@dataclass(slots=True)  # not frozen: a month of slots is built per query, and frozen init is 5x slower
class Slot:
    start_time: datetime  # in the requested timezone
    end_time: datetime
    clinician_id: str | None
    clinician_name: str | None
    location_id: str | None
    location_name: str | None
    is_remote: bool
    resource_ids: list[str]
    seats_left: int | None = None  # a group type's places still free at this start; None for one-to-one types


@dataclass(frozen=True)
class AvailabilityResult:
    slots: list[Slot]
    days: dict[str, list[Slot]]  # every date of the range, "YYYY-MM-DD", in order
    timezone: str


# --- patients ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientView:
    id: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    email: str | None
    phone: str | None
    phone_e164: str | None = None  # +447700900396: what search matches
    phone_display: str | None = None  # as the desk reads it back: 07700 900396 in the clinic's country
    version: int = 1  # goes up on every change; name it to refuse a stale change
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class NewPatient:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    date_of_birth: str | None = None  # YYYY-MM-DD


# --- holds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldRequest:
    appointment_type_id: str
    clinician_id: str
    start: datetime | None = None  # an instant, or date + start_time in the location's zone
    date: str | None = None
    start_time: str | None = None
    duration_minutes: int | None = None
    location_id: str | None = None
    room_id: str | None = None
    is_remote: bool = False
    reschedule_appointment_id: str | None = None  # a hold to move this appointment onto
    rrule: str | None = None  # a series: every occurrence of this RFC 5545 rule, under one hold
    skip_conflicts: bool = False  # a series: hold the free occurrences, list the others



@dataclass(frozen=True)
class HoldView:
    id: str
    status: str  # active, confirmed, released, expired
    appointment_type_id: str
    clinician_id: str
    location_id: str | None
    resource_ids: list[str]
    is_remote: bool
    start_time: datetime
    end_time: datetime
    expires_at: datetime
    created_at: datetime
    created_by: str
    appointment_id: str | None
    desk: str | None = None  # the terminal it was made at
    reschedule_appointment_id: str | None = None
    extended_at: datetime | None = None  # when the desk extended it (once at most), else None
    extended_by: str | None = None
    # A series hold: its rule, the occurrences it holds ({index, start_time, end_time,
    # resource_ids}) and those it skipped ({index, start_time, end_time, reason}); None and
    # [] for a hold of one slot. Once confirmed, every appointment it booked, in order.
    series_rule: str | None = None
    occurrences: list[dict] | None = None
    skipped: list[dict] = field(default_factory=list)
    appointment_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HoldFilter:
    limit: int = 20
    offset: int = 0
    status: str | None = None  # None: the holds in force (active, not yet expired)
    created_by: str | None = None


@dataclass(frozen=True)
class ConfirmRequest:
    patient_id: str | None = None
    new_patient: NewPatient | None = None
    attendee_name: str | None = None
    attendee_email: str | None = None
    payment_status: str | None = None  # a group seat's (not_applicable when not given)
    allow_duplicate: bool = False  # create the new patient even when one like it exists


# --- appointments ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusHistoryEntry:
    status: str
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class ChangeLogEntry:
    field: str
    old: Any
    new: Any
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class AttendeeView:
    """A patient in a group appointment (appointment-model `attendees`; `id` is the patient's)."""

    id: str
    name: str
    attendance_status: str  # going, not_going
    no_show: bool
    payment_status: str  # not_applicable, pending, paid
    last_updated_at: datetime


@dataclass(frozen=True)
class VideoCall:
    join_url: str | None  # None: the clinic file sets no video_url_template
    meeting_id: str | None  # None: a link a clinic file gave, not made here


@dataclass(frozen=True)
class AppointmentView:
    id: str
    patient_id: str | None
    clinician_profile_id: str | None
    title: str
    description: str | None
    start_time: datetime
    end_time: datetime
    status: str
    appointment_type_id: str | None
    location_id: str | None
    is_remote: bool
    remote_channel: str | None
    video_link: str | None
    video_provider: str | None
    duration_minutes: int
    attendee_email: str | None
    attendee_name: str | None
    meeting_url: str | None
    attendance_status: str | None
    cancellation_reason: str | None
    booking_source: str | None
    episode_id: str | None
    created_at: datetime
    updated_at: datetime
    resource_ids: list[str]
    hold_id: str | None
    status_history: list[StatusHistoryEntry]
    change_log: list[ChangeLogEntry]
    overlap_reason: str | None = None  # set when a booking was allowed to overlap busy time
    version: int = 1  # goes up on every change; name it to refuse a stale change
    created_by: str | None = None
    arrived_at: datetime | None = None
    actual_start_time: datetime | None = None
    actual_end_time: datetime | None = None
    last_action_on: date | None = None  # the local date of its last day action (what revert undoes)
    object: str = "appointment"
    group: bool = False
    internal: bool = False
    host: str | None = None  # the first clinician (clinician_profile_id)
    attendees: list[AttendeeView] = field(default_factory=list)
    reference_patients: list[str] = field(default_factory=list)  # patient ids an internal one is about
    # {is_recurring: false}, or {is_recurring: true, series_id, rule, index} in a series
    recurring: dict[str, Any] = field(default_factory=lambda: {"is_recurring": False})
    interaction_type: str = "in_person"  # or video_call
    video_call: VideoCall | None = None


@dataclass(frozen=True)
class AppointmentFilter:
    limit: int = 20
    offset: int = 0
    patient_id: str | None = None
    clinician_id: str | None = None
    status: str | None = None
    status_in: tuple[str, ...] = ()
    date_gte: datetime | None = None
    date_lte: datetime | None = None
    appointment_type_id: str | None = None
    location_id: str | None = None
    # A page's `next_cursor`: read on from there (offset then only numbers next_offset).
    cursor: str | None = None


@dataclass(frozen=True)
class AppointmentCreate:
    title: str
    start_time: datetime
    end_time: datetime
    patient_id: str | None = None
    clinician_profile_id: str | None = None
    appointment_type_id: str | None = None
    location_id: str | None = None
    status: str | None = None  # default pending
    is_remote: bool = False
    description: str | None = None
    attendee_name: str | None = None
    attendee_email: str | None = None
    episode_id: str | None = None
    room_id: str | None = None
    idempotency_key: str | None = None
    allow_overlap_reason: str | None = None  # set: overlap allowed and this reason recorded
    booking_source: str = "frontdesk"
    # Staff time (booking.md "Internal appointments"): no patient; busy for the host
    # (clinician_profile_id) and every other clinician named; optionally about patients.
    internal: bool = False
    other_clinician_ids: tuple[str, ...] = ()
    reference_patient_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionResult:
    """An action's answer: the appointment after it, and the `meta` of the API."""

    appointment: AppointmentView
    action: str  # e.g. "cancelled"
    performed_at: datetime
    performed_by: str
    series: SeriesChange | None = None  # a change with a scope other than `one`


@dataclass(frozen=True)
class SeriesBooked:
    """A confirmed series hold: the first occurrence's appointment, and every one booked."""

    appointment: AppointmentView
    appointment_ids: list[str]


@dataclass(frozen=True)
class SeriesChange:
    """What a cancel or an edit with a scope reached in its series: the occurrences changed
    (the named one first) and those left as they were, with their status."""

    scope: str
    series_id: str | None
    changed: list[str]
    left_as_is: list[dict]  # {id, index, status}


@dataclass(frozen=True)
class SeriesOccurrence:
    """One occurrence of a series a held slot could grow into (`preview_series`): free, or
    the reason it is not (domain/series.py's words)."""

    index: int
    start_time: datetime
    end_time: datetime
    free: bool
    reason: str | None = None


@dataclass(frozen=True)
class AgendaRow:
    """One line of the day list: an appointment with the names a person reads."""

    appointment: AppointmentView
    patient_name: str | None
    clinician_name: str | None
    type_name: str | None
    room_names: list[str] = field(default_factory=list)
    patient_phone: str | None = None  # to call a late patient
