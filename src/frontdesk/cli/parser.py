"""The `frontdesk` command line as argparse sees it: every subcommand, its options and how
each value is read. Refusals of the command line are UsageError (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

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


def unreadable_argument(argv: Sequence[str]) -> str | None:
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
    _format_option(av)
    av.add_argument("--sync-external", action="store_true",
                    help="import the clinicians' external calendars (the clinic file's external_calendars) again first")

    calendars = command("calendars", "a clinician's own calendars (iCalendar) as busy time")
    cs = calendars.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    ci = command("import", "make a calendar file's events busy time of a clinician, replacing the same source's", cs)
    ci.add_argument("file", type=Path)
    ci.add_argument("--clinician", required=True, metavar="ID", type=_id)
    ci.add_argument("--source", metavar="NAME", help="what this calendar is called (default: the file's name)")

    holds = command("holds", "reserve a slot while details are taken (POST /holds)")
    hs = holds.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    hc = command("create", "hold one slot, or with --rrule every occurrence of a series", hs)
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
    hc.add_argument("--rrule", metavar="RULE",
                    help="hold a series from this slot: an RFC 5545 rule with COUNT or UNTIL, at most 52 "
                         "occurrences (e.g. FREQ=WEEKLY;COUNT=10), in the slot's local wall time")
    hc.add_argument("--skip-conflicts", action="store_true",
                    help="with --rrule: hold the free occurrences and list the others (default: all or nothing)")
    command("get", "show a hold", hs).add_argument("hold_id", type=_id)
    hl = command("list", "the holds in force (or in a status), soonest to expire first", hs)
    hl.add_argument("--status", choices=HOLD_STATES, help="active (the default: in force), confirmed, released or expired")
    hl.add_argument("--created-by", metavar="NAME", help="only the holds this operator made")
    hl.add_argument("--limit", type=int, default=20)
    hl.add_argument("--offset", type=int, default=0)
    command("release", "give a hold up", hs).add_argument("hold_id", type=_id)
    command("extend", "give an active hold one more hold_minutes from its expiry (once)", hs).add_argument(
        "hold_id", type=_id)
    hr = command("repeat", "turn an active hold of one slot into a series hold from that slot (same expiry)", hs)
    hr.add_argument("hold_id", type=_id)
    hr.add_argument("--rrule", required=True, metavar="RULE",
                    help="an RFC 5545 rule with COUNT or UNTIL, at most 52 occurrences (e.g. FREQ=WEEKLY;COUNT=6)")
    hr.add_argument("--skip-conflicts", action="store_true",
                    help="hold the free occurrences and list the others (default: all or nothing; "
                         "refused, the single hold stays as it was)")
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
    hf.add_argument("--payment-status", metavar="S", help="a group seat's: not_applicable (the default), pending or paid")
    hf.add_argument("--allow-duplicate", action="store_true",
                    help="create the new patient even when one with the same name and date of birth, email or phone exists")

    apts = command("appointments", "list, show, create, update and cancel appointments")
    aps = apts.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    al = command("list", "appointments, paged, sorted by start then id", aps)
    al.add_argument("--limit", type=int, default=20)
    al.add_argument("--offset", type=int, default=0)
    al.add_argument("--cursor", metavar="C", help="a page's meta.next_cursor: the next page, read without skipping")
    al.add_argument("--patient", metavar="ID", type=_id)
    al.add_argument("--clinician", metavar="ID", type=_id)
    al.add_argument("--status", choices=STATUSES)
    al.add_argument("--status-in", metavar="S,S", type=_status_list, default=())
    al.add_argument("--date-gte", metavar="INSTANT")
    al.add_argument("--date-lte", metavar="INSTANT")
    al.add_argument("--appointment-type", metavar="ID", type=_id)
    al.add_argument("--location", metavar="ID", type=_id)
    _format_option(al)
    ag = command("get", "one appointment with its history and change log", aps)
    ag.add_argument("id", type=_id)
    _format_option(ag)
    ac = command("create", "book a time directly (POST /appointments)", aps)
    ac.add_argument("--title", required=True)
    ac.add_argument("--start-time", required=True, metavar="INSTANT")
    ac.add_argument("--end-time", required=True, metavar="INSTANT")
    ac.add_argument("--patient", metavar="ID", type=_id)
    ac.add_argument("--clinician", metavar="ID", type=_id, action="append",
                    help="the clinician (staff time: each one on it, the host first)")
    ac.add_argument("--internal", action="store_true", help="staff time: no patient, busy for every --clinician")
    ac.add_argument("--reference-patient", metavar="ID", type=_id, action="append", default=[],
                    help="a patient staff time is about (repeat for more)")
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
    for scoped in (au, ax):
        # Checked by the service (domain/series.py), which names the field.
        scoped.add_argument("--scope", metavar="one|following|all",
                            help="in a series: this occurrence (one, the default), this and later ones, or all")
    mv = command("reschedule", "move an appointment onto a hold made with holds create --reschedule", aps)
    mv.add_argument("id", type=_id)
    mv.add_argument("--hold", required=True, metavar="HOLD_ID", type=_id)
    day_actions = [mv]
    for name, help_ in DAY_ACTION_HELP:
        acting = command(name, help_, aps)
        acting.add_argument("id", type=_id)
        day_actions.append(acting)
    # A group's attendees (booking.md "Groups"): appointments attendees add/remove/update ID --patient P.
    att = command("attendees", "add, remove or update a group appointment's attendees", aps)
    ats = att.add_subparsers(dest="attendees_action", metavar="ACTION", required=True, parser_class=Parser)
    att_add = command("add", "add a patient to the group (needs a free seat)", ats)
    att_remove = command("remove", "take a patient off the group (frees the seat)", ats)
    att_update = command("update", "change an attendee's attendance, payment or no-show", ats)
    for attending in (att_add, att_remove, att_update):
        attending.add_argument("id", type=_id)
        attending.add_argument("--patient", metavar="ID", type=_id, required=True)
        day_actions.append(attending)
    att_add.add_argument("--payment-status", metavar="S", help="not_applicable (the default), pending or paid")
    att_update.add_argument("--attendance-status", metavar="S", help="going or not_going (frees the seat)")
    att_update.add_argument("--payment-status", metavar="S", help="not_applicable, pending or paid")
    att_update.add_argument("--no-show", metavar="true/false", type=_bool)
    for changing in (au, ax, *day_actions):
        changing.add_argument("--expect-version", type=int, metavar="N",
                              help="refuse (VERSION_CONFLICT) if the appointment changed since version N")

    pts = command("patients", "find, create and change patients; their appointments; export one")
    ps = pts.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    pq = command("search", "name (any order, accents ignored), date of birth, phone (any form) or email; "
                 "empty text lists everyone", ps)
    pq.add_argument("text", nargs="?", default="")
    pq.add_argument("--limit", type=int, default=20)
    pq.add_argument("--offset", type=int, default=0)
    pq.add_argument("--cursor", metavar="C", help="a page's meta.next_cursor: the next page, read without skipping")
    command("get", "one patient", ps).add_argument("id", type=_id)
    pc = command("create", "a new patient (refused when one like them exists, unless --allow-duplicate)", ps)
    pc.add_argument("--first-name", required=True, metavar="F")
    pc.add_argument("--last-name", required=True, metavar="L")
    pu = command("update", "change a patient's fields, with the same checks", ps)
    pu.add_argument("id", type=_id)
    pu.add_argument("--first-name", metavar="F")
    pu.add_argument("--last-name", metavar="L")
    pu.add_argument("--expect-version", type=int, metavar="N",
                    help="refuse (VERSION_CONFLICT) if the patient changed since version N")
    for editing in (pc, pu):
        editing.add_argument("--email", metavar="E")
        editing.add_argument("--phone", metavar="P", help="any common form; national numbers are the clinic's country's")
        editing.add_argument("--dob", metavar="DATE", help="date of birth: ISO or in the clinic's date order")
        editing.add_argument("--allow-duplicate", action="store_true",
                             help="go ahead even when another patient has the same name and date of birth, email or phone")
    ph = command("history", "a patient's appointments, newest first, paged, with the no-show count", ps)
    ph.add_argument("id", type=_id)
    ph.add_argument("--limit", type=int, default=20)
    ph.add_argument("--offset", type=int, default=0)
    command("export", "everything held about one patient, as one JSON document", ps).add_argument("id", type=_id)

    sheet = command("day-sheet", "the day's appointments per clinician: a PDF to print, or CSV or text")
    sheet.add_argument("--date", required=True, metavar="D", help="the day (YYYY-MM-DD)")
    sheet.add_argument("--location", metavar="ID", type=_id, help="the site (a clinic of one site: that one)")
    sheet.add_argument("--clinician", metavar="ID", type=_id)
    sheet.add_argument("--format", choices=("pdf", "csv", "text"), default="pdf")
    sheet.add_argument("--paper", choices=("a4", "letter"), type=str.lower,
                       help="the PDF's paper (default: letter in the US and Canada, else A4)")
    sheet.add_argument("-o", "--output", metavar="FILE",
                       help="write here (csv and text: default standard output; pdf: the documents folder)")
    _export_commands(command)
    wl = command("waitlist", "patients waiting for a slot that fits; the free slots that fit them now")
    ws = wl.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    wa = command("add", "put a patient on the waitlist with their wishes", ws)
    wa.add_argument("--patient", required=True, metavar="P", type=_id)
    wa.add_argument("--appointment-type", required=True, metavar="T", type=_id)
    wa.add_argument("--clinician", metavar="ID", type=_id)
    wa.add_argument("--location", metavar="ID", type=_id)
    wa.add_argument("--remote", type=_bool, metavar="true/false", help="leave out for either mode")
    wa.add_argument("--earliest", metavar="D", help="the first date that suits (YYYY-MM-DD)")
    wa.add_argument("--latest", metavar="D", help="the last date that suits (YYYY-MM-DD)")
    wa.add_argument("--days", metavar="mon,tue,...", help="the weekdays that suit")
    wa.add_argument("--times", metavar="HH:MM-HH:MM", help="the time of day that suits, the location's clock")
    wa.add_argument("--note", metavar="N")
    wls = command("list", "the waiting entries, first come first, with how long each has waited", ws)
    wls.add_argument("--limit", type=int, default=100)
    wls.add_argument("--offset", type=int, default=0)
    command("get", "one waitlist entry", ws).add_argument("id", type=_id)
    command("remove", "the patient no longer waits", ws).add_argument("id", type=_id)
    wo = command("offers", "each waiting entry's earliest fitting free slots, as availability answers now", ws)
    wo.add_argument("id", nargs="?", type=_id)
    wo.add_argument("--limit", type=int, default=3, metavar="N", help="slots per entry (default 3)")
    return parser


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["json", "fhir"], default="json",
                        help="json (the envelope, the default) or fhir (FHIR R4 resources, interop.md)")


def _export_commands(command) -> None:
    """`export ics` and `export freebusy` (interop.md, iCalendar out)."""
    export = command("export", "appointments or busy time as an iCalendar file (RFC 5545)")
    es = export.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    ics = command("ics", "one event per appointment starting in the range, every status", es)
    ics.add_argument("--clinician", metavar="ID", type=_id)
    ics.add_argument("--location", metavar="ID", type=_id)
    ics.add_argument("--patient", metavar="ID", type=_id, help="the patient's own calendar: type, clinician, place")
    ics.add_argument("--appointment", metavar="ID", type=_id)
    ics.add_argument("--private", action="store_true", help='only "Busy": no patient, place or link')
    freebusy = command("freebusy", "a clinician's busy periods (appointments, holds, blocks) as a VFREEBUSY", es)
    freebusy.add_argument("--clinician", required=True, metavar="ID", type=_id)
    for exporting in (ics, freebusy):
        exporting.add_argument("--from", dest="start_date", required=True, metavar="D",
                               help="the first day (YYYY-MM-DD), in the clinician's or location's timezone")
        exporting.add_argument("--to", dest="end_date", required=True, metavar="D",
                               help="the last day, included; at most 366 days in all")
        exporting.add_argument("-o", "--output", metavar="FILE",
                               help="write the calendar here (whole or not at all) instead of printing it")
