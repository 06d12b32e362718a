"""The slot picker: free slots of one appointment type, a week at a time, day by day; for a new
booking, or to move an appointment (its own time not counted as busy, then "from -> to")."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Label

from frontdesk.domain.statuses import IN_PERSON, REMOTE
from frontdesk.services.objects import (
    AppointmentTypeView,
    AvailabilityQuery,
    AvailabilityResult,
    ClinicOverview,
    HoldRequest,
    Slot,
)
from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.choice import Choice
from frontdesk.tui.idle_gc import settle_garbage
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.screens.move import MoveModal
from frontdesk.tui.widgets import ClinicHeader, FitTable, highlighted_key

if TYPE_CHECKING:
    from frontdesk.services.objects import AppointmentView, HoldView
    from frontdesk.tui.screens.patient import PatientDraft

DAYS_SHOWN = 7
FIRST_AVAILABLE_DAYS = 31  # the longest range a query may ask for
ALL = "__all__"  # the "all clinicians" and "all locations" options
ANY_CLINICIAN = "__any__"  # round robin: one slot per time, the least busy clinician
BOTH_MODES = "both"


def slot_key(slot: Slot) -> str:
    return "|".join((slot.start_time.isoformat(), slot.clinician_id or "", slot.location_id or "", "r" if slot.is_remote else "p"))


def seats_left(left: int | None, capacity: int) -> str:
    """A group slot's seats: "3 of 8 left"."""
    return f"{capacity if left is None else left} of {capacity} left"


