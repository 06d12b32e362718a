"""The front-desk app: screens on top of frontdesk.services.

Everything that touches the database runs in thread workers and reports back by messages,
so the first frame never waits for a query. The app reads time only through ctx.clock.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen

from frontdesk.tui import backend, themes
from frontdesk.tui import format as fmt
from frontdesk.tui.idle_gc import CHECK_SECONDS, IdleCollector
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.base import DataChanged, FrontdeskScreen

if TYPE_CHECKING:  # annotations only: the first frame must not wait on these imports
    from frontdesk.services.context import Context
    from frontdesk.services.objects import ClinicOverview, LocationView

CHANGE_CHECK_SECONDS = 2.0
# The terminal closed, or the desk is told to stop: give this desk's holds back first.
STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


class FrontdeskApp(App[None]):
    CSS_PATH = "frontdesk.tcss"
    TITLE = "frontdesk"
    # Screens below 80 columns get the class -narrow (frontdesk.tcss); 60x18 is the smallest size drawn cleanly.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", tooltip="Quit (asks first if typed details would be lost)",
                priority=True, id="quit"),
        Binding("f1", "help", "Help", priority=True, id="help"),
        Binding("question_mark", "help", "Help", show=False, id="help-alt"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("H", "holds", "Holds", tooltip="Holds in force at every desk (release one from there)", show=False, id="holds"),
        Binding("W", "waitlist", "Waitlist", show=False, id="waitlist",
                tooltip="The waitlist, first come first, with each patient's best offer (Enter holds it)"),
        Binding("ctrl+f", "patients", "Patients", show=False, id="patients",
                tooltip="Find a patient anywhere in the clinic and open their record (on the patient details "
                        "of a hold: its own find box)"),
    ]

    # Tests and snapshots turn these off: no blinking cursor, no animation.
    blink = True

    class TokenRead(Message):
        def __init__(self, token: str, waitlist: str = "") -> None:
            super().__init__()
            self.token = token
            self.waitlist = waitlist  # moves when an entry is added or ends, or a hold runs out

    class WaitlistCounted(Message):
        def __init__(self, offers: int) -> None:
            super().__init__()
            self.offers = offers

    def __init__(self, ctx: Context, *, theme: str | None = None, location_id: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.overview: ClinicOverview | None = None
        self.location: LocationView | None = None
        self.database: str | None = None  # the URL of the database in use, once it is open
        self.requested_location_id = location_id
        self.owned_holds: set[str] = set()
        self._quit_question: Screen | None = None  # "quit and lose what was typed?" while it is asked
        self.stopped_by: int | None = None  # the signal that stopped the app, if one did
        self._waitlist_token: tuple[str, str] | None = None
        self.waitlist_offers = 0  # waiting entries with a free slot that fits them now (the header says so)
        self._theme_problems: list[str] = []
        self.opening_notes: list[str] = []  # told once the app is up (e.g. the demo's clock)
        self.idle_collector = IdleCollector()
        self.settings = themes.read_settings()  # read once, before the event loop runs
        self._choose_theme(theme)

    # --- start-up ---------------------------------------------------------------------------

    def _choose_theme(self, requested: str | None) -> None:
        loaded, self._theme_problems = themes.load_themes()
        for theme in loaded:
            self.register_theme(theme)
        # `--theme light` names the shipped frontdesk-light, as --help lists the short names.
        if requested and self.get_theme(requested) is None and self.get_theme(f"frontdesk-{requested}") is not None:
            requested = f"frontdesk-{requested}"
        for name in (requested, self.settings.get("theme"), themes.DEFAULT_THEME):
            if name and self.get_theme(name) is not None:
                self.theme = name
                break
        if requested and self.theme != requested:
            self._theme_problems.append(f"No theme called {requested!r}; using {self.theme}.")

    def get_default_screen(self) -> Screen:
        return AgendaScreen()

    def on_mount(self) -> None:
        for problem in self._theme_problems:
            self.notify(problem, title="Theme", severity="warning", markup=False)
        for note in self.opening_notes:
            self.notify(note, timeout=12, markup=False)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        # The first reading is what later ones are compared with: taken at once, so a change
        # another desk makes before the first tick still shows at that tick.
        self.call_after_refresh(self.check_for_changes)
        self.set_interval(CHANGE_CHECK_SECONDS, self.check_for_changes)
        self.idle_collector.start()
        self.set_interval(CHECK_SECONDS, self.idle_collector.tick)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.idle_collector.input_seen()
        await super().on_event(event)

    def _remember_theme(self, theme) -> None:
        themes.remember(theme=theme.name)

    def set_overview(self, overview: ClinicOverview) -> None:
        """The clinic's reference data arrived (the home screen loads it first)."""
        self.overview = overview
        wanted = self.requested_location_id or self.settings.get("location_id")
        by_id: dict[str | None, LocationView] = {location.id: location for location in overview.locations}
        if wanted and wanted not in by_id and self.requested_location_id:
            self.notify(f"No location {wanted!r}; showing the first one.", severity="warning", markup=False)
        self.location = by_id.get(wanted) or (overview.locations[0] if overview.locations else None)

    # --- what screens ask of the app --------------------------------------------------------

    @property
    def clinic_name(self) -> str:
        return fmt.visible(self.overview.name) if self.overview else "frontdesk"

    @property
    def zone(self) -> str:
        return self.location.timezone if self.location else "UTC"

    def today(self) -> date:
        return fmt.local(self.ctx.clock.now(), self.zone).date()

    def clinician_name(self, clinician_id: str | None) -> str | None:
        if not self.overview or not clinician_id:
            return None
        return fmt.visible(next((c.name for c in self.overview.clinicians if c.id == clinician_id), clinician_id))

    def type_name(self, type_id: str | None) -> str | None:
        if not self.overview or not type_id:
            return None
        return fmt.visible(next((t.name for t in self.overview.appointment_types if t.id == type_id), type_id))

    def location_name(self, location_id: str | None) -> str | None:
        if not self.overview or not location_id:
            return None
        name = next((loc.name for loc in self.overview.locations if loc.id == location_id), location_id)
        return self.short_place(fmt.visible(name))

    def short_place(self, name: str) -> str:
        """'Riverside Health — Central' reads 'Central' where the clinic is already named."""
        clinic = self.clinic_name
        for separator in (" — ", " - ", " – ", ": ", ", "):
            if name.startswith(clinic + separator) and len(name) > len(clinic + separator):
                return name[len(clinic + separator):]
        return name

    def location_zone(self, location_id: str | None) -> str:
        if self.overview and location_id:
            for location in self.overview.locations:
                if location.id == location_id:
                    return location.timezone
        return self.zone

    def room_names(self, resource_ids: Iterable[str]) -> list[str]:
        rooms = {room.id: room.name for room in self.overview.rooms} if self.overview else {}
        return [fmt.visible(rooms[rid]) for rid in resource_ids if rid in rooms]

    def room_id_of(self, resource_ids: Iterable[str]) -> str | None:
        rooms = {room.id for room in self.overview.rooms} if self.overview else set()
        return next((rid for rid in resource_ids if rid in rooms), None)

    # --- live refresh across desks ----------------------------------------------------------

    def check_for_changes(self) -> None:
        """Ask the database whether anything changed (cheap); reload the visible page if so."""
        self.run_worker(self._read_change_token, thread=True, group="change-check", exclusive=True, exit_on_error=False)

    def _read_change_token(self) -> None:
        try:
            token = backend.change_token(self.ctx)
            waitlist = backend.waitlist_token(self.ctx)
        except Exception as error:  # the next tick tries again
            self.log.warning("change check failed", repr(error))
            return
        self.post_message(self.TokenRead(token, waitlist))

    def on_frontdesk_app_token_read(self, message: TokenRead) -> None:
        # A waitlist entry added or ended elsewhere, or a hold run out, changes what the
        # waitlist and the patient record show too, though no appointment changed.
        seen = (message.token, message.waitlist)
        changed = self._waitlist_token is not None and seen != self._waitlist_token
        if changed:
            self.tell_screens_data_changed()
        if seen != self._waitlist_token:
            self._waitlist_token = seen
            self.count_waitlist_offers()

    def count_waitlist_offers(self) -> None:
        """Work out, in a worker, how many waiting entries a free slot fits now: only when
        something changed, as the offers are asked of the availability engine."""
        self.run_worker(self._count_waitlist_offers, thread=True, group="waitlist-count", exclusive=True,
                        exit_on_error=False)

    def _count_waitlist_offers(self) -> None:
        try:
            offers = backend.waitlist_offer_count(self.ctx)
        except Exception as error:  # the next change tries again
            self.log.warning("waitlist count failed", repr(error))
            return
        self.post_message(self.WaitlistCounted(offers))

    def on_frontdesk_app_waitlist_counted(self, message: WaitlistCounted) -> None:
        self.waitlist_offers = message.offers

    def tell_screens_data_changed(self) -> None:
        """The top data screen reloads now; those beneath reload when they show again."""
        data_screens = [screen for screen in self.screen_stack if isinstance(screen, FrontdeskScreen)]
        for screen in data_screens[:-1]:
            screen.stale = True
        if data_screens:
            data_screens[-1].post_message(DataChanged())

    def action_refresh(self) -> None:
        self.tell_screens_data_changed()

    # --- holds the app owns -----------------------------------------------------------------

    def release_owned_holds(self) -> None:
        """Give back every hold this desk still has (quitting must not keep slots locked)."""
        if not self.owned_holds:
            return
        for hold_id in sorted(self.owned_holds):
            try:
                backend.release_hold(self.ctx, hold_id)
            except Exception as error:  # expired or already confirmed: nothing to give back
                self.log.info("release on quit", hold_id, repr(error))
        self.owned_holds.clear()

    async def action_quit(self) -> None:
        """Quit, releasing this desk's holds; first ask if patient details typed under a hold
        would be lost (ctrl+q again, or y, quits)."""
        from frontdesk.tui.modals import ConfirmModal
        from frontdesk.tui.screens.patient import PatientScreen

        asking = self._quit_question
        if asking is None or not asking.is_current:
            typed = [s for s in self.screen_stack if isinstance(s, PatientScreen) and not s.typed().empty]
            if typed:
                held = any(not s.locked for s in typed)
                self._quit_question = ConfirmModal(
                    "Quit now? The patient details typed will be lost"
                    + (" and the held slot released." if held else "."),
                    yes="Quit", no="Stay",
                )
                self.push_screen(self._quit_question, self._quit_answered)
                return
        await self._quit_now()

    async def _quit_answered(self, leave: bool | None) -> None:
        self._quit_question = None
        if leave:
            await self._quit_now()

    async def _quit_now(self) -> None:
        # Off the event loop: another desk's write may hold the database lock for a while.
        await asyncio.to_thread(self.release_owned_holds)
        self.exit()

    def on_unmount(self) -> None:
        self.release_owned_holds()
        self.idle_collector.stop()

    def run(self, *args, **kwargs):
        """Run with SIGHUP and SIGTERM releasing this desk's holds; their handlers as before after."""
        previous = {signum: signal.signal(signum, self._stop_on_signal) for signum in STOP_SIGNALS}
        try:
            return super().run(*args, **kwargs)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _stop_on_signal(self, signum: int, frame) -> None:
        """Release the holds here and now, then exit. This runs on the main thread between two
        steps of whatever it was doing, even while it waits for a lock; the database work of
        the release runs on fresh connections, not on anything the main thread holds."""
        if self.stopped_by is not None:  # a second signal while the first is handled
            return
        self.stopped_by = signum
        self.release_owned_holds()
        if signum == signal.SIGHUP:
            # The terminal is gone: nothing can be drawn or restored, and Textual's output
            # thread may already be stuck on a write to it, so a graceful exit could hang.
            os._exit(128 + signum)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # before the app's loop started, or after it ended
            raise SystemExit(128 + signum) from None
        loop.call_soon_threadsafe(lambda: self.exit(return_code=128 + signum))

    # --- help and the command palette -------------------------------------------------------

    def action_help(self) -> None:
        from frontdesk.tui.help import help_sections
        from frontdesk.tui.modals import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(help_sections(self)))

    def _home(self) -> AgendaScreen | None:
        return self.screen if isinstance(self.screen, AgendaScreen) else None

    def action_holds(self) -> None:
        from frontdesk.tui.screens.holds import HoldsScreen

        if not isinstance(self.screen, HoldsScreen | ModalScreen):  # not over a dialog, not twice
            self.push_screen(HoldsScreen())

    def action_waitlist(self) -> None:
        from frontdesk.tui.screens.waitlist import WaitlistScreen

        if not isinstance(self.screen, WaitlistScreen | ModalScreen):  # not over a dialog, not twice
            self.push_screen(WaitlistScreen())

    def ask_for_patient(self, chosen) -> None:
        """Find a patient (the clinic-wide search dialog); `chosen` gets their id, or None."""
        from frontdesk.tui.screens.patient_record import PatientSearchModal

        self.push_screen(PatientSearchModal(), chosen)

    def action_patients(self) -> None:
        from frontdesk.tui.screens.patient_record import PatientRecordScreen, PatientSearchModal

        if isinstance(self.screen, ModalScreen):  # not over a dialog
            return

        def chosen(patient_id: str | None) -> None:
            if patient_id is not None:
                self.push_screen(PatientRecordScreen(patient_id))

        self.push_screen(PatientSearchModal(), chosen)

    def action_book(self) -> None:
        home = self._home()
        if home is None:
            self.notify("Go back to the appointment list first (Escape).", severity="warning")
            return
        home.action_book()

    def action_go_to_date(self) -> None:
        home = self._home()
        if home is None:
            self.notify("Go back to the appointment list first (Escape).", severity="warning")
            return
        home.action_go_to_date()

    def action_switch_location(self) -> None:
        home = self._home()
        if home is None:
            self.notify("Go back to the appointment list first (Escape).", severity="warning")
            return
        home.action_location()

    def action_print_day_sheet(self) -> None:
        """The PDF of the day on screen (the list's date and site) into the documents folder."""
        from functools import partial

        from frontdesk.paths import documents_dir

        home = self._home()
        if home is None or self.location is None or home.day is None:
            self.notify("Go back to the appointment list first (Escape).", severity="warning")
            return

        def written(sheet) -> None:
            self.notify(f"Day sheet of {sheet.appointments} appointments written to {sheet.path}",
                        title="Day sheet", timeout=12, markup=False)

        home.call_service("day-sheet", partial(backend.print_day_sheet, location_id=self.location.id, day=home.day,
                                               folder=documents_dir()), written, exclusive=False)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """An SVG picture of the screen, into the documents folder (created if need be; Textual's
        own choice, ~/Downloads, fails where there is none)."""
        from frontdesk.paths import documents_dir

        folder = Path(path) if path else documents_dir()
        name = filename or f"frontdesk-{self.ctx.clock.now():%Y-%m-%d_%H-%M-%S}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(name, str(folder))
        except OSError as exc:
            self.notify(f"Could not save the screenshot in {folder}: {exc.strerror or exc}", title="Screenshot",
                        severity="error", timeout=10, markup=False)
            return
        self.notify(f"Screenshot saved to {saved}", title="Screenshot", timeout=10, markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Book an appointment", "Choose a type, then a free slot, then the patient", self.action_book)
        yield SystemCommand("Find a patient", "Anyone in the clinic by name, date of birth, phone or email (ctrl+f)",
                            self.action_patients)
        yield SystemCommand("Go to date", "Show the appointment list of another day", self.action_go_to_date)
        yield SystemCommand("Switch theme", "Change the colours (remembered for next time)", self.action_change_theme)
        yield SystemCommand("Switch location", "Show another site of the clinic", self.action_switch_location)
        yield SystemCommand("Holds in force", "Every desk's holds with the time left; release one", self.action_holds)
        yield SystemCommand("Waitlist", "Patients waiting for a slot, first come first, with their best offer (W)",
                            self.action_waitlist)
        yield SystemCommand("Refresh", "Reload what is on screen now", self.action_refresh)
        yield SystemCommand("Keys", "List every key", self.action_help)
        yield SystemCommand("Print day sheet", "Write the day on screen as a PDF into your documents folder",
                            self.action_print_day_sheet)
        # After a moment: the picture is of the screen, not of the palette closing.
        yield SystemCommand("Screenshot", "Save an SVG picture of the screen into your documents folder",
                            lambda: self.set_timer(0.1, self.action_screenshot))
        yield SystemCommand("Quit", "Quit (any hold this desk has is released)", self.action_quit)


def create_app(ctx: Context, *, theme: str | None = None, location_id: str | None = None) -> FrontdeskApp:
    """The app factory shared by the command line and the tests."""
    return FrontdeskApp(ctx, theme=theme, location_id=location_id)


def run(ctx: Context, *, theme: str | None = None, notes: list[str] | None = None) -> int:
    """Run the UI, telling the desk `notes` as it opens; the exit status (128 + the signal's
    number when a signal stopped it)."""
    app = create_app(ctx, theme=theme)
    app.opening_notes = notes or []
    app.run()
    return app.return_code or 0
