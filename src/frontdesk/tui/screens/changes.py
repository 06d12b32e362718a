"""Changing an appointment from any screen: edit and cancel, always naming the version the
desk saw. When another desk changed it meanwhile, nothing is overwritten: the desk is told
who changed what, sees the current values, and gets back everything it typed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.backend import ChangeConflict

if TYPE_CHECKING:
    from frontdesk.services.objects import AppointmentView, SeriesChange
    from frontdesk.tui.screens.base import FrontdeskScreen

SCOPE_WORDS = {"one": "this one", "following": "this and the following", "all": "all in the series"}


def _first_scope(appointment: AppointmentView) -> str | None:
    """The scope a dialog starts on: this one, for an appointment of a series; else None (not asked)."""
    return "one" if appointment.recurring.get("is_recurring") else None


def series_outcome(change: SeriesChange, done: str) -> str:
    """What a change with a scope reached: "3 cancelled (this and the following); 1 left as
    it was (1 completed)"."""
    text = f"{len(change.changed)} {done} ({SCOPE_WORDS.get(change.scope, change.scope)})"
    left = change.left_as_is
    if left:
        statuses: dict[str, int] = {}
        for entry in left:
            label = fmt.STATUS_LABELS.get(entry["status"], entry["status"]).lower()
            statuses[label] = statuses.get(label, 0) + 1
        text += f"; {len(left)} left as {'it was' if len(left) == 1 else 'they were'} ("
        text += ", ".join(f"{count} {label}" for label, count in statuses.items()) + ")"
    return text


def conflict_notice(conflict: ChangeConflict, zone) -> str:
    """Who changed what, and when, in the desk's words."""
    details = conflict.details
    who = details.get("changed_by") or "another desk"
    fields = [fmt.field_label(f) for f in details.get("fields") or []]
    when = ""
    if details.get("changed_at"):
        when = " at " + fmt.local(datetime.fromisoformat(details["changed_at"].replace("Z", "+00:00")), zone).strftime("%H:%M")
    what = f" ({', '.join(fields)})" if fields else ""
    return f"{fmt.visible(who)} changed this appointment{when}{what} while you had it open."


# --- the flows ---------------------------------------------------------------------------------


def ask_cancel(screen: FrontdeskScreen, appointment: AppointmentView, patient_name: str | None,
               then: Callable[[Any], None], reason: str = "", notice: str | None = None) -> None:
    """Ask for a reason and cancel; `then` gets the outcome (an ActionResult or a ChangeConflict)."""
    from frontdesk.domain.appointments import can_cancel, refusal
    from frontdesk.tui.modals import CancelModal

    if not can_cancel(appointment.status):
        screen.notify(f"{refusal('cancel', appointment.status)}.", severity="warning")
        return
    app = screen.app
    summary = _summary(screen, appointment, patient_name)
    modal = CancelModal(summary, reason=reason, notice=notice, scope=_first_scope(appointment))

    def chosen(given: str | None) -> None:
        if given is not None:
            cancel = partial(backend.cancel_appointment, appointment_id=appointment.id, reason=given,
                             version=appointment.version, scope=modal.scope)
            screen.call_service("cancel", cancel, then, exclusive=False)

    app.push_screen(modal, chosen)


def _summary(screen: FrontdeskScreen, appointment: AppointmentView, patient_name: str | None) -> str:
    """Whose appointment a dialog is about, and when: "Mary Jones · Tue 21 Jan 09:00–09:30"."""
    zone = screen.app.location_zone(appointment.location_id)
    return f"{patient_name or appointment.title} · {fmt.when(appointment.start_time, appointment.end_time, zone)}"


def ask_edit(screen: FrontdeskScreen, appointment: AppointmentView, patient_name: str | None,
             then: Callable[[Any], None], typed: dict | None = None, notice: str | None = None) -> None:
    """Edit and save; `then` gets the outcome (an AppointmentView or a ChangeConflict)."""
    from frontdesk.tui.modals import EditModal

    modal = EditModal(_summary(screen, appointment, patient_name), appointment.title, appointment.description,
                      appointment.attendee_name, appointment.attendee_email, typed=typed, notice=notice,
                      scope=_first_scope(appointment))

    def chosen(changes: dict | None) -> None:
        if changes:
            update = partial(backend.update_appointment, appointment_id=appointment.id, changes=changes,
                             version=appointment.version, scope=modal.scope)
            screen.call_service("update", update, then, exclusive=False)

    screen.app.push_screen(modal, chosen)


def after_update(screen: FrontdeskScreen, result, patient_name: str | None, then: Callable[[Any], None]) -> bool:
    """Tell the desk how its edit went; True when it was saved. On a conflict the dialog
    opens again on the current values, with what the desk typed, and `then` as before."""
    if isinstance(result, ChangeConflict):
        notice = conflict_notice(result, screen.app.location_zone(result.current.location_id))
        screen.notify(f"{notice} Your changes are kept: check them and save again.", title="Changed meanwhile",
                      severity="warning", timeout=10, markup=False)
        ask_edit(screen, result.current, patient_name, then, typed=result.typed,
                 notice=notice + " The fields show your changes.")
        return False
    change = getattr(result, "series", None)
    if change is not None:
        screen.notify(f"Changes saved: {series_outcome(change, 'changed')}.", title="Series updated")
    else:
        screen.notify("Changes saved.", title="Appointment updated")
    return True


def after_cancel(screen: FrontdeskScreen, result, patient_name: str | None, then: Callable[[Any], None]) -> bool:
    """Tell the desk how its cancel went; True when the one appointment is cancelled (the
    caller says so). A cancel in a series' scope is told here: how many, how many left."""
    if isinstance(result, ChangeConflict):
        notice = conflict_notice(result, screen.app.location_zone(result.current.location_id))
        screen.notify(notice, title="Changed meanwhile", severity="warning", timeout=10, markup=False)
        ask_cancel(screen, result.current, patient_name, then, reason=result.typed, notice=notice)
        return False
    if result.series is not None:
        screen.notify(f"{series_outcome(result.series, 'cancelled')}.", title="Series cancelled")
        return False
    return True
