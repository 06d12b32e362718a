"""The UI's one door to the services.

Screens hand these functions to `FrontdeskScreen.call_service`, which runs them in a thread
worker. Each imports its service inside itself, in that worker, so the first frame never
waits for the services (and SQLAlchemy's ORM) to import. Nothing else in the UI imports
`frontdesk.services` at run time (objects for annotations only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frontdesk.services.context import Context
    from frontdesk.services.objects import (
        ActionResult,
        AgendaRow,
        AppointmentView,
        AvailabilityQuery,
        AvailabilityResult,
        ClinicOverview,
        ConfirmRequest,
        ExternalBusyView,
        HoldRequest,
        HoldView,
        Page,
        PatientView,
        SeriesOccurrence,
    )
    from frontdesk.services.day_sheet import WrittenSheet
    from frontdesk.services.patients import PatientHistory

VERSION_CONFLICT = "VERSION_CONFLICT"


# --- reading -----------------------------------------------------------------------------------


def overview(ctx: Context) -> tuple[ClinicOverview, str]:
    """The clinic's reference data, and the database it came from (named when it holds no clinic)."""
    from frontdesk.services.clinic import clinic_overview

    return clinic_overview(ctx), str(ctx.db.url)


def day_list(ctx: Context, location_id: str | None, day: date, **filters: Any) -> Page[AgendaRow]:
    from frontdesk.services.day_list import agenda

    return agenda(ctx, location_id=location_id, day=day, **filters)


def print_day_sheet(ctx: Context, *, location_id: str, day: date, folder: Path) -> WrittenSheet:
    """The day sheet's PDF of a site's day, into `folder` (created if need be)."""
    from frontdesk.services.day_sheet import write_day_sheet

    return write_day_sheet(ctx, day, folder=folder, location_id=location_id)


def day_rows(
    ctx: Context, location_id: str, day: date, *, external: bool, **filters: Any
) -> tuple[Page[AgendaRow], list[ExternalBusyView]]:
    """The day list and (`external`) the clinicians' busy time from their own calendars."""
    from frontdesk.services.calendars import external_busy_of_day

    page = day_list(ctx, location_id, day, **filters)
    if not external:
        return page, []
    return page, external_busy_of_day(ctx, location_id=location_id, day=day, clinician_id=filters.get("clinician_id"))


def appointment_with_patient(
    ctx: Context, appointment_id: str
) -> tuple[AppointmentView, PatientView | None, list[PatientView]]:
    """The appointment, its patient and (staff time) the patients it is about, read together for the screen."""
    from frontdesk.services.appointments import get_appointment
    from frontdesk.services.patients import get_patient

    appointment = get_appointment(ctx, appointment_id)
    patient = get_patient(ctx, appointment.patient_id) if appointment.patient_id else None
    return appointment, patient, [get_patient(ctx, pid) for pid in appointment.reference_patients]


def search_patients(ctx: Context, text: str) -> Page[PatientView]:
    from frontdesk.services.patients import search_patients as search

    return search(ctx, text, limit=20)


def patient_record(ctx: Context, patient_id: str, limit: int = 100) -> PatientHistory:
    """The patient with their appointments (the newest `limit`) and no-show count."""
    from frontdesk.services.patients import patient_history

    return patient_history(ctx, patient_id, limit=limit)


def update_patient(ctx: Context, patient_id: str, changes: dict, version: int,
                   allow_duplicate: bool = False) -> PatientView:
    from frontdesk.services.patients import update_patient as update

    return update(ctx, patient_id, changes, expect_version=version, allow_duplicate=allow_duplicate)


def availability(ctx: Context, queries: list[AvailabilityQuery]) -> list[AvailabilityResult]:
    from frontdesk.services.availability import query_availability

    return [query_availability(ctx, query) for query in queries]


def change_token(ctx: Context) -> str:
    from frontdesk.services.day_list import change_token as token

    return token(ctx)


# --- holds -------------------------------------------------------------------------------------


def create_hold(ctx: Context, request: HoldRequest) -> HoldView:
    from frontdesk.services.holds import create_hold as hold

    return hold(ctx, request)


def confirm_hold(ctx: Context, hold_id: str, request: ConfirmRequest) -> AppointmentView:
    from frontdesk.services.holds import confirm_hold as confirm

    return confirm(ctx, hold_id, request)


def release_hold(ctx: Context, hold_id: str) -> HoldView:
    from frontdesk.services.holds import release_hold as release

    return release(ctx, hold_id)


def extend_hold(ctx: Context, hold_id: str) -> HoldView:
    """One more hold_minutes, once."""
    from frontdesk.services.holds import extend_hold as extend

    return extend(ctx, hold_id)


def preview_series(ctx: Context, hold_id: str, rrule: str) -> list[SeriesOccurrence]:
    """Each occurrence of the rule from the held slot: free, or why not (nothing is held)."""
    from frontdesk.services.series_holds import preview_series as preview

    return preview(ctx, hold_id, rrule)


def repeat_hold(ctx: Context, hold_id: str, rrule: str, skip_conflicts: bool) -> HoldView:
    """The held slot becomes a series hold, under the same countdown."""
    from frontdesk.services.series_holds import repeat_hold as repeat

    return repeat(ctx, hold_id, rrule, skip_conflicts)


def series_size(ctx: Context, series_id: str) -> int:
    from frontdesk.services.series_holds import series_size as size

    return size(ctx, series_id)


