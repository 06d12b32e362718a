"""`frontdesk`: argparse front end. JSON subcommands never import Textual (start-up stays lean)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from frontdesk.domain.errors import INTERNAL_ERROR, FrontdeskError, validation
from frontdesk.domain.statuses import HOLD_STATES, STATUSES


class UsageError(Exception):
    """The command line does not parse (exit 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")

    def _get_values(self, action, arg_strings):
        # `--attendee-email=--`: Python 3.11 drops the "--" and hands back an empty list;
        # 3.12 and later give the value "--". Take it as a value, as the newer ones do.
        if arg_strings == ["--"] and action.option_strings and action.nargs is None:
            return self._get_value(action, "--")
        return super()._get_values(action, arg_strings)


def _unreadable_argument(argv: Sequence[str]) -> str | None:
    """Why an argument cannot be read as text (a NUL, bytes that are not UTF-8), or None."""
    for position, arg in enumerate(argv, start=1):
        if "\x00" in arg:
            return f"argument {position} contains a NUL character"
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return f"argument {position} is not valid UTF-8 text"
    return None


def _id(text: str) -> str:
    """An id: any text but a blank one (a blank filter must not quietly mean "any")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an id cannot be blank")
    return text


def _status_list(text: str) -> tuple[str, ...]:
    """`--status-in S,S`: one or more known statuses."""
    statuses = tuple(s.strip() for s in text.split(","))
    if not any(statuses):
        raise argparse.ArgumentTypeError("give one or more statuses, separated by commas")
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise argparse.ArgumentTypeError(f"{', '.join(map(repr, unknown))} is not a status ({', '.join(STATUSES)})")
    return statuses


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """--db/--now/--operator/--theme, accepted before or after the subcommand."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--db", default=default, metavar="URL", help="SQLAlchemy URL or SQLite file path")
    parser.add_argument("--now", default=default, metavar="INSTANT", help="start the clock at this ISO 8601 instant")
    parser.add_argument("--operator", default=default, metavar="NAME", help="who is at the terminal")
    parser.add_argument("--theme", default=default, metavar="NAME", help="UI theme (dark, light, high-contrast)")