class SlotPickerScreen(FrontdeskScreen):
    AUTO_FOCUS = "#slots"
    draft: PatientDraft | None = None  # typed for a hold that ran out: the next hold's form starts with it

    DEFAULT_CSS = """
    SlotPickerScreen #slot-day {
        width: 1fr;
        height: 1;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("n", "next_week", "Next wk", id="next-week"),
        Binding("p", "previous_week", "Prev wk", id="previous-week"),
        Binding("t", "today", "Today", id="today"),
        Binding("f", "first_available", "First free", id="first-available"),
        Binding("y", "choose_type", "Type", show=False, id="choose-type"),
        Binding("w", "add_to_waitlist", "Add to waitlist", id="add-to-waitlist",
                tooltip="Add to waitlist (nothing free this week): a patient waits, these filters as their wishes"),
    ]

    def __init__(self, appointment_type_id: str, moving: AppointmentView | None = None, day: date | None = None) -> None:
        """`day`: the day the desk was looking at; the picker opens on its week (never before today)."""
        super().__init__()
        self.type_id = appointment_type_id
        self.moving = moving  # the appointment being moved (same type), or None for a new booking
        self.day = day
        self.start_day: date | None = None
        self.slots: dict[str, Slot] = {}
        self._select_after_load: str | None = None
        self._row_days: list[str] = []  # each row's date, for the line naming the cursor's day
        self._free_by_day: dict[str, int] = {}
        self._day_shown: str | None = None
        self._week_empty = False  # the week shown has no free slot: the waitlist is offered

    @property
    def overview(self) -> ClinicOverview:
        """The clinic's reference data: the home screen loads it before this screen opens."""
        overview = self.app.overview
        assert overview is not None
        return overview

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        overview = self.overview
        kind = self._type()
        yield ClinicHeader()
        with Horizontal(classes="filters"):
            types = Choice("Appointment type", [(fmt.type_label(t), t.id) for t in overview.appointment_types], value=self.type_id, id="type")
            types.disabled = self.moving is not None  # a move keeps the type
            yield types
            yield Choice("Clinician", self._clinician_options(), id="clinician")
        with Horizontal(classes="filters"):
            default_location = self.app.location.id if self.app.location and self.app.location.id in kind.location_ids else ALL
            if self.moving is not None and self.moving.location_id in kind.location_ids:
                default_location = self.moving.location_id
            yield Choice("Location", self._location_options(), value=default_location, id="location")
            yield Choice("In person or remote", self._mode_options(), id="mode")
        yield Label("", id="week-label")
        yield Label("", id="slot-day")  # the cursor's day, however far the list has scrolled
        yield FitTable(self._columns(), id="slots")
        yield Footer(compact=True)

    def _type(self) -> AppointmentTypeView:
        return next(t for t in self.overview.appointment_types if t.id == self.type_id)

    def _columns(self) -> list[tuple[str, str, int, bool]]:
        capacity = self._type().capacity
        seats = [("seats", "Seats", len(seats_left(capacity, capacity)), True)] if capacity > 1 else []
        return [
            # Room for " EST" when the clinic's sites keep more than one time (see _slot_time).
            ("time", "Time", 20 if len({loc.timezone for loc in self.overview.locations}) > 1 else 16, True),
            *seats,  # a group's seats left, beside its time
            ("clinician", "Clinician", 3, False),
            ("where", "Where", 3, False),
            ("room", "Room", 2, False),
        ]

    def _clinician_options(self) -> list[tuple[str, str]]:
        kind = self._type()
        options = [("All clinicians", ALL), ("Any clinician (round robin)", ANY_CLINICIAN)]
        options += [(c.name, c.id) for c in self.overview.clinicians if c.id in kind.clinician_ids]
        return options

    def _location_options(self) -> list[tuple[str, str]]:
        kind = self._type()
        places = [(self.app.short_place(loc.name), loc.id) for loc in self.overview.locations if loc.id in kind.location_ids]
        return [("All locations", ALL), *places]

    def _mode_options(self) -> list[tuple[str, str]]:
        modes = self._type().modes
        options = []
        if IN_PERSON in modes and REMOTE in modes:
            options.append(("In person & remote", BOTH_MODES))
        if IN_PERSON in modes:
            options.append(("In person", IN_PERSON))
        if REMOTE in modes:
            options.append(("Remote (video)", REMOTE))
        return options or [("In person", IN_PERSON)]

    def on_mount(self) -> None:
        today = self.app.today()
        self.start_day = max(today, self.day) if self.day is not None else today
        if self.moving is not None:  # open on the appointment's day, never in the past
            zone = self.app.location_zone(self.moving.location_id)
            self.start_day = max(today, fmt.local(self.moving.start_time, zone).date())
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "add_to_waitlist":  # offered only when the week shown has nothing that fits
            return self.moving is None and self.start_day is not None and self._week_empty
        return not (action == "choose_type" and self.moving is not None)

    # --- queries ----------------------------------------------------------------------------

    @property
    def zone(self) -> str:
        location = self.query_one("#location", Choice).value
        return self.app.location_zone(None if location == ALL else location)

    def _queries(self, start: date, days: int, first_available: bool = False) -> list[AvailabilityQuery]:
        clinician = self.query_one("#clinician", Choice).value
        location = self.query_one("#location", Choice).value
        mode = self.query_one("#mode", Choice).value
        location_id = None if location == ALL else location
        common: dict[str, Any] = dict(
            appointment_type_id=self.type_id,
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=days - 1)).isoformat(),
            clinician_id=clinician if clinician not in (ALL, ANY_CLINICIAN) else None,
            timezone=self.zone,
            round_robin="BALANCED" if clinician == ANY_CLINICIAN else None,
            first_available=first_available,
            reschedule_appointment_id=self.moving.id if self.moving else None,
        )
        # location_id asks for in-person slots there; remote slots are asked for separately.
        if mode == REMOTE:
            return [AvailabilityQuery(**common, is_remote=True)]
        if mode == IN_PERSON or (mode == BOTH_MODES and REMOTE not in self._type().modes):
            return [AvailabilityQuery(**common, location_id=location_id, is_remote=False)]
        if location_id is None:
            return [AvailabilityQuery(**common)]
        return [
            AvailabilityQuery(**common, location_id=location_id, is_remote=False),
            AvailabilityQuery(**common, is_remote=True),
        ]

    def load(self) -> None:
        if self.start_day is None:
            return
        self._show_week_label(loading=True)
        self.call_service("week", partial(backend.availability, queries=self._queries(self.start_day, DAYS_SHOWN)),
                          self.show_week)

    def refresh_data(self) -> None:
        self.load()

    def show_week(self, results: list[AvailabilityResult]) -> None:
        table = self.query_one("#slots", FitTable)
        keep = self._select_after_load or self._highlighted_key()
        self._select_after_load = None
        was_on = self.slots.get(keep) if keep is not None else None
        days: dict[str, list[Slot]] = {}
        for result in results:
            for day, slots in result.days.items():
                days.setdefault(day, []).extend(slots)
        capacity = self._type().capacity
        self.slots = {}
        table.set_columns(self._columns())  # the type may have changed to or from a group
        table.clear()
        blank = [""] * (len(table.column_plan) - 2)
        slot_rows: list[tuple[int, Slot]] = []
        self._row_days, self._free_by_day, self._day_shown = [], {}, None
        for day in sorted(days):
            slots = sorted(days[day], key=lambda s: (s.start_time, s.clinician_id or "", s.is_remote))
            self._free_by_day[day] = len(slots)
            heading = Text(fmt.day_label(date.fromisoformat(day)), style="bold")
            count = Text(f"{len(slots)} free" if slots else "none free", style="dim" if not slots else "")
            table.add_row(heading, count, *blank, key=f"day|{day}")
            for slot in slots:
                key = slot_key(slot)
                self.slots[key] = slot
                room = ", ".join(self.app.room_names(slot.resource_ids))
                where = "Remote (video)" if slot.is_remote else self.app.location_name(slot.location_id)
                seats = [seats_left(slot.seats_left, capacity)] if capacity > 1 else []
                table.add_row(
                    Text(f"  {self._slot_time(slot)}"),
                    *seats,
                    fmt.plain(slot.clinician_name),
                    fmt.plain(where),
                    fmt.plain(room or None),
                    key=key,
                )
                slot_rows.append((table.row_count - 1, slot))
            self._row_days += [day] * (len(slots) + 1)
        row = self._row_to_keep(table, keep, was_on, days, slot_rows)
        if row is not None:
            table.move_cursor(row=row, scroll=True)
        self._show_slot_day(table.cursor_row)
        self._show_week_label(total=len(self.slots))
        self._week_empty = not self.slots
        self.refresh_bindings()
        settle_garbage()

    # --- the waitlist, when nothing fits -------------------------------------------------------

    def action_add_to_waitlist(self) -> None:
        """Find the patient, then add them with the picker's filters (type, clinician, place,
        mode, from the week shown on) as their wishes."""
        clinician = self.query_one("#clinician", Choice).value
        location = self.query_one("#location", Choice).value
        mode = self.query_one("#mode", Choice).value
        wishes: dict[str, Any] = dict(
            appointment_type_id=self.type_id,
            clinician_id=clinician if clinician not in (ALL, ANY_CLINICIAN) else None,
            location_id=location if location != ALL and mode != REMOTE else None,
            remote=True if mode == REMOTE else False if mode == IN_PERSON else None,
            earliest=self.start_day.isoformat() if self.start_day else None,
        )

        def chosen(patient_id: str | None) -> None:
            if patient_id is not None:
                self.call_service("waitlist", partial(backend.add_to_waitlist, patient_id=patient_id, **wishes),
                                  self.added, exclusive=False)

        self.app.ask_for_patient(chosen)

    def added(self, entry) -> None:
        self.notify(f"{fmt.visible(entry.patient_name)} is on the waitlist (W shows it).", title="Waitlist",
                    markup=False)
        self.app.count_waitlist_offers()

    def _slot_time(self, slot: Slot) -> str:
        """A slot in its own location's time, as the hold will show it; with the zone when it is
        not the list's ("14:00–14:30 EST" among London times under All locations)."""
        zone = self.app.location_zone(slot.location_id) if slot.location_id else self.zone
        span = f"{fmt.hhmm(slot.start_time, zone)}–{fmt.hhmm(slot.end_time, zone)}"
        return span if zone == self.zone else f"{span} {fmt.zone_abbrev(slot.start_time, zone)}"

    def _row_to_keep(self, table: DataTable, keep: str | None, was_on: Slot | None, days: dict[str, list[Slot]],
                     slot_rows: list[tuple[int, Slot]]) -> int | None:
        """Where the cursor goes after a load: the same row if it is still there; else, when the
        slot it was on is gone (taken, or another filter) but its day is still shown, the nearest
        slot at or after its time; else the week's first slot."""
        if keep is not None and (keep in self.slots or keep.startswith("day|") and keep[4:] in days):
            return table.get_row_index(keep)
        if not slot_rows:
            return None
        if was_on is not None and fmt.local(was_on.start_time, self.zone).date().isoformat() in days:
            later = (row for row, slot in slot_rows if slot.start_time >= was_on.start_time)
            return next(later, slot_rows[-1][0])
        return slot_rows[0][0]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_slot_day(event.cursor_row)

    def _show_slot_day(self, row: int) -> None:
        """Name the cursor's day above the list: after Page Down its heading row can be far above."""
        day = self._row_days[row] if 0 <= row < len(self._row_days) else None
        if day == self._day_shown:
            return  # most keys stay within a day: nothing to draw
        self._day_shown = day
        label = Text()
        if day is not None:
            shown = date.fromisoformat(day)
            label.append(fmt.day_label(shown), style="bold")
            relative = {0: "today", 1: "tomorrow"}.get((shown - self.app.today()).days)
            if relative:
                label.append(f" ({relative})", style="bold")
            free = self._free_by_day.get(day, 0)
            label.append(f" · {free} free" if free else " · none free", style="dim")
        self.query_one("#slot-day", Label).update(label, layout=False)  # one line of fixed size

    def _show_week_label(self, loading: bool = False, total: int | None = None) -> None:
        if self.start_day is None:
            return
        end = self.start_day + timedelta(days=DAYS_SHOWN - 1)
        start = self.start_day
        label = Text(f"{start:%a} {start.day} {start:%b} – {fmt.day_label(end)}", style="bold")
        if loading:
            label.append(" · looking…", style="dim")
        elif total is not None:
            label.append(f" · {total} free slots")
        noon = datetime.combine(self.start_day, time(12), tzinfo=fmt.tz(self.zone))
        label.append(f" · times in {self.zone} ({fmt.zone_abbrev(noon, self.zone)})", style="dim")
        self.query_one("#week-label", Label).update(label)

    def _highlighted_key(self) -> str | None:
        return highlighted_key(self.query_one("#slots", DataTable))

    def on_choice_changed(self, event: Choice.Changed) -> None:
        if event.choice.id == "type" and event.value != self.type_id:
            self.type_id = event.value
            self._reset_filters_for_type()
        if self.start_day is not None:
            self.load()

    def _reset_filters_for_type(self) -> None:
        self.query_one("#clinician", Choice).set_options(self._clinician_options())
        self.query_one("#mode", Choice).set_options(self._mode_options())
        self.query_one("#location", Choice).set_options(self._location_options())

    # --- keys -------------------------------------------------------------------------------

    def action_next_week(self) -> None:
        assert self.start_day is not None  # set on mount
        self.start_day += timedelta(days=DAYS_SHOWN)
        self.load()

    def action_previous_week(self) -> None:
        assert self.start_day is not None  # set on mount
        earliest = max(self.app.today(), self.start_day - timedelta(days=DAYS_SHOWN))
        if earliest == self.start_day:  # past days have no slots to book
            self.app.clear_notifications()  # pressed again: still one message, not a pile
            self.notify("This week starts today: earlier days are past.", title="Previous week")
            return
        self.start_day = earliest
        self.load()

    def action_today(self) -> None:
        self.start_day = self.app.today()
        self.load()

    def action_choose_type(self) -> None:
        choice = self.query_one("#type", Choice)
        choice.focus()
        choice.action_open()

    def action_first_available(self) -> None:
        first = self._queries(self.app.today(), FIRST_AVAILABLE_DAYS, first_available=True)
        self.call_service("first", partial(backend.availability, queries=first), self.show_first)

    def show_first(self, results: list[AvailabilityResult]) -> None:
        slots = sorted((s for r in results for s in r.slots), key=lambda s: s.start_time)
        if not slots:
            self.notify(f"No availability in the next {FIRST_AVAILABLE_DAYS} days with these filters.", severity="warning")
            return
        first = slots[0]
        self.start_day = fmt.local(first.start_time, self.zone).date()
        self._select_after_load = slot_key(first)
        self.query_one("#slots", DataTable).focus()
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)

    # --- holding a slot ---------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        slot = self.slots.get(key) if key is not None else None
        if slot is None:
            return
        if slot.clinician_id is None:
            self.notify("Choose a slot with one clinician.", severity="warning")
            return
        request = HoldRequest(
            appointment_type_id=self.type_id,
            clinician_id=slot.clinician_id,
            start=slot.start_time,
            location_id=slot.location_id,
            room_id=None if slot.is_remote else self.app.room_id_of(slot.resource_ids),
            is_remote=slot.is_remote,
            reschedule_appointment_id=self.moving.id if self.moving else None,
        )
        self.call_service("hold", partial(backend.create_hold, request=request), self.held, self.not_held, exclusive=False)

    def held(self, hold) -> None:
        from frontdesk.tui.screens.patient import PatientDraft, PatientScreen

        self.app.owned_holds.add(hold.id)
        if self.moving is not None:
            self.ask_move(hold)
            return

        def finished(result) -> None:
            if result is None or isinstance(result, PatientDraft):
                self.draft = result  # "pick another slot" after expiry hands back what was typed
                self.load()
            else:
                self.dismiss(result)

        self.app.push_screen(PatientScreen(hold, self.draft), finished)

    # --- moving an appointment onto the hold --------------------------------------------------

    def ask_move(self, hold: HoldView) -> None:
        apt = self.moving
        assert apt is not None  # a hold is only asked about as a move in a picker opened to move
        old_zone, new_zone = self.app.location_zone(apt.location_id), self.app.location_zone(hold.location_id)
        old = self._place(apt.start_time, apt.end_time, old_zone, apt.clinician_profile_id, apt.location_id, apt.is_remote)
        new = self._place(hold.start_time, hold.end_time, new_zone, hold.clinician_id, hold.location_id, hold.is_remote)

        def answered(move: bool | None) -> None:
            if move:
                call = partial(backend.reschedule_appointment, appointment_id=apt.id, hold_id=hold.id, version=apt.version)
                self.call_service("move", call, partial(self.moved, hold), partial(self.not_moved, hold), exclusive=False)
            else:
                self.release(hold)

        self.app.push_screen(MoveModal(fmt.visible(apt.title), old, new, hold.expires_at, hold_id=hold.id), answered)

    def _place(self, start, end, zone, clinician_id, location_id, is_remote) -> tuple[str, str]:
        """(when, who · where): a time's two lines in the move dialog."""
        where = "Remote (video)" if is_remote else self.app.location_name(location_id)
        return fmt.when(start, end, zone), " · ".join(x for x in (self.app.clinician_name(clinician_id), where) if x)

    def moved(self, hold: HoldView, appointment) -> None:
        self.app.owned_holds.discard(hold.id)
        self.dismiss(appointment)

    def not_moved(self, hold: HoldView, message: ServiceFailed) -> bool:
        self.release(hold)
        return False  # the service's words say why

    def release(self, hold: HoldView) -> None:
        """Give the held time back (an expired hold is already free), then show the week again."""
        self.app.owned_holds.discard(hold.id)
        self.call_service("release", partial(backend.release_hold, hold_id=hold.id), self.released,
                          self.release_refused, exclusive=False)

    def released(self, _hold: HoldView) -> None:
        self.load()

    def release_refused(self, _message: ServiceFailed) -> bool:
        self.load()
        return True  # a hold already gone needs no word

    def not_held(self, message: ServiceFailed) -> bool:
        if message.code == "SLOT_UNAVAILABLE":
            if message.details.get("reason") == "started":
                words, title = "That slot's time has started.", "Slot started"
            else:
                words, title = "Another desk took that slot a moment ago.", "Slot taken"
            self.notify(f"{words} The list is refreshed: please pick another.", title=title, severity="warning", timeout=8)
            self.load()
            return True
        return False
