"""`frontdesk`: argparse front end. JSON subcommands never import Textual (start-up stays lean)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from frontdesk.cli.parser import UsageError, build_parser, unreadable_argument
from frontdesk.domain.errors import INTERNAL_ERROR, NOT_FOUND, FrontdeskError, validation

# --- running a command -------------------------------------------------------------------


def _clock(now: str | None):
    from frontdesk.clock import StartedClock, SystemClock
    from frontdesk.domain.timeutil import parse_instant

    now = now or os.environ.get("FRONTDESK_NOW")
    return StartedClock(parse_instant(now)) if now else SystemClock()


def _context(args: argparse.Namespace, db: str | None = None, prepare=None):
    """A context whose database opens on first use (the UI opens it in a worker)."""
    from frontdesk.services.context import Context

    return Context(db or args.db, clock=_clock(args.now), operator=args.operator, prepare=prepare)


def _instant(text: str | None):
    from frontdesk.domain.timeutil import parse_instant

    return None if text is None else parse_instant(text)


def _date_edge(text: str | None, *, end: bool):
    """--date-gte / --date-lte: an instant, or a plain date (its start or its end, in UTC), as
    appointments-api's own example (`date_gte=2025-01-20`) has it."""
    from datetime import UTC, datetime, time, timedelta

    from frontdesk.domain.timeutil import parse_date

    if text is None or len(text.strip()) != 10:
        return _instant(text)
    day = parse_date(text.strip())
    if end:
        return datetime.combine(day, time(0), UTC) + timedelta(days=1) - timedelta(microseconds=1)
    return datetime.combine(day, time(0), UTC)


class Verbatim(str):
    """What a command prints as it is, outside the envelope: a calendar's own text, a FHIR
    resource (a FHIR client reads the resource itself)."""


def _fhir(ctx, answer):
    from frontdesk.cli.envelope import dumps
    from frontdesk.services import fhir
    from frontdesk.services.objects import AvailabilityResult, Page

    if isinstance(answer, AvailabilityResult):
        return Verbatim(dumps(fhir.slot_bundle(answer)))
    if isinstance(answer, Page):
        return Verbatim(dumps(fhir.appointment_bundle(answer, fhir.names(ctx))))
    return Verbatim(dumps(fhir.appointment_resource(answer, fhir.names(ctx))))


def _export(ctx, args):
    from frontdesk.services import calendar_export

    if args.action == "freebusy":
        exported = calendar_export.export_freebusy(ctx, args.clinician, args.start_date, args.end_date)
    else:
        exported = calendar_export.export_ics(ctx, calendar_export.ExportRequest(
            start_date=args.start_date, end_date=args.end_date, clinician_id=args.clinician,
            location_id=args.location, patient_id=args.patient, appointment_id=args.appointment,
            private=args.private,
        ))
    if args.output is None:
        return Verbatim(exported.text)
    return calendar_export.write_file(exported, args.output)


def _availability(ctx, args):
    from frontdesk.services.availability import query_availability
    from frontdesk.services.objects import AvailabilityQuery

    if args.sync_external:
        from frontdesk.services.calendars import sync_external

        sync_external(ctx, [args.clinician] if args.clinician else None)
    answer = query_availability(
        ctx,
        AvailabilityQuery(
            appointment_type_id=args.appointment_type,
            start_date=args.start_date,
            end_date=args.end_date,
            clinician_id=args.clinician,
            location_id=args.location,
            is_remote=args.remote,
            timezone=args.timezone,
            round_robin=args.round_robin,
            resource_ids=tuple(args.resources),
            duration=args.duration,
            interval=args.interval,
            first_available=args.first_available,
            seed=args.seed,
        ),
    )
    return _fhir(ctx, answer) if args.format == "fhir" else answer


