"""One appointment: its details, status history and change log; cancel and edit from here, and
move (the screen closes with the appointment, and the day list opens the slot picker for it).
A remote one shows its video link in full (wrapped, never cut) and copies it with `l`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label, Static

from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.screens.repeat import frequency
from frontdesk.tui.screens.changes import (
    after_cancel,
    after_update,
    ask_cancel,
    ask_edit,
)
from frontdesk.tui.widgets import ClinicHeader

if TYPE_CHECKING:
    from frontdesk.services.objects import AppointmentView, PatientView


class AppointmentScreen(FrontdeskScreen):
    AUTO_FOCUS = "#appointment-scroll"

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("c", "cancel", "Cancel appt", id="cancel"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("m", "move", "Move", tooltip="Move the appointment to another time", id="move"),
        Binding("l", "copy_link", "Copy link", id="copy-link",
                tooltip="Copy link: the video link to the clipboard (OSC 52; it is also shown in full)"),
    ]

    def __init__(self, appointment_id: str) -> None:
        super().__init__()
        self.appointment_id = appointment_id
        self.appointment: AppointmentView | None = None
        self.patient: PatientView | None = None
        self.about: list[PatientView] = []  # staff time: the patients it is about
        self.series_size: tuple[str, int] | None = None  # (series id, how many it booked)

    def compose(self) -> ComposeResult:
        yield ClinicHeader()
        yield Label("Appointment", id="appointment-title", classes="screen-title")
        with VerticalScroll(id="appointment-scroll", can_focus=True):
            yield Static("Loading…", id="details")
            yield Label("Status history", classes="section")
            yield Static("", id="history")
            yield Label("Change log", classes="section")
            yield Static("", id="changes")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        load = partial(backend.appointment_with_patient, appointment_id=self.appointment_id)
        self.call_service("appointment", load, self.show, self.not_loaded)

    def not_loaded(self, message: ServiceFailed) -> bool:
        self.query_one("#details", Static).update(Text(fmt.visible(message.message)))
        return False

    def show(self, loaded: tuple[AppointmentView, PatientView | None, list[PatientView]]) -> None:
        self.appointment, self.patient, self.about = loaded
        series_id = self.appointment.recurring.get("series_id")
        if series_id and (self.series_size is None or self.series_size[0] != series_id):
            # "3 of 6": how many the series booked, read before the details are drawn.
            count = partial(backend.series_size, series_id=series_id)
            self.call_service("series", count, lambda size: self._sized(loaded, series_id, size))
            return
        self.refresh_bindings()  # Copy link: only with a link
        apt = self.appointment
        app = self.app
        zone = app.location_zone(apt.location_id)
        patient_name = fmt.person_name(self.patient.first_name, self.patient.last_name) if self.patient else None
        self.query_one("#appointment-title", Label).update(Text.assemble((fmt.visible(apt.title), "bold"), "  ", fmt.status_text(apt.status)))
        if apt.group:
            self._show_roster(apt)

        details = Table.grid(padding=(0, 2))
        details.add_column(style="bold", min_width=12)
        details.add_column(overflow="fold")
        where = "Remote (video)" if apt.is_remote else app.location_name(apt.location_id)
        rooms = ", ".join(app.room_names(apt.resource_ids))
        rows: list[tuple[str, str | Text | None] | None] = [
            ("When", fmt.when(apt.start_time, apt.end_time, zone) + f" ({zone})"),
            ("Patient", "Staff time (no patient)" if apt.internal else
             "A group: its attendees are in the roster" if apt.group else patient_name),
            None if apt.internal or apt.group else ("Born / phone", " · ".join(x for x in (
                self.patient.date_of_birth.isoformat() if self.patient and self.patient.date_of_birth else "",
                self.patient.phone if self.patient and self.patient.phone else "",
            ) if x) or None),
            *self._staff_rows(apt),
            ("Clinician", app.clinician_name(apt.clinician_profile_id)) if not apt.internal else None,
            ("Type", app.type_name(apt.appointment_type_id)) if not apt.internal else None,
            ("Where", f"{where} · {rooms}" if where and rooms else where),
            *self._video_rows(apt),
            self._series_row(apt),
            ("Status", fmt.STATUS_LABELS.get(apt.status, apt.status)),
            None if apt.internal else (
                "Attendee", " · ".join(x for x in (apt.attendee_name, apt.attendee_email) if x) or None),
            ("Notes", apt.description),
        ]
        if apt.cancellation_reason:
            rows.append(("Cancel reason", apt.cancellation_reason))
        rows.append(("Booked by", " · ".join(x for x in (apt.created_by, fmt.stamp(apt.created_at, zone)) if x)))
        rows.append(("Id", apt.id))
        for row in rows:
            if row is not None:
                label, value = row
                details.add_row(label, value if isinstance(value, Text) else fmt.plain(value))
        self.query_one("#details", Static).update(details)

        history = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold")
        history.add_column("When")
        history.add_column("Status")
        history.add_column("By")
        for entry in apt.status_history:
            history.add_row(fmt.stamp(entry.changed_at, zone), fmt.status_text(entry.status), fmt.plain(entry.changed_by))
        self.query_one("#history", Static).update(history)

        changes = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold")
        changes.add_column("When")
        changes.add_column("Field")
        changes.add_column("Old → new", overflow="fold")
        changes.add_column("By")
        names = {a.id: a.name for a in apt.attendees}
        for logged in apt.change_log:
            before, after = logged.old, logged.new
            if logged.field == "attendees":  # a group's roster: names and words, not the stored dict
                from frontdesk.tui.screens.roster import attendee_words

                before, after = attendee_words(before, names), attendee_words(after, names)
            change = Text.assemble(_short(before), " → ", _short(after))
            changes.add_row(fmt.stamp(logged.changed_at, zone), Text(fmt.field_label(logged.field)), change, fmt.plain(logged.changed_by))
        self.query_one("#changes", Static).update(changes if apt.change_log else Text("No changes.", style="dim"))

    def _show_roster(self, apt: AppointmentView) -> None:
        """A group's roster above its details (tui/screens/roster.py)."""
        from frontdesk.tui.screens.roster import Roster

        shown = self.query(Roster)
        if shown:
            shown.first().show(apt)
        else:
            self.mount(Roster(apt), before="#appointment-scroll")

    def _sized(self, loaded, series_id: str, size: int) -> None:
        self.series_size = (series_id, size)
        self.show(loaded)

    def _series_row(self, apt: AppointmentView) -> tuple[str, str] | None:
        """ "3 of 6 · weekly": where it stands in its series (cancel and edit then ask which ones)."""
        recurring = apt.recurring
        if not recurring.get("is_recurring") or self.series_size is None:
            return None
        return ("Series", f"{recurring['index'] + 1} of {self.series_size[1]} · {frequency(recurring['rule'])}")

    def _staff_rows(self, apt: AppointmentView) -> list[tuple[str, str | None]]:
        """Staff time: who is on it (the host first) and the patients it is about."""
        if not apt.internal:
            return []
        clinicians = {c.id for c in self.app.overview.clinicians} if self.app.overview else set()
        others = [rid for rid in apt.resource_ids if rid in clinicians and rid != apt.host]
        names = [self.app.clinician_name(cid) for cid in (apt.host, *others)]
        about = [fmt.person_name(p.first_name, p.last_name) for p in self.about]
        return [("Clinicians", ", ".join(n for n in names if n) + " (staff time; the first hosts)"),
                ("About", ", ".join(about) or None)]

    def _video_rows(self, apt: AppointmentView) -> list[tuple[str, str | Text | None]]:
        """A remote booking's link in full: it wraps, it is never cut, so a terminal that
        blocks OSC 52 still lets the desk select it by hand."""
        call = apt.video_call
        if call is None:
            return []
        if call.join_url:
            link = Text(fmt.visible(call.join_url), style="underline", overflow="fold")
            return [("Video link", link), ("", Text("l: copy the link", style="dim"))]
        return [("Video", Text.assemble(
            f"meeting {fmt.visible(call.meeting_id or '')} · no link: ",
            ("set video_url_template under [clinic] in the clinic file", "dim"), overflow="fold"))]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_link":
            return self._link() is not None
        return True

    def _link(self) -> str | None:
        call = self.appointment.video_call if self.appointment is not None else None
        return call.join_url if call is not None else None

    def action_copy_link(self) -> None:
        link = self._link()
        if link is None:
            self.notify("This appointment has no video link.", title="Copy link", severity="warning")
            return
        self.app.copy_to_clipboard(link)
        self.notify("Link copied. (If your terminal blocks clipboard access, select the link shown in full.)",
                    title="Link copied", markup=False)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_move(self) -> None:
        # The slot picker is opened by the day list (this screen's opener), which it returns to.
        if self.appointment is not None:
            self.dismiss(self.appointment)

    def action_cancel(self) -> None:
        if self.appointment is not None:
            ask_cancel(self, self.appointment, self._patient_name(), self.cancelled)

    def _patient_name(self) -> str | None:
        return fmt.person_name(self.patient.first_name, self.patient.last_name) if self.patient else None

    def cancelled(self, result) -> None:
        if after_cancel(self, result, self._patient_name(), self.cancelled):
            self.notify("The appointment is cancelled.", title="Appointment cancelled")
        self.refresh_data()

    def action_edit(self) -> None:
        if self.appointment is not None:
            ask_edit(self, self.appointment, self._patient_name(), self.updated)

    def updated(self, result) -> None:
        after_update(self, result, self._patient_name(), self.updated)
        self.refresh_data()


def _short(value: object) -> Text:
    if value is None or value == "":
        return Text("(empty)", style="dim")
    text = fmt.visible(value)
    return Text(text if len(text) <= 60 else text[:59] + "…")
