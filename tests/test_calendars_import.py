"""A clinician's own calendar imported as busy time (interop.md, "iCalendar in").

The calendars are made here with `icalendar` (and a few hand-written ones from common
calendar programs in tests/data/). The clock stands at Monday 2025-01-20 08:00Z; London is
on UTC then, New York five hours behind.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import text
from booking_clinic import CLINIC, load, utc

from frontdesk.domain.busy import EXTERNAL
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.availability import query_availability
from frontdesk.services.booking import booking_of, find_conflicts
from frontdesk.services.busy import busy_time
from frontdesk.services.calendars import external_busy_of_day, import_calendar, sync_external
from frontdesk.services.clinic import load_clinic_data, load_clinic_file
from frontdesk.services.holds import create_hold
from frontdesk.services.objects import AvailabilityQuery, HoldRequest

DATA = Path(__file__).parent / "data"
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def desk(ctx):
    load(ctx)
    return ctx


def event(uid: str, start, end=None, **props) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", utc(2025, 1, 1))
    ev.add("summary", f"private {uid}")
    ev.add("dtstart", start)
    if end is not None:
        ev.add("dtend", end)
    for key, value in props.items():
        ev.add(key.replace("_", "-"), value)
    return ev


def calendar_file(tmp_path: Path, *events: icalendar.Event, name: str = "sarah.ics") -> Path:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//frontdesk tests//EN")
    cal.add("version", "2.0")
    for ev in events:
        cal.add_component(ev)
    path = tmp_path / name
    path.write_bytes(cal.to_ical())
    return path


def external(ctx, clinician_id="cli_sarah", days=60) -> list[tuple[datetime, datetime]]:
    """The clinician's imported busy time as availability reads it."""
    window_start = utc(2025, 1, 19)
    with ctx.db.session(write=False) as session:
        from frontdesk.domain.intervals import Interval

        busy = busy_time(session, [clinician_id], Interval(window_start, window_start + timedelta(days=days)), ctx.clock.now())
    spans: list[tuple[datetime, datetime]] = []
    for b in busy[clinician_id]:
        if b.source != EXTERNAL:
            continue
        if spans and spans[-1][1] == b.interval.start:  # a long period is kept in pieces of a day
            spans[-1] = (spans[-1][0], b.interval.end)
        else:
            spans.append((b.interval.start, b.interval.end))
    return spans


def refused(code, call, *args, **kwargs) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def slot_starts(ctx, day: str, clinician_id="cli_sarah") -> list[datetime]:
    result = query_availability(ctx, AvailabilityQuery(
        appointment_type_id="type_followup", start_date=day, end_date=day, clinician_id=clinician_id,
        location_id="loc_central", timezone="Europe/London",
    ))
    return [s.start_time.astimezone(ZoneInfo("UTC")) for s in result.slots]


# --- what becomes busy ------------------------------------------------------------------------


def test_a_weekly_rule_with_an_exdate_an_rdate_and_a_moved_occurrence(desk, tmp_path):
    weekly = event("w", datetime(2025, 1, 21, 10, tzinfo=LONDON), datetime(2025, 1, 21, 11, tzinfo=LONDON),
                   rrule={"freq": "weekly", "count": 5},
                   exdate=datetime(2025, 1, 28, 10, tzinfo=LONDON),
                   rdate=datetime(2025, 1, 30, 15, tzinfo=LONDON))
    moved = event("w", datetime(2025, 2, 4, 14, tzinfo=LONDON), datetime(2025, 2, 4, 15, 30, tzinfo=LONDON),
                  recurrence_id=datetime(2025, 2, 4, 10, tzinfo=LONDON))
    report = import_calendar(desk, "cli_sarah", calendar_file(tmp_path, weekly, moved))

    assert external(desk) == [
        (utc(2025, 1, 21, 10), utc(2025, 1, 21, 11)),
        # 28 Jan excluded; the RDATE adds 30 Jan at 15:00, as long as the others
        (utc(2025, 1, 30, 15), utc(2025, 1, 30, 16)),
        (utc(2025, 2, 4, 14), utc(2025, 2, 4, 15, 30)),  # moved from 10:00, and longer
        (utc(2025, 2, 11, 10), utc(2025, 2, 11, 11)),
        (utc(2025, 2, 18, 10), utc(2025, 2, 18, 11)),
    ]
    assert (report.events, report.busy_periods, report.skipped, report.source) == (2, 5, 0, "sarah.ics")


