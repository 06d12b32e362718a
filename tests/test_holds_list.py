"""Holds in sight: `list_holds` and `holds list` show the holds in force (or in a status),
soonest to expire first, with desk and operator, paged; any desk can release them.

The service tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from booking_clinic import load
from test_holds import NINE, ask, db, desk, refused  # noqa: F401  (fixtures)

from frontdesk.cli.main import main
from frontdesk.services.context import Context
from frontdesk.services.holds import (
    confirm_hold,
    create_hold,
    get_hold,
    list_holds,
    release_hold,
)
from frontdesk.services.objects import ConfirmRequest, HoldFilter

HOUR = timedelta(hours=1)


@pytest.fixture
def other_desk(desk):
    """Another terminal and operator on the same database, with the same clock."""
    ctx = Context.open(str(desk.db.url), clock=desk.clock, operator="frontline")
    ctx.desk = "host-b:pts/7"
    yield ctx
    ctx.db.dispose()


def ids(page) -> list[str]:
    return [hold.id for hold in page.items]


def test_the_holds_in_force_soonest_to_expire_first_with_desk_and_operator(desk, other_desk):
    first = create_hold(desk, ask())
    desk.clock.advance(minutes=2)
    second = create_hold(other_desk, ask(start=NINE + HOUR))
    desk.clock.advance(minutes=1)
    confirmed = create_hold(desk, ask(start=NINE + 2 * HOUR))
    confirm_hold(desk, confirmed.id, ConfirmRequest(patient_id="pat_john_smith"))
    released = create_hold(desk, ask(start=NINE + 5 * HOUR))  # after lunch
    release_hold(desk, released.id)

    page = list_holds(desk, HoldFilter())
    assert ids(page) == [first.id, second.id]
    shown = page.items[1]
    assert (shown.status, shown.created_by, shown.desk) == ("active", "frontline", "host-b:pts/7")
    assert (shown.clinician_id, shown.appointment_type_id, shown.start_time) == ("cli_sarah", "type_followup", NINE + HOUR)
    assert shown.resource_ids == ["cli_sarah", "res_room_1"]
    assert shown.expires_at == desk.clock.now() - timedelta(minutes=1) + timedelta(minutes=15)
    assert (page.limit, page.offset, page.next_offset, page.has_more) == (20, 0, None, False)
    assert list_holds(desk, HoldFilter(status="active")) == page

    # The clock, not a stored state, decides: once the first lapses it is no longer in force.
    desk.clock.set(first.expires_at)
    assert ids(list_holds(desk, HoldFilter())) == [second.id]
    assert ids(list_holds(desk, HoldFilter(status="expired"))) == [first.id]
    assert list_holds(desk, HoldFilter(status="expired")).items[0].status == "expired"
    assert ids(list_holds(desk, HoldFilter(status="confirmed"))) == [confirmed.id]
    assert list_holds(desk, HoldFilter(status="confirmed")).items[0].appointment_id is not None
    assert ids(list_holds(desk, HoldFilter(status="released"))) == [released.id]


def test_holds_by_the_operator_who_made_them(desk, other_desk):
    mine = create_hold(desk, ask())
    theirs = create_hold(other_desk, ask(start=NINE + HOUR))
    assert ids(list_holds(desk, HoldFilter(created_by="reception"))) == [mine.id]
    assert ids(list_holds(desk, HoldFilter(created_by=" frontline "))) == [theirs.id]
    assert list_holds(desk, HoldFilter(created_by="nobody")).items == []


def test_holds_are_paged(desk):
    made = []
    for hour in (0, 1, 2, 5):  # lunch is 12:30-13:15
        made.append(create_hold(desk, ask(start=NINE + hour * HOUR)).id)
        desk.clock.advance(seconds=10)
    first = list_holds(desk, HoldFilter(limit=3))
    assert (ids(first), first.next_offset, first.has_more) == (made[:3], 3, True)
    rest = list_holds(desk, HoldFilter(limit=3, offset=first.next_offset))
    assert (ids(rest), rest.offset, rest.next_offset, rest.has_more) == (made[3:], 3, None, False)
    assert list_holds(desk, HoldFilter(limit=3, offset=10)).items == []


@pytest.mark.parametrize(
    "query",
    [
        HoldFilter(status="bogus"),
        HoldFilter(status=""),
        HoldFilter(status="ACTIVE"),
        HoldFilter(limit=0),
        HoldFilter(limit=101),
        HoldFilter(offset=-1),
        HoldFilter(offset=2**63),
        HoldFilter(created_by=""),
        HoldFilter(created_by="  "),
        HoldFilter(created_by="desk\x1b[31m"),
        HoldFilter(created_by="x" * 101),
    ],
)
def test_malformed_filters_are_refused(desk, query):
    create_hold(desk, ask())
    refused("VALIDATION_ERROR", list_holds, desk, query)


def test_any_desk_can_release_a_hold_and_its_time_is_free_again(desk, other_desk):
    hold = create_hold(desk, ask())
    refused("SLOT_UNAVAILABLE", create_hold, other_desk, ask())
    (seen,) = list_holds(other_desk, HoldFilter()).items
    assert release_hold(other_desk, seen.id).status == "released"
    assert list_holds(desk, HoldFilter()).items == []
    assert get_hold(desk, hold.id).status == "released"
    assert create_hold(other_desk, ask()).created_by == "frontline"


# --- the command line --------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def cli_db(tmp_path, clock):
    path = tmp_path / "cli.db"
    ctx = Context.open(f"sqlite:///{path}", clock=clock, operator="reception")
    load(ctx)
    ctx.db.dispose()
    return str(path)


def hold_by_cli(capsys, db: str, operator: str, start: str, now: str) -> dict:
    code, doc = run(capsys, "holds", "create", "--db", db, "--now", now, "--operator", operator,
                    "--appointment-type", "type_followup", "--clinician", "cli_sarah", "--location", "loc_central",
                    "--start", start)
    assert code == 0, doc
    return doc["data"]


def test_holds_list_on_the_command_line(capsys, cli_db):
    b = hold_by_cli(capsys, cli_db, "bob", "2025-01-20T10:00:00Z", now="2025-01-20T08:01:00Z")
    a = hold_by_cli(capsys, cli_db, "alice", "2025-01-20T09:00:00Z", now="2025-01-20T08:00:00Z")
    now = ("--db", cli_db, "--now", "2025-01-20T08:05:00Z")

    code, doc = run(capsys, "holds", "list", *now)
    assert code == 0, doc
    assert [h["id"] for h in doc["data"]] == [a["id"], b["id"]]
    assert doc["data"][0]["created_by"] == "alice" and doc["data"][0]["desk"]
    assert doc["data"][0]["expires_at"].startswith("2025-01-20T08:15:00")  # --now starts a clock that runs on
    assert {k: doc["meta"][k] for k in ("limit", "next_offset", "has_more")} == {"limit": 20, "next_offset": None, "has_more": False}

    code, doc = run(capsys, "holds", "list", "--limit", "1", *now)
    assert ([h["id"] for h in doc["data"]], doc["meta"]["next_offset"], doc["meta"]["has_more"]) == ([a["id"]], 1, True)
    code, doc = run(capsys, "holds", "list", "--limit", "1", "--offset", "1", *now)
    assert ([h["id"] for h in doc["data"]], doc["meta"]["has_more"]) == ([b["id"]], False)
    code, doc = run(capsys, "holds", "list", "--created-by", "bob", *now)
    assert [h["id"] for h in doc["data"]] == [b["id"]]

    code, doc = run(capsys, "holds", "release", b["id"], "--db", cli_db, "--now", "2025-01-20T08:05:00Z", "--operator", "carol")
    assert code == 0, doc
    code, doc = run(capsys, "holds", "list", "--status", "released", *now)
    assert [h["id"] for h in doc["data"]] == [b["id"]]
    code, doc = run(capsys, "holds", "list", "--db", cli_db, "--now", "2025-01-20T08:15:30Z")
    assert doc["data"] == []
    code, doc = run(capsys, "holds", "list", "--status", "expired", "--db", cli_db, "--now", "2025-01-20T08:15:30Z")
    assert [h["id"] for h in doc["data"]] == [a["id"]]


@pytest.mark.parametrize(
    "argv, exit_code",
    [
        (["--status", "bogus"], 2),  # not one of the choices: the line does not parse
        (["--limit", "0"], 1),
        (["--limit", "many"], 2),
        (["--offset", "-1"], 1),
        (["--created-by", " "], 1),
        (["--created-by=--"], 0),  # a name like any other: matches nobody
    ],
)
def test_bad_holds_list_lines_are_refused_plainly(capsys, cli_db, argv, exit_code):
    code, doc = run(capsys, "holds", "list", "--db", cli_db, *argv)
    assert code == exit_code, doc
    if exit_code:
        assert doc["data"] is None and doc["error"]["code"] == "VALIDATION_ERROR"
    else:
        assert doc["data"] == []