def _holds(ctx, args):
    from frontdesk.services import holds
    from frontdesk.services.objects import (
        ConfirmRequest,
        HoldFilter,
        HoldRequest,
        NewPatient,
        SeriesBooked,
    )

    if args.action == "create":
        return holds.create_hold(
            ctx,
            HoldRequest(
                appointment_type_id=args.appointment_type,
                clinician_id=args.clinician,
                start=_instant(args.start),
                date=args.date,
                start_time=args.start_time,
                duration_minutes=args.duration,
                location_id=args.location,
                room_id=args.room,
                is_remote=args.remote,
                reschedule_appointment_id=args.reschedule,
                rrule=args.rrule,
                skip_conflicts=args.skip_conflicts,
            ),
        )
    if args.action == "get":
        return holds.get_hold(ctx, args.hold_id)
    if args.action == "list":
        return holds.list_holds(
            ctx, HoldFilter(limit=args.limit, offset=args.offset, status=args.status, created_by=args.created_by)
        )
    if args.action == "release":
        return holds.release_hold(ctx, args.hold_id)
    if args.action == "extend":
        return holds.extend_hold(ctx, args.hold_id)
    if args.action == "repeat":
        from frontdesk.services.series_holds import repeat_hold

        return repeat_hold(ctx, args.hold_id, args.rrule, skip_conflicts=args.skip_conflicts)
    new_patient = None
    if args.new_patient_first_name or args.new_patient_last_name:
        new_patient = NewPatient(
            first_name=args.new_patient_first_name or "",
            last_name=args.new_patient_last_name or "",
            email=args.new_patient_email,
            phone=args.new_patient_phone,
            date_of_birth=args.new_patient_dob,
        )
    booked = holds.confirm_hold(
        ctx,
        args.hold_id,
        ConfirmRequest(
            patient_id=args.patient,
            new_patient=new_patient,
            attendee_name=args.attendee_name,
            attendee_email=args.attendee_email,
            payment_status=args.payment_status,
            allow_duplicate=args.allow_duplicate,
        ),
    )
    if booked.recurring.get("is_recurring"):
        # A series: the first occurrence's appointment, and meta.appointment_ids lists them all.
        return SeriesBooked(booked, holds.get_hold(ctx, args.hold_id).appointment_ids)
    return booked


def _appointments(ctx, args):
    from frontdesk.services import appointments
    from frontdesk.services.objects import AppointmentCreate, AppointmentFilter

    if args.action == "list":
        page = appointments.list_appointments(
            ctx,
            AppointmentFilter(
                limit=args.limit,
                offset=args.offset,
                cursor=args.cursor,
                patient_id=args.patient,
                clinician_id=args.clinician,
                status=args.status,
                status_in=args.status_in,
                date_gte=_date_edge(args.date_gte, end=False),
                date_lte=_date_edge(args.date_lte, end=True),
                appointment_type_id=args.appointment_type,
                location_id=args.location,
            ),
        )
        return _fhir(ctx, page) if args.format == "fhir" else page
    if args.action == "get":
        one = appointments.get_appointment(ctx, args.id)
        return _fhir(ctx, one) if args.format == "fhir" else one
    if args.action == "create":
        return appointments.create_appointment(
            ctx,
            AppointmentCreate(
                title=args.title,
                start_time=_instant(args.start_time),
                end_time=_instant(args.end_time),
                patient_id=args.patient,
                clinician_profile_id=args.clinician[0] if args.clinician else None,
                other_clinician_ids=tuple(args.clinician[1:]) if args.clinician else (),
                internal=args.internal,
                reference_patient_ids=tuple(args.reference_patient),
                appointment_type_id=args.appointment_type,
                location_id=args.location,
                room_id=args.room,
                status=args.status,
                is_remote=args.remote,
                description=args.description,
                attendee_name=args.attendee_name,
                attendee_email=args.attendee_email,
                episode_id=args.episode,
                idempotency_key=args.idempotency_key,
                allow_overlap_reason=args.allow_overlap,
            ),
        )
    if args.action == "update":
        from frontdesk.domain.appointments import UPDATABLE_FIELDS

        # `status` is passed on so the service refuses it in its own words.
        changes: dict[str, Any] = {}
        for name in (*UPDATABLE_FIELDS, "status"):
            value = getattr(args, name)
            if value is not None:
                changes[name] = _instant(value) if name in ("start_time", "end_time") else value
        if args.allow_overlap is not None:
            changes["allow_overlap_reason"] = args.allow_overlap
        if args.scope is not None:  # the answer's meta says what the scope reached
            return appointments.update_in_scope(ctx, args.id, changes, expect_version=args.expect_version,
                                                scope=args.scope)
        return appointments.update_appointment(ctx, args.id, changes, expect_version=args.expect_version)
    if args.action == "cancel":
        return appointments.cancel_appointment(ctx, args.id, args.reason, expect_version=args.expect_version,
                                               scope=args.scope)
    if args.action == "attendees":
        return _attendees(ctx, args)
    if args.action == "reschedule":
        from frontdesk.services.holds import reschedule_appointment

        return reschedule_appointment(ctx, args.id, args.hold, expect_version=args.expect_version)
    return appointments.act_on_appointment(ctx, args.id, args.action, expect_version=args.expect_version)