# The day's actions (booking.md "The day"), as subcommands of `appointments`.
DAY_ACTION_HELP = (
    ("confirm", "confirm a pending or scheduled appointment"),
    ("check-in", "the patient has arrived (on the appointment's day)"),
    ("start", "the patient is in the room"),
    ("complete", "the visit is over: its time is free from now"),
    ("no-show", "the patient did not come (after the start time): its time is free from now"),
    ("revert", "undo the last of these actions, made today"),
)


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    _global_options(common, suppress=True)

    parser = Parser(
        prog="frontdesk",
        description="A keyboard-first front desk for a clinic. With no subcommand, opens the terminal UI.",
    )
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_: str, parent=sub) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=help_, description=help_, parents=[common])

    demo = command("demo", "open the UI on a fresh demo clinic whose week lies around today (or --now)")
    demo.add_argument("--no-ui", action="store_true", help="build the demo database and print where, then stop")

    load = command("load", "read a clinic file (TOML or JSON) into the database, all or nothing")
    load.add_argument("file", type=Path)
    load.add_argument("--dry-run", action="store_true",
                      help="print what the load would add, change, keep and remove, and write nothing")

    av = command("availability", "free slots for an appointment type (GET /availability)")
    av.add_argument("--appointment-type", required=True, metavar="ID", type=_id)
    av.add_argument("--start-date", required=True, metavar="D")
    av.add_argument("--end-date", required=True, metavar="D")
    av.add_argument("--clinician", metavar="ID", type=_id)
    av.add_argument("--location", metavar="ID", type=_id)
    av.add_argument("--remote", type=_bool, metavar="true/false")
    av.add_argument("--timezone", metavar="TZ")
    av.add_argument("--round-robin", choices=["RANDOM", "BALANCED", "NONE", "COMBINED"], type=str.upper)
    av.add_argument("--resource", action="append", default=[], metavar="ID", dest="resources", type=_id)
    av.add_argument("--duration", type=int, metavar="MIN")
    av.add_argument("--interval", type=int, metavar="MIN")
    av.add_argument("--first-available", action="store_true")
    av.add_argument("--seed", type=int)

    holds = command("holds", "reserve a slot while details are taken (POST /holds)")
    hs = holds.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    hc = command("create", "hold one slot", hs)
    hc.add_argument("--appointment-type", required=True, metavar="ID", type=_id)
    hc.add_argument("--clinician", required=True, metavar="ID", type=_id)
    hc.add_argument("--start", metavar="INSTANT")
    hc.add_argument("--date", metavar="D")
    hc.add_argument("--start-time", metavar="HH:MM")
    hc.add_argument("--duration", type=int, metavar="MIN")
    hc.add_argument("--location", metavar="ID", type=_id)
    hc.add_argument("--room", metavar="ID", type=_id)
    hc.add_argument("--remote", action="store_true")
    hc.add_argument("--reschedule", metavar="APT_ID", type=_id,
                    help="hold the new time of this appointment (its own time does not count as busy)")
    command("get", "show a hold", hs).add_argument("hold_id", type=_id)
    hl = command("list", "the holds in force (or in a status), soonest to expire first", hs)
    hl.add_argument("--status", choices=HOLD_STATES, help="active (the default: in force), confirmed, released or expired")
    hl.add_argument("--created-by", metavar="NAME", help="only the holds this operator made")
    hl.add_argument("--limit", type=int, default=20)
    hl.add_argument("--offset", type=int, default=0)
    command("release", "give a hold up", hs).add_argument("hold_id", type=_id)
    hf = command("confirm", "turn a hold into a confirmed appointment", hs)
    hf.add_argument("hold_id", type=_id)
    hf.add_argument("--patient", metavar="ID", type=_id)
    hf.add_argument("--new-patient-first-name", metavar="F")
    hf.add_argument("--new-patient-last-name", metavar="L")
    hf.add_argument("--new-patient-email", metavar="E")
    hf.add_argument("--new-patient-phone", metavar="P")
    hf.add_argument("--new-patient-dob", metavar="YYYY-MM-DD")
    hf.add_argument("--attendee-name", metavar="N")
    hf.add_argument("--attendee-email", metavar="E")

    apts = command("appointments", "list, show, create, update and cancel appointments")
    aps = apts.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    al = command("list", "appointments, paged, sorted by start then id", aps)
    al.add_argument("--limit", type=int, default=20)
    al.add_argument("--offset", type=int, default=0)
    al.add_argument("--patient", metavar="ID", type=_id)
    al.add_argument("--clinician", metavar="ID", type=_id)
    al.add_argument("--status", choices=STATUSES)
    al.add_argument("--status-in", metavar="S,S", type=_status_list, default=())
    al.add_argument("--date-gte", metavar="INSTANT")
    al.add_argument("--date-lte", metavar="INSTANT")
    al.add_argument("--appointment-type", metavar="ID", type=_id)
    al.add_argument("--location", metavar="ID", type=_id)
    command("get", "one appointment with its history and change log", aps).add_argument("id", type=_id)
    ac = command("create", "book a time directly (POST /appointments)", aps)
    ac.add_argument("--title", required=True)
    ac.add_argument("--start-time", required=True, metavar="INSTANT")
    ac.add_argument("--end-time", required=True, metavar="INSTANT")
    ac.add_argument("--patient", metavar="ID", type=_id)
    ac.add_argument("--clinician", metavar="ID", type=_id)
    ac.add_argument("--appointment-type", metavar="ID", type=_id)
    ac.add_argument("--location", metavar="ID", type=_id)
    ac.add_argument("--room", metavar="ID", type=_id)
    ac.add_argument("--status", choices=STATUSES)
    ac.add_argument("--remote", action="store_true")
    ac.add_argument("--description")
    ac.add_argument("--attendee-name", metavar="N")
    ac.add_argument("--attendee-email", metavar="E")
    ac.add_argument("--episode", metavar="ID", type=_id)
    ac.add_argument("--idempotency-key", metavar="K")
    ac.add_argument("--allow-overlap", metavar="REASON")
    au = command("update", "change fields of an appointment (PATCH /appointments/{id})", aps)
    au.add_argument("id", type=_id)
    au.add_argument("--title")
    au.add_argument("--description")
    au.add_argument("--attendee-name", metavar="N")
    au.add_argument("--attendee-email", metavar="E")
    au.add_argument("--start-time", metavar="INSTANT")
    au.add_argument("--end-time", metavar="INSTANT")
    au.add_argument("--allow-overlap", metavar="REASON", help="allow a time change over busy time, recording why")
    au.add_argument("--status", help="refused: status changes only through actions such as cancel")
    ax = command("cancel", "cancel an appointment with a reason", aps)
    ax.add_argument("id", type=_id)
    ax.add_argument("--reason")
    mv = command("reschedule", "move an appointment onto a hold made with holds create --reschedule", aps)
    mv.add_argument("id", type=_id)
    mv.add_argument("--hold", required=True, metavar="HOLD_ID", type=_id)
    day_actions = [mv]
    for name, help_ in DAY_ACTION_HELP:
        acting = command(name, help_, aps)
        acting.add_argument("id", type=_id)
        day_actions.append(acting)
    for changing in (au, ax, *day_actions):
        changing.add_argument("--expect-version", type=int, metavar="N",
                              help="refuse (VERSION_CONFLICT) if the appointment changed since version N")

    pts = command("patients", "find patients")
    ps = pts.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    pq = command("search", "name, email, phone or date of birth; empty text lists everyone", ps)
    pq.add_argument("text", nargs="?", default="")
    pq.add_argument("--limit", type=int, default=20)
    pq.add_argument("--offset", type=int, default=0)
    command("get", "one patient", ps).add_argument("id", type=_id)
    return parser


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