def holds_in_force(ctx: Context, limit: int) -> Page[HoldView]:
    """Every desk's holds in force, soonest to expire first."""
    from frontdesk.services.holds import list_holds
    from frontdesk.services.objects import HoldFilter

    return list_holds(ctx, HoldFilter(limit=limit))


# --- changing an appointment, naming the version the desk saw ------------------------------------


@dataclass(frozen=True)
class ChangeConflict:
    """A change refused because the appointment changed since the desk opened it."""

    current: AppointmentView  # as it is now
    typed: Any  # what the desk asked for: the changed fields, or the cancel reason
    details: dict


def update_appointment(ctx: Context, appointment_id: str, changes: dict, version: int,
                       scope: str | None = None) -> AppointmentView | ActionResult | ChangeConflict:
    """Save the changes; with a `scope` (an occurrence of a series) an ActionResult saying
    what the scope reached."""
    from frontdesk.services.appointments import update_appointment as update
    from frontdesk.services.appointments import update_in_scope

    if scope is not None:
        return _or_conflict(ctx, appointment_id, changes,
                            lambda: update_in_scope(ctx, appointment_id, changes, version, scope))
    return _or_conflict(ctx, appointment_id, changes, lambda: update(ctx, appointment_id, changes, version))


def cancel_appointment(ctx: Context, appointment_id: str, reason: str, version: int,
                       scope: str | None = None) -> ActionResult | ChangeConflict:
    from frontdesk.services.appointments import cancel_appointment as cancel

    return _or_conflict(ctx, appointment_id, reason, lambda: cancel(ctx, appointment_id, reason, version, scope))


def act_on_appointment(ctx: Context, appointment_id: str, action: str, version: int) -> ActionResult:
    """A day action (confirm, check-in, start, complete, no-show, revert) on the version the desk saw."""
    from frontdesk.services.appointments import act_on_appointment as act

    return act(ctx, appointment_id, action, version)


def reschedule_appointment(ctx: Context, appointment_id: str, hold_id: str, version: int) -> AppointmentView:
    """Move the appointment onto the hold made for it (`HoldRequest.reschedule_appointment_id`)."""
    from frontdesk.services.holds import reschedule_appointment as move

    return move(ctx, appointment_id, hold_id, version)


# --- a group's roster, naming the version the desk saw ------------------------------------------


def add_attendee(ctx: Context, appointment_id: str, patient_id: str, version: int) -> AppointmentView | ChangeConflict:
    """The patient going in the group (SLOT_UNAVAILABLE when it is full)."""
    from frontdesk.services.attendees import add_attendee as add

    return _or_conflict(ctx, appointment_id, patient_id,
                        lambda: add(ctx, appointment_id, patient_id, expect_version=version))


def remove_attendee(ctx: Context, appointment_id: str, patient_id: str, version: int) -> AppointmentView | ChangeConflict:
    from frontdesk.services.attendees import remove_attendee as remove

    return _or_conflict(ctx, appointment_id, patient_id,
                        lambda: remove(ctx, appointment_id, patient_id, expect_version=version))


def update_attendee(ctx: Context, appointment_id: str, patient_id: str, changes: dict,
                    version: int) -> AppointmentView | ChangeConflict:
    """changes: attendance_status, payment_status and/or no_show."""
    from frontdesk.services.attendees import update_attendee as update

    return _or_conflict(ctx, appointment_id, changes,
                        lambda: update(ctx, appointment_id, patient_id, **changes, expect_version=version))


def _or_conflict(ctx: Context, appointment_id: str, typed: Any, change):
    from frontdesk.domain.errors import FrontdeskError
    from frontdesk.services.appointments import get_appointment

    try:
        return change()
    except FrontdeskError as error:
        if error.code != VERSION_CONFLICT:
            raise
        return ChangeConflict(get_appointment(ctx, appointment_id), typed, error.details)


# --- the waitlist --------------------------------------------------------------------------------


def waitlist_with_offers(ctx: Context) -> list[Any]:
    """The waiting entries, first come first, each with its best offer now."""
    from frontdesk.services.waitlist import waitlist_offers

    return waitlist_offers(ctx, limit=1)


def waitlist_offer_count(ctx: Context) -> int:
    from frontdesk.services.waitlist import offers_count

    return offers_count(ctx)


def waitlist_token(ctx: Context) -> str:
    from frontdesk.services.waitlist import waitlist_token as token

    return token(ctx)


def patient_waitlist(ctx: Context, patient_id: str) -> list[Any]:
    from frontdesk.services.waitlist import list_entries

    return list_entries(ctx, patient_id=patient_id).items


def add_to_waitlist(ctx: Context, **wishes: Any) -> Any:
    """A patient on the waitlist: `wishes` are WaitlistRequest's fields."""
    from frontdesk.services.waitlist import WaitlistRequest, add_entry

    return add_entry(ctx, WaitlistRequest(**wishes))


def remove_from_waitlist(ctx: Context, entry_id: str) -> Any:
    from frontdesk.services.waitlist import remove_entry

    return remove_entry(ctx, entry_id)


def hold_for_waitlist(ctx: Context, request: HoldRequest, patient_id: str) -> tuple[HoldView, PatientView]:
    """Hold an offered slot, and read the patient it is offered to (for patient details)."""
    from frontdesk.services.holds import create_hold as hold
    from frontdesk.services.patients import get_patient

    return hold(ctx, request), get_patient(ctx, patient_id)