def test_all_day_events_take_the_clinicians_whole_local_day_and_floating_times_are_theirs(desk, tmp_path):
    # Dr. Nina Park works in New York: her day starts at 05:00Z in January.
    path = calendar_file(
        tmp_path,
        event("holiday", date(2025, 1, 22), date(2025, 1, 24)),  # two days, DTEND exclusive
        event("one-day", date(2025, 1, 27)),  # no DTEND: one day
        event("floating", datetime(2025, 1, 28, 9), datetime(2025, 1, 28, 10)),
    )
    import_calendar(desk, "cli_nina", path)
    assert external(desk, "cli_nina") == [
        (utc(2025, 1, 22, 5), utc(2025, 1, 24, 5)),
        (utc(2025, 1, 27, 5), utc(2025, 1, 28, 5)),
        (utc(2025, 1, 28, 14), utc(2025, 1, 28, 15)),
    ]


def test_a_weeks_holiday_is_busy_in_a_day_of_its_middle_and_shows_as_one_row(desk, tmp_path):
    """Kept as rows of at most a day, so a day's read is bounded on both sides; the day list
    joins them again."""
    import_calendar(desk, "cli_sarah", calendar_file(tmp_path, event("away", date(2025, 1, 27), date(2025, 2, 3))))
    assert external(desk) == [(utc(2025, 1, 27), utc(2025, 2, 3))]
    wednesday = AvailabilityQuery("type_followup", "2025-01-29", "2025-01-29", clinician_id="cli_sarah",
                                  location_id="loc_central")
    assert query_availability(desk, wednesday).slots == []
    rows = external_busy_of_day(desk, location_id="loc_central", day=date(2025, 1, 29))
    assert [(r.clinician_id, r.busy_start, r.busy_end, r.whole_day) for r in rows] == [
        ("cli_sarah", utc(2025, 1, 29), utc(2025, 1, 30), True)]
    with desk.db.engine.connect() as conn:
        longest = conn.execute(text("SELECT max(julianday(busy_end) - julianday(busy_start)) FROM external_busy")).scalar()
    assert longest <= 1


def test_an_import_and_an_import_again_move_the_desks_change_token(desk, tmp_path):
    """Every desk's day list reloads on the live-refresh tick when a calendar is imported."""
    from frontdesk.services.day_list import change_token

    before = change_token(desk)
    path = calendar_file(tmp_path, event("a", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10)),
                         event("b", utc(2025, 1, 22, 9), utc(2025, 1, 22, 10)))
    import_calendar(desk, "cli_sarah", path)
    imported = change_token(desk)
    import_calendar(desk, "cli_sarah", calendar_file(tmp_path, event("a", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10))))
    assert len({before, imported, change_token(desk)}) == 3


def test_free_and_cancelled_events_take_no_time(desk, tmp_path):
    path = calendar_file(
        tmp_path,
        event("free", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10), transp="TRANSPARENT"),
        event("off", utc(2025, 1, 21, 11), utc(2025, 1, 21, 12), status="CANCELLED"),
        event("busy", utc(2025, 1, 21, 13), utc(2025, 1, 21, 14), transp="OPAQUE", status="CONFIRMED"),
        # one occurrence of a series cancelled through its RECURRENCE-ID
        event("daily", utc(2025, 1, 22, 9), utc(2025, 1, 22, 10), rrule={"freq": "daily", "count": 2}),
        event("daily", utc(2025, 1, 23, 9), utc(2025, 1, 23, 10), recurrence_id=utc(2025, 1, 23, 9), status="CANCELLED"),
    )
    report = import_calendar(desk, "cli_sarah", path)
    assert external(desk) == [(utc(2025, 1, 21, 13), utc(2025, 1, 21, 14)), (utc(2025, 1, 22, 9), utc(2025, 1, 22, 10))]
    assert (report.busy_periods, report.skipped) == (2, 3)