def _availability(ctx, args):
    from frontdesk.services.availability import query_availability
    from frontdesk.services.objects import AvailabilityQuery

    return query_availability(
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


def _holds(ctx, args):
    from frontdesk.services import holds
    from frontdesk.services.objects import (
        ConfirmRequest,
        HoldFilter,
        HoldRequest,
        NewPatient,
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
    new_patient = None
    if args.new_patient_first_name or args.new_patient_last_name:
        new_patient = NewPatient(
            first_name=args.new_patient_first_name or "",
            last_name=args.new_patient_last_name or "",
            email=args.new_patient_email,
            phone=args.new_patient_phone,
            date_of_birth=args.new_patient_dob,
        )
    return holds.confirm_hold(
        ctx,
        args.hold_id,
        ConfirmRequest(
            patient_id=args.patient,
            new_patient=new_patient,
            attendee_name=args.attendee_name,
            attendee_email=args.attendee_email,
        ),
    )


def _appointments(ctx, args):
    from frontdesk.services import appointments
    from frontdesk.services.objects import AppointmentCreate, AppointmentFilter

    if args.action == "list":
        return appointments.list_appointments(
            ctx,
            AppointmentFilter(
                limit=args.limit,
                offset=args.offset,
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
    if args.action == "get":
        return appointments.get_appointment(ctx, args.id)
    if args.action == "create":
        return appointments.create_appointment(
            ctx,
            AppointmentCreate(
                title=args.title,
                start_time=_instant(args.start_time),
                end_time=_instant(args.end_time),
                patient_id=args.patient,
                clinician_profile_id=args.clinician,
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
        return appointments.update_appointment(ctx, args.id, changes, expect_version=args.expect_version)
    if args.action == "cancel":
        return appointments.cancel_appointment(ctx, args.id, args.reason, expect_version=args.expect_version)
    if args.action == "reschedule":
        from frontdesk.services.holds import reschedule_appointment

        return reschedule_appointment(ctx, args.id, args.hold, expect_version=args.expect_version)
    return appointments.act_on_appointment(ctx, args.id, args.action, expect_version=args.expect_version)


def _patients(ctx, args):
    from frontdesk.services import patients

    if args.action == "search":
        return patients.search_patients(ctx, args.text, limit=args.limit, offset=args.offset)
    return patients.get_patient(ctx, args.id)


def _load(ctx, args):
    from frontdesk.services.clinic import load_clinic_file

    return load_clinic_file(ctx, args.file, dry_run=args.dry_run)


JSON_COMMANDS: dict[str, Callable[[Any, argparse.Namespace], Any]] = {
    "availability": _availability,
    "holds": _holds,
    "appointments": _appointments,
    "patients": _patients,
    "load": _load,
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


def _run_demo(args) -> int:
    loaded: dict[str, int] = {}

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

        print(dumps(success({"database": str(ctx.db.url), "loaded": loaded})))
        return 0
    return _run_ui(ctx, args)


def _run_ui(ctx, args) -> int:
    from frontdesk.tui.app import run

    return run(ctx, theme=args.theme)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        unreadable = _unreadable_argument(argv)
        if unreadable:
            raise UsageError(f"frontdesk: {unreadable}")
        args = parser.parse_args(argv)
    except UsageError as exc:
        _print_failure(validation(str(exc)))
        print(str(exc), file=sys.stderr)
        print(parser.format_usage(), file=sys.stderr, end="")
        return 2
    try:
        if args.command in JSON_COMMANDS:
            from frontdesk.cli.envelope import dumps, success

            ctx = _context(args)
            ctx.open_now()
            print(dumps(success(JSON_COMMANDS[args.command](ctx, args))))
            return 0
        if args.command == "demo":
            return _run_demo(args)
        return _run_ui(_context(args), args)
    except FrontdeskError as error:
        _print_failure(error)
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


def _print_failure(error: FrontdeskError) -> None:
    # Imported here, not at the top: the UI's first frame should not wait for the JSON layer.
    from frontdesk.cli.envelope import dumps, failure

    print(dumps(failure(error)))