def _attendees(ctx, args):
    from frontdesk.services import attendees

    if args.attendees_action == "add":
        return attendees.add_attendee(ctx, args.id, args.patient, args.payment_status,
                                      expect_version=args.expect_version)
    if args.attendees_action == "remove":
        return attendees.remove_attendee(ctx, args.id, args.patient, expect_version=args.expect_version)
    return attendees.update_attendee(
        ctx, args.id, args.patient, attendance_status=args.attendance_status, payment_status=args.payment_status,
        no_show=args.no_show, expect_version=args.expect_version,
    )


def _patients(ctx, args):
    from frontdesk.services import patients

    if args.action == "search":
        return patients.search_patients(ctx, args.text, limit=args.limit, offset=args.offset, cursor=args.cursor)
    if args.action == "create":
        return patients.create_patient(ctx, args.first_name, args.last_name, email=args.email, phone=args.phone,
                                       date_of_birth=args.dob, allow_duplicate=args.allow_duplicate)
    if args.action == "update":
        given = {"first_name": args.first_name, "last_name": args.last_name, "email": args.email,
                 "phone": args.phone, "date_of_birth": args.dob}
        changes = {name: value for name, value in given.items() if value is not None}
        return patients.update_patient(ctx, args.id, changes, expect_version=args.expect_version,
                                       allow_duplicate=args.allow_duplicate)
    if args.action == "history":
        return patients.patient_history(ctx, args.id, limit=args.limit, offset=args.offset)
    if args.action == "export":
        return patients.export_patient(ctx, args.id)
    return patients.get_patient(ctx, args.id)


def _waitlist(ctx, args):
    from frontdesk.services import waitlist

    if args.action == "add":
        return waitlist.add_entry(ctx, waitlist.WaitlistRequest(
            patient_id=args.patient, appointment_type_id=args.appointment_type, clinician_id=args.clinician,
            location_id=args.location, remote=args.remote, earliest=args.earliest, latest=args.latest,
            days=args.days, times=args.times, note=args.note))
    if args.action == "list":
        return waitlist.list_entries(ctx, limit=args.limit, offset=args.offset)
    if args.action == "get":
        return waitlist.get_entry(ctx, args.id)
    if args.action == "remove":
        return waitlist.remove_entry(ctx, args.id)
    return waitlist.waitlist_offers(ctx, args.id, limit=args.limit)


def _calendars(ctx, args):
    from frontdesk.services.calendars import import_calendar

    return import_calendar(ctx, args.clinician, args.file, source=args.source)


def _load(ctx, args):
    from frontdesk.services.clinic import load_clinic_file

    return load_clinic_file(ctx, args.file, dry_run=args.dry_run)


def _day_sheet(ctx, args) -> int:
    """CSV and text without -o go to standard output as they are; a file written (a PDF
    without -o goes into the documents folder) is answered in JSON: where, and what it holds."""
    from frontdesk.cli.envelope import dumps, success
    from frontdesk.domain.timeutil import parse_date
    from frontdesk.services import day_sheet as sheets

    day = parse_date(args.date)
    where = {"location_id": args.location, "clinician_id": args.clinician}
    if args.output is None and args.format != "pdf":
        sheet = sheets.day_sheet(ctx, day, **where)
        sys.stdout.write(sheets.render_csv(sheet) if args.format == "csv" else sheets.render_text(sheet))
        return 0
    from frontdesk.paths import documents_dir

    written = sheets.write_day_sheet(ctx, day, path=args.output, folder=None if args.output else documents_dir(),
                                     fmt=args.format, paper=args.paper, **where)
    print(dumps(success(written)))
    return 0


JSON_COMMANDS: dict[str, Callable[[Any, argparse.Namespace], Any]] = {
    "availability": _availability,
    "holds": _holds,
    "appointments": _appointments,
    "patients": _patients,
    "waitlist": _waitlist,
    "load": _load,
    "export": _export,
    "calendars": _calendars,
}


def _demo_database(args) -> str:
    """A fresh demo database: --db if given (it must hold no clinic yet), else demo.db in the data folder."""
    if args.db:
        return args.db
    from frontdesk.paths import data_dir

    path = data_dir() / "demo.db"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)


def _demo_clock_note(args) -> str | None:
    """Without --now, a demo run outside the sample clinic's busy hours starts its clock on a
    working morning (services/demo_clock.py); the words that say so."""
    if args.now or os.environ.get("FRONTDESK_NOW"):
        return None
    from frontdesk.clock import SystemClock
    from frontdesk.services.demo_clock import demo_start, sample_zone

    start = demo_start(SystemClock().now(), sample_zone())
    if start is None:
        return None
    args.now = start.isoformat()
    return (f"The sample clinic is quiet at this hour, so the demo's clock starts on "
            f"{start:%a %d %b} at {start:%H:%M} ({start.tzname()}) and runs on from there. "
            "--now sets another moment.")