def test_importing_a_source_again_frees_the_time_of_deleted_events_and_keeps_other_sources(desk, tmp_path):
    first = event("a", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10))
    second = event("b", utc(2025, 1, 22, 9), utc(2025, 1, 22, 10))
    import_calendar(desk, "cli_sarah", calendar_file(tmp_path, first, second), source="private")
    import_calendar(desk, "cli_sarah", calendar_file(tmp_path, event("c", utc(2025, 1, 23, 9), utc(2025, 1, 23, 10)),
                                                     name="team.ics"))
    assert len(external(desk)) == 3
    assert utc(2025, 1, 22, 9) not in slot_starts(desk, "2025-01-22")

    report = import_calendar(desk, "cli_sarah", calendar_file(tmp_path, first), source="private")  # b deleted
    assert report.replaced == 2
    assert external(desk) == [(utc(2025, 1, 21, 9), utc(2025, 1, 21, 10)), (utc(2025, 1, 23, 9), utc(2025, 1, 23, 10))]
    assert utc(2025, 1, 22, 9) in slot_starts(desk, "2025-01-22")


def test_availability_no_longer_offers_the_time_and_a_hold_into_it_is_refused(desk, tmp_path):
    before = slot_starts(desk, "2025-01-21")
    assert utc(2025, 1, 21, 10) in before and utc(2025, 1, 21, 10, 30) in before
    import_calendar(desk, "cli_sarah", calendar_file(tmp_path, event("x", utc(2025, 1, 21, 10), utc(2025, 1, 21, 11))))

    after = slot_starts(desk, "2025-01-21")
    # 30 minutes plus 10 of padding after: nothing from 09:20 may start until 11:00
    assert [t for t in before if not utc(2025, 1, 21, 9, 20) < t < utc(2025, 1, 21, 11)] == after
    error = refused("SLOT_UNAVAILABLE", create_hold, desk, HoldRequest(
        appointment_type_id="type_followup", clinician_id="cli_sarah", start=utc(2025, 1, 21, 10, 30),
        location_id="loc_central"))
    assert error.details["reason"] == "not_free"
    # the booking rule itself, which every writer asks, names the imported time
    with desk.db.session(write=False) as session:
        found = find_conflicts(session, desk.clock.now(), booking_of(None, utc(2025, 1, 21, 10, 30), utc(2025, 1, 21, 11, 30),
                                                                      ["cli_sarah"], []))
    assert [(c["source"], c["id"], c["busy_start"]) for c in found] == [("external", "sarah.ics", "2025-01-21T10:00:00Z")]
    # Tom is not Sarah: his time stays offered
    assert utc(2025, 1, 21, 10) in slot_starts(desk, "2025-01-21", "cli_tom")


def test_the_horizon_is_a_day_back_to_a_year_ahead(desk, tmp_path):
    endless = event("e", utc(2024, 6, 3, 9), utc(2024, 6, 3, 10), rrule={"freq": "weekly"})
    report = import_calendar(desk, "cli_sarah", calendar_file(tmp_path, endless))
    assert report.horizon_start == utc(2025, 1, 19, 8) and report.horizon_end == utc(2026, 1, 21, 8)
    assert report.busy_periods == 53  # the Mondays from 20 Jan 2025 to 19 Jan 2026


def test_the_day_list_reads_external_time_of_the_clinicians_working_there(desk, tmp_path):
    import_calendar(desk, "cli_sarah", calendar_file(tmp_path, event("x", utc(2025, 1, 21, 14), utc(2025, 1, 21, 15))))
    import_calendar(desk, "cli_nina", calendar_file(tmp_path, event("y", utc(2025, 1, 21, 14), utc(2025, 1, 21, 15)),
                                                    name="nina.ics"))
    rows = external_busy_of_day(desk, location_id="loc_central", day=date(2025, 1, 21))
    assert [(r.clinician_name, r.busy_start, r.busy_end) for r in rows] == [
        ("Dr. Sarah Johnson", utc(2025, 1, 21, 14), utc(2025, 1, 21, 15))
    ]  # Nina works remotely only, not at Central
    assert external_busy_of_day(desk, location_id="loc_central", day=date(2025, 1, 22)) == []


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    b"hello, not a calendar",
    b"",
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Someone\r\nEND:VCARD\r\n",
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2025013\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20250121T100000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    b"\xff\xfe\x00garbage",
])
def test_a_file_that_is_not_icalendar_is_refused_naming_it_and_changes_nothing(desk, tmp_path, content):
    import_calendar(desk, "cli_sarah", calendar_file(tmp_path, event("x", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10))))
    bad = tmp_path / "broken.ics"
    bad.write_bytes(content)
    error = refused("VALIDATION_ERROR", import_calendar, desk, "cli_sarah", bad, source="sarah.ics")
    assert str(bad) in error.message
    assert external(desk) == [(utc(2025, 1, 21, 9), utc(2025, 1, 21, 10))]  # the earlier import stands


