"""The waitlist: patients waiting for a slot, first come first, how long each has waited and
the best free slot that fits them now; Enter holds it for that patient."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from frontdesk.domain.waitlist import waited_words
from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.widgets import ClinicHeader, FitTable, highlighted_key

if TYPE_CHECKING:  # annotations only: keeps the first frame quick
    from frontdesk.services.objects import HoldView, PatientView, Slot
    from frontdesk.services.waitlist import WaitlistEntryView, WaitlistOffers


def wish_label(app, entry: WaitlistEntryView) -> str:
    """'Follow-up · Dr Okafor · tue · 09:00-12:00': the type and what the patient asked for."""
    parts = [app.type_name(entry.appointment_type_id) or entry.appointment_type_id]
    if entry.clinician_id:
        parts.append(app.clinician_name(entry.clinician_id) or entry.clinician_id)
    if entry.location_id:
        parts.append(app.location_name(entry.location_id) or entry.location_id)
    if entry.remote is not None:
        parts.append("remote" if entry.remote else "in person")
    if entry.days:
        parts.append(",".join(entry.days))
    if entry.times:
        parts.append(entry.times)
    if entry.earliest or entry.latest:
        parts.append(f"{entry.earliest or '…'} to {entry.latest or '…'}")
    return " · ".join(parts)


class WaitlistScreen(FrontdeskScreen):
    AUTO_FOCUS = "#waitlist"

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("r", "remove", "Remove", tooltip="Take the selected patient off the waitlist (asks first)", id="remove"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, WaitlistOffers] = {}

    def compose(self) -> ComposeResult:
        yield ClinicHeader()
        yield Label("Waitlist, first come first · Enter holds the best offer for that patient", classes="screen-title")
        yield FitTable(
            [
                ("waited", "Waited", 7, True),
                ("patient", "Patient", 4, False),
                ("wish", "Wishes", 5, False),
                ("offer", "Best offer", 5, False),
            ],
            id="waitlist",
            zebra_stripes=True,
        )
        yield Label("Loading…", id="waitlist-info")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        self.call_service("waitlist", backend.waitlist_with_offers, self.show_entries, self.not_loaded)

    def action_back(self) -> None:
        self.dismiss()

    # --- the list ---------------------------------------------------------------------------

    def show_entries(self, items: list[WaitlistOffers]) -> None:
        table = self.query_one("#waitlist", DataTable)
        keep = self.highlighted_id()
        self.items = {item.entry.id: item for item in items}
        table.clear()
        now = self.ctx.clock.now()
        for item in items:
            entry = item.entry
            waited = int((now - entry.created_at) // timedelta(minutes=1))
            table.add_row(
                Text(waited_words(waited)),
                fmt.plain(entry.patient_name),
                fmt.plain(self.wish_label(entry)),
                Text(self.slot_label(item.offers[0])) if item.offers else Text("nothing free yet", style="dim"),
                key=entry.id,
            )
        if keep in self.items:
            table.move_cursor(row=table.get_row_index(keep))
        offered = sum(1 for item in items if item.offers)
        if not items:
            info = "Nobody is waiting."
        else:
            info = f"{len(items)} waiting · {offered} with a free slot that fits · r removes the selected one"
        self.query_one("#waitlist-info", Label).update(Text(info))

    def not_loaded(self, message: ServiceFailed) -> bool:
        self.query_one("#waitlist-info", Label).update(Text(f"Could not load the waitlist: {fmt.visible(message.message)}"))
        return False

    def wish_label(self, entry: WaitlistEntryView) -> str:
        return wish_label(self.app, entry)

    def slot_label(self, slot: Slot) -> str:
        """'Tue 21 Jan 10:00 · Dr Sarah Johnson': the start on its location's clock."""
        zone = self.app.location_zone(slot.location_id)
        start = fmt.local(slot.start_time, zone)
        who = self.app.clinician_name(slot.clinician_id or slot.resource_ids[0]) or ""
        more = len(slot.resource_ids) - 1 if slot.clinician_id is None else 0
        if more > 0:
            who += f" (+{more})"
        return f"{start:%a} {start.day} {start:%b %H:%M} · {who}"

    def highlighted_id(self) -> str | None:
        return highlighted_key(self.query_one("#waitlist", DataTable))

    # --- holding the best offer -------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from frontdesk.services.objects import HoldRequest

        item = self.items.get(event.row_key.value or "")
        if item is None:
            return
        if not item.offers:
            self.notify("Nothing free fits this patient yet.", severity="warning")
            return
        slot = item.offers[0]
        clinician = slot.clinician_id or slot.resource_ids[0]  # a pooled offer: the first clinician free
        request = HoldRequest(
            appointment_type_id=item.entry.appointment_type_id,
            clinician_id=clinician,
            start=slot.start_time,
            location_id=slot.location_id,
            room_id=None if slot.is_remote else self.app.room_id_of(slot.resource_ids),
            is_remote=slot.is_remote,
        )
        call = partial(backend.hold_for_waitlist, request=request, patient_id=item.entry.patient_id)
        self.call_service("hold", call, self.held, self.not_held, exclusive=False)

    def held(self, result: tuple[HoldView, PatientView]) -> None:
        from frontdesk.tui.screens.patient import PatientScreen

        hold, patient = result
        self.app.owned_holds.add(hold.id)
        details = PatientScreen(hold)

        def finished(_result) -> None:
            self.refresh_data()

        self.app.push_screen(details, finished)
        details.call_after_refresh(details.choose_patient, patient)

    def not_held(self, message: ServiceFailed) -> bool:
        self.refresh_data()  # taken meanwhile: show what is free now
        return False

    # --- removing ---------------------------------------------------------------------------

    def action_remove(self) -> None:
        from frontdesk.tui.modals import ConfirmModal

        item = self.items.get(self.highlighted_id() or "")
        if item is None:
            self.notify("No one selected.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.call_service("remove", partial(backend.remove_from_waitlist, entry_id=item.entry.id),
                                  self.removed, exclusive=False)

        name = fmt.visible(item.entry.patient_name)
        self.app.push_screen(ConfirmModal(f"Take {name} off the waitlist?", yes="Remove", no="Keep"), answered)

    def removed(self, entry: WaitlistEntryView) -> None:
        self.notify(f"{fmt.visible(entry.patient_name)} is off the waitlist.", title="Removed", markup=False)
        self.refresh_data()
        self.app.count_waitlist_offers()