def _run_demo(args) -> int:
    loaded: dict[str, int] = {}
    note = _demo_clock_note(args)

    def fill(ctx) -> None:
        from frontdesk.services.clinic import clinic_overview
        from frontdesk.services.demo import build_demo

        if clinic_overview(ctx).locations:
            raise validation(
                "The demo needs a fresh database, and this one already holds a clinic; leave out --db "
                "to use the demo's own file.",
                db=str(ctx.db_url),
            )
        loaded.update(build_demo(ctx).counts)

    ctx = _context(args, _demo_database(args), prepare=fill)
    if args.no_ui or args.db:
        ctx.open_now()  # a refusal is printed here, not drawn; the usual demo fills in a UI worker
    if args.no_ui:
        from frontdesk.cli.envelope import dumps, success

        print(dumps(success({"database": str(ctx.db.url), "loaded": loaded, "now": ctx.clock.now(), "note": note})))
        return 0
    return _run_ui(ctx, args, notes=[note] if note else [])


def _run_ui(ctx, args, notes: list[str] | None = None) -> int:
    from frontdesk.tui.app import run

    return run(ctx, theme=args.theme, notes=notes or [])


def _with_hint(error: FrontdeskError, ctx) -> FrontdeskError:
    """A NOT_FOUND on a database with no clinic in it says so: the id is not the mistake."""
    if error.code != NOT_FOUND or ctx is None:
        return error
    from frontdesk.services.clinic import has_clinic

    try:
        if has_clinic(ctx):
            return error
    except FrontdeskError:
        return error
    hint = "This database has no clinic in it yet: load one with `frontdesk load FILE` (or try `frontdesk demo`)."
    return FrontdeskError(error.code, f"{error.message}. {hint}", {**error.details, "clinic_loaded": False})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    own_process = argv is None  # run as the program, not called by other Python code
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        unreadable = unreadable_argument(argv)
        if unreadable:
            raise UsageError(f"frontdesk: {unreadable}")
        args = parser.parse_args(argv)
    except UsageError as exc:
        _print_failure(validation(str(exc)))
        print(str(exc), file=sys.stderr)
        print(parser.format_usage(), file=sys.stderr, end="")
        return 2
    command_ctx = None  # set once a JSON command has its database open
    try:
        if args.command in JSON_COMMANDS:
            if own_process:
                # A JSON command is one short answer and its process ends when it is written:
                # the memory goes back to the OS whole, so the cycle collector's scans (a
                # quarter of a month of availability) buy nothing. Not when called in-process
                # (tests), nor for the UI, which runs all day.
                gc.disable()
            from frontdesk.cli.envelope import answer_json

            ctx = _context(args)
            ctx.open_now()
            command_ctx = ctx
            answer = JSON_COMMANDS[args.command](ctx, args)
            if isinstance(answer, Verbatim):
                sys.stdout.write(answer if answer.endswith("\n") else f"{answer}\n")
            else:
                print(answer_json(answer))
            if own_process:
                _end_now(0)
            return 0
        if args.command == "day-sheet":
            command_ctx = _context(args)
            command_ctx.open_now()
            return _day_sheet(command_ctx, args)
        if args.command == "demo":
            return _run_demo(args)
        return _run_ui(_context(args), args)
    except FrontdeskError as error:
        _print_failure(_with_hint(error, command_ctx))
        if own_process and command_ctx is not None:
            _end_now(1)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `frontdesk ... | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:  # a defect: a sentence, never a traceback (it could quote patient data)
        _print_failure(
            FrontdeskError(
                INTERNAL_ERROR,
                f"frontdesk failed unexpectedly ({type(error).__name__}); nothing more is shown, "
                "as the details could hold patient data",
                {"error": type(error).__name__},
            )
        )
        print(f"frontdesk: internal error ({type(error).__name__}); set FRONTDESK_DEBUG=1 to see where", file=sys.stderr)
        if os.environ.get("FRONTDESK_DEBUG"):
            import traceback

            traceback.print_exc()
        return 1


def _end_now(code: int) -> NoReturn:
    """The answer is written and its transaction committed: end the process without the
    interpreter's teardown (tens of milliseconds spent freeing what the OS frees anyway)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left (`| head`): nothing more to say
        code = 1
    os._exit(code)


def _print_failure(error: FrontdeskError) -> None:
    # Imported here, not at the top: the UI's first frame should not wait for the JSON layer.
    from frontdesk.cli.envelope import dumps, failure

    print(dumps(failure(error)))