def test_a_missing_file_an_unknown_clinician_and_a_bad_source_are_refused(desk, tmp_path):
    error = refused("VALIDATION_ERROR", import_calendar, desk, "cli_sarah", tmp_path / "nowhere.ics")
    assert "nowhere.ics" in error.message
    path = calendar_file(tmp_path, event("x", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10)))
    refused("NOT_FOUND", import_calendar, desk, "cli_nobody", path)
    refused("NOT_FOUND", import_calendar, desk, "res_room_1", path)  # a room keeps no calendar
    refused("VALIDATION_ERROR", import_calendar, desk, "cli_sarah", path, source="bad\x1b[31m")
    assert external(desk) == []


# --- the clinic file's calendars and --sync-external --------------------------------------------


def clinic_with_calendars(tmp_path: Path, calendars: list[dict]) -> Path:
    import json

    data = json.loads(json.dumps(CLINIC))
    data["clinicians"][0]["external_calendars"] = calendars
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(data))
    return path


def test_sync_external_imports_the_calendars_the_clinic_file_lists_relative_to_it(ctx, tmp_path):
    (tmp_path / "cals").mkdir()
    calendar_file(tmp_path / "cals", event("x", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10)), name="home.ics")
    clinic = clinic_with_calendars(tmp_path, [{"file": "cals/home.ics", "source": "home"}])
    load_clinic_file(ctx, clinic)
    assert external(ctx) == []  # loading lists them; syncing reads them

    reports = sync_external(ctx)
    assert [(r.clinician_id, r.source, r.busy_periods) for r in reports] == [("cli_sarah", "home", 1)]
    assert external(ctx) == [(utc(2025, 1, 21, 9), utc(2025, 1, 21, 10))]

    # the calendar changes: syncing again follows it
    calendar_file(tmp_path / "cals", event("y", utc(2025, 1, 22, 9), utc(2025, 1, 22, 10)), name="home.ics")
    sync_external(ctx, ["cli_sarah"])
    assert external(ctx) == [(utc(2025, 1, 22, 9), utc(2025, 1, 22, 10))]
    assert sync_external(ctx, ["cli_tom"]) == []


def test_sync_external_with_a_missing_file_names_it_and_changes_nothing(ctx, tmp_path):
    calendar_file(tmp_path, event("x", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10)), name="home.ics")
    clinic = clinic_with_calendars(tmp_path, [{"file": "home.ics"}, {"file": "gone.ics", "source": "gone"}])
    load_clinic_file(ctx, clinic)
    error = refused("VALIDATION_ERROR", sync_external, ctx)
    assert str(tmp_path / "gone.ics") in error.message
    assert external(ctx) == []


@pytest.mark.parametrize("calendars, problem", [
    ("home.ics", "clinicians[0].external_calendars"),
    ([{"source": "x"}], "clinicians[0].external_calendars[0].file: is missing"),
    ([{"file": "a.ics", "url": "https://example.com"}], "clinicians[0].external_calendars[0].url: unknown key"),
    ([{"file": "a.ics"}, {"file": "b.ics", "source": "a.ics"}], "a.ics"),
])
def test_bad_external_calendars_in_the_clinic_file_are_refused(ctx, calendars, problem):
    import json

    data = json.loads(json.dumps(CLINIC))
    data["clinicians"][0]["external_calendars"] = calendars
    error = refused("VALIDATION_ERROR", load_clinic_data, ctx, data, source="clinic.toml")
    assert problem in str(error.to_dict())


# --- files as calendar programs write them --------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    # Google Calendar: UTC times, a weekly rule with an EXDATE, a moved occurrence, an all-day event
    ("google.ics", [
        (utc(2025, 1, 21, 9), utc(2025, 1, 21, 10)),
        (utc(2025, 1, 24, 0), utc(2025, 1, 25, 0)),  # all day in London
        (utc(2025, 2, 4, 9), utc(2025, 2, 4, 10)),
        (utc(2025, 2, 12, 13), utc(2025, 2, 12, 14)),  # 11 Feb moved to the 12th, 13:00
    ]),
    # Outlook / Exchange: Windows zone names with their VTIMEZONE, a free event, a cancelled one
    ("outlook.ics", [
        (utc(2025, 1, 22, 8), utc(2025, 1, 22, 9)),  # 09:00 W. Europe Standard Time (CET)
        (utc(2025, 1, 29, 8), utc(2025, 1, 29, 9)),
        (utc(2025, 1, 30, 14), utc(2025, 1, 30, 15, 30)),  # 09:00 Eastern Standard Time
    ]),
    # Apple Calendar: TZID=Europe/London with its VTIMEZONE, a DURATION, an RDATE
    ("apple.ics", [
        (utc(2025, 1, 27, 16), utc(2025, 1, 27, 16, 45)),
        (utc(2025, 1, 31, 16), utc(2025, 1, 31, 16, 45)),
        (utc(2025, 2, 3, 16), utc(2025, 2, 3, 16, 45)),
    ]),
])
def test_files_from_common_calendar_programs(desk, name, expected):
    import_calendar(desk, "cli_sarah", DATA / name)
    assert external(desk) == expected


# --- the command line -------------------------------------------------------------------------------


def test_the_command_line_imports_and_availability_syncs_first(tmp_path, capsys):
    import json

    from frontdesk.cli.main import main

    def run(*argv: str) -> tuple[int, dict]:
        code = main([*argv, "--db", str(tmp_path / "cli.db"), "--now", "2025-01-20T08:00:00Z"])
        return code, json.loads(capsys.readouterr().out)

    home = calendar_file(tmp_path, event("x", utc(2025, 1, 21, 9), utc(2025, 1, 21, 10)), name="home.ics")
    assert run("load", str(clinic_with_calendars(tmp_path, [{"file": "home.ics"}])))[0] == 0
    ask = ("availability", "--appointment-type", "type_followup", "--start-date", "2025-01-21", "--end-date", "2025-01-21",
           "--clinician", "cli_sarah", "--location", "loc_central")
    starts = [s["start_time"] for s in run(*ask)[1]["data"]]
    assert "2025-01-21T09:00:00Z" in starts
    synced = [s["start_time"] for s in run(*ask, "--sync-external")[1]["data"]]
    assert "2025-01-21T09:00:00Z" not in synced and "2025-01-21T10:00:00Z" in synced

    code, doc = run("calendars", "import", str(DATA / "outlook.ics"), "--clinician", "cli_tom", "--source", "work")
    assert code == 0 and doc["data"]["source"] == "work" and doc["data"]["busy_periods"] == 3

    home.write_text("not a calendar")
    code, doc = run(*ask, "--sync-external")
    assert code != 0 and doc["error"]["code"] == "VALIDATION_ERROR" and str(home) in doc["error"]["message"]
    code, doc = run("calendars", "import", str(DATA / "apple.ics"), "--clinician", "cli_ghost")
    assert code != 0 and doc["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("name", ["google.ics", "outlook.ics", "apple.ics"])
def test_the_quick_expansion_finds_what_the_librarys_public_one_does(name):
    """services/calendars reads each series' occurrences without copying its event; the
    library's public CalendarQuery.between must agree, occurrence for occurrence."""
    import recurring_ical_events

    from frontdesk.services.calendars import _end, _occurrences

    cal = icalendar.Calendar.from_ical((DATA / name).read_bytes())
    low, high = utc(2025, 1, 1), utc(2026, 1, 1)
    quick = sorted((str(s), str(e), str(ev.get("STATUS")), str(ev.get("TRANSP"))) for s, e, ev in _occurrences(cal, low, high))
    public = sorted((str(ev["DTSTART"].dt), str(_end(ev)), str(ev.get("STATUS")), str(ev.get("TRANSP")))
                    for ev in recurring_ical_events.of(cal, components=["VEVENT"]).between(low, high))
    assert quick == public and len(quick) >= 3
