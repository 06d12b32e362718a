"""The `frontdesk` command: envelope, exit codes, and global options anywhere on the line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from frontdesk.cli.main import main

CLINIC = {
    "clinic": {"name": "Test Clinic", "hold_minutes": 15},
    "locations": [{"id": "loc_a", "name": "Site A", "timezone": "Europe/London"}],
    "clinicians": [{"id": "cli_a", "name": "Dr A"}],
    "appointment_types": [
        {
            "id": "type_f",
            "name": "Follow-up",
            "duration_minutes": 30,
            "clinician_ids": ["cli_a"],
            "location_ids": ["loc_a"],
        }
    ],
    "schedules": [
        {"clinician_id": "cli_a", "location_id": "loc_a", "days": ["mon", "tue", "wed", "thu", "fri"],
         "start": "09:00", "end": "12:00"}
    ],
    "patients": [{"id": "pat_1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}],
}
NOW = "2025-01-20T08:00:00Z"  # a Monday


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.fixture
def db(tmp_path, capsys) -> str:
    path = tmp_path / "cli.db"
    clinic = tmp_path / "clinic.json"
    clinic.write_text(json.dumps(CLINIC))
    code, doc = run(capsys, "load", str(clinic), "--db", str(path))
    assert code == 0, doc
    return str(path)


def test_success_envelope_has_data_and_a_request_id(capsys, db):
    code, doc = run(capsys, "patients", "get", "pat_1", "--db", db)
    assert code == 0
    assert doc["data"]["last_name"] == "Lovelace"
    assert doc["meta"]["request_id"].startswith("req_")
    assert "error" not in doc


def test_not_found_prints_the_error_envelope_and_exits_1(capsys, db):
    code, doc = run(capsys, "appointments", "get", "apt_missing", "--db", db)
    assert code == 1
    assert doc["data"] is None
    assert doc["error"]["code"] == "NOT_FOUND"
    assert doc["error"]["message"]
    assert doc["meta"]["request_id"].startswith("req_")


def test_an_unknown_id_on_a_database_with_no_clinic_says_none_is_loaded(capsys, db, tmp_path):
    code, doc = run(capsys, "holds", "create", "--appointment-type", "type_follow_up", "--clinician", "cli_a",
                    "--start", "2025-01-20T09:00:00Z", "--db", str(tmp_path / "empty.db"))
    assert code == 1 and doc["error"]["code"] == "NOT_FOUND"
    assert "no clinic in it yet: load one with `frontdesk load FILE`" in doc["error"]["message"]
    assert doc["error"]["details"]["clinic_loaded"] is False
    code, doc = run(capsys, "appointments", "get", "apt_missing", "--db", db)  # a loaded clinic: no such hint
    assert "no clinic" not in doc["error"]["message"] and "clinic_loaded" not in doc["error"]["details"]


def test_a_command_line_that_does_not_parse_exits_2_with_an_envelope(capsys):
    code, doc = run(capsys, "appointments", "list", "--limit", "many")
    assert code == 2
    assert doc["error"]["code"] == "VALIDATION_ERROR"


def test_global_options_work_before_and_after_the_subcommand(capsys, db):
    args = ["--title", "Check", "--start-time", "2025-01-21T10:00:00Z", "--end-time", "2025-01-21T10:30:00Z",
            "--clinician", "cli_a"]
    code, before = run(capsys, "--db", db, "--operator", "alice", "--now", NOW, "appointments", "create", *args)
    assert code == 0, before
    args[3], args[5] = "2025-01-22T10:00:00Z", "2025-01-22T10:30:00Z"
    code, after = run(capsys, "appointments", "create", *args, "--db", db, "--operator", "bob", "--now", NOW)
    assert code == 0, after
    assert before["data"]["status_history"][0]["changed_by"] == "alice"
    assert after["data"]["status_history"][0]["changed_by"] == "bob"
    assert before["data"]["created_at"].startswith("2025-01-20T08:00")


def test_list_meta_has_paging_fields(capsys, db):
    for day in (21, 22, 23):
        code, _ = run(capsys, "appointments", "create", "--title", "T", "--db", db, "--now", NOW,
                      "--start-time", f"2025-01-{day}T10:00:00Z", "--end-time", f"2025-01-{day}T10:30:00Z")
        assert code == 0
    code, doc = run(capsys, "appointments", "list", "--limit", "2", "--db", db)
    assert code == 0
    assert [a["start_time"][:10] for a in doc["data"]] == ["2025-01-21", "2025-01-22"]
    assert doc["meta"]["limit"] == 2 and doc["meta"]["has_more"] is True and doc["meta"]["next_offset"] == 2


def test_cancel_meta_names_the_action_when_and_who(capsys, db):
    code, created = run(capsys, "appointments", "create", "--title", "T", "--db", db, "--now", NOW,
                        "--start-time", "2025-01-21T10:00:00Z", "--end-time", "2025-01-21T10:30:00Z")
    code, doc = run(capsys, "appointments", "cancel", created["data"]["id"], "--reason", "Patient request",
                    "--db", db, "--now", NOW, "--operator", "carol")
    assert code == 0, doc
    assert doc["data"]["status"] == "cancelled"
    assert doc["data"]["cancellation_reason"] == "Patient request"
    assert doc["meta"]["action"] == "cancelled"
    assert doc["meta"]["performed_by"] == "carol"
    assert doc["meta"]["performed_at"].startswith("2025-01-20T08:00")


def test_availability_answers_slots_and_every_day(capsys, db):
    code, doc = run(capsys, "availability", "--appointment-type", "type_f", "--start-date", "2025-01-20",
                    "--end-date", "2025-01-21", "--timezone", "Europe/London", "--db", db, "--now", NOW)
    assert code == 0, doc
    assert list(doc["days"]) == ["2025-01-20", "2025-01-21"]
    assert doc["data"][0]["start_time"] == "2025-01-20T09:00:00+00:00"
    assert doc["data"][0]["clinician_id"] == "cli_a"
    assert len(doc["days"]["2025-01-20"]) == 6


def test_a_bad_now_is_a_validation_error(capsys, db):
    code, doc = run(capsys, "patients", "get", "pat_1", "--db", db, "--now", "yesterday")
    assert code == 1
    assert doc["error"]["code"] == "VALIDATION_ERROR"


def test_environment_variables_set_database_and_operator(capsys, db, monkeypatch):
    monkeypatch.setenv("FRONTDESK_DB", db)
    monkeypatch.setenv("FRONTDESK_OPERATOR", "dana")
    monkeypatch.setenv("FRONTDESK_NOW", NOW)
    code, doc = run(capsys, "appointments", "create", "--title", "T",
                    "--start-time", "2025-01-21T10:00:00Z", "--end-time", "2025-01-21T10:30:00Z")
    assert code == 0, doc
    assert doc["data"]["status_history"][0]["changed_by"] == "dana"
    assert doc["data"]["created_at"].startswith("2025-01-20T08:00")


def test_the_installed_command_runs_as_a_process(db):
    result = subprocess.run(
        [sys.executable, "-m", "frontdesk", "patients", "search", "ada", "--db", db],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert [p["id"] for p in json.loads(result.stdout)["data"]] == ["pat_1"]
    assert result.stderr == ""


def test_update_moves_a_time_only_over_busy_time_with_a_reason(capsys, db):
    def create(day: int) -> str:
        code, doc = run(capsys, "appointments", "create", "--title", "T", "--clinician", "cli_a", "--db", db,
                        "--now", NOW, "--start-time", f"2025-01-{day}T10:00:00Z", "--end-time", f"2025-01-{day}T10:30:00Z")
        assert code == 0, doc
        return doc["data"]["id"]

    create(21)
    moving = create(22)
    move = ["appointments", "update", moving, "--start-time", "2025-01-21T10:15:00Z",
            "--end-time", "2025-01-21T10:45:00Z", "--db", db, "--now", NOW]
    code, doc = run(capsys, *move)
    assert code == 1 and doc["error"]["code"] == "SLOT_UNAVAILABLE"
    code, doc = run(capsys, *move, "--allow-overlap", "Double-booked on purpose: interpreter present")
    assert code == 0, doc
    assert doc["data"]["start_time"] == "2025-01-21T10:15:00Z"
    assert doc["data"]["overlap_reason"] == "Double-booked on purpose: interpreter present"
    assert {c["field"] for c in doc["data"]["change_log"]} >= {"start_time", "end_time"}


def test_update_refuses_a_status_change(capsys, db):
    code, created = run(capsys, "appointments", "create", "--title", "T", "--db", db, "--now", NOW,
                        "--start-time", "2025-01-21T10:00:00Z", "--end-time", "2025-01-21T10:30:00Z")
    code, doc = run(capsys, "appointments", "update", created["data"]["id"], "--status", "completed", "--db", db)
    assert code == 1 and doc["error"]["code"] == "VALIDATION_ERROR"
    code, doc = run(capsys, "appointments", "get", created["data"]["id"], "--db", db)
    assert doc["data"]["status"] == "pending"


def test_availability_text_is_the_plain_conversion_of_its_slots():
    # A slot is in the flat list and in its day, converted once and shared: both read as plain.
    import dataclasses
    from datetime import UTC, date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from frontdesk.cli.envelope import dumps, success
    from frontdesk.services.objects import AvailabilityResult, Slot

    def to_jsonable(value):
        """The plain conversion, written out here independently of the product's writer."""
        if isinstance(value, datetime):
            text = value.isoformat()
            return text.replace("+00:00", "Z") if value.tzinfo is UTC else text
        if isinstance(value, date):
            return value.isoformat()
        if dataclasses.is_dataclass(value):
            return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {k: to_jsonable(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [to_jsonable(v) for v in value]
        return value

    london = ZoneInfo("Europe/London")
    nine = datetime(2025, 3, 29, 9, tzinfo=london)
    slots = [
        Slot(nine + timedelta(days=d, minutes=m), nine + timedelta(days=d, minutes=m + 30), cid, name, "loc_a",
             'Site "A" – Zoë', False, [cid or "cli_a", "cli_b"])
        for d in (0, 2) for m, cid, name in ((0, "cli_a", "Dr A"), (30, None, None))
    ]
    days = {"2025-03-29": slots[:2], "2025-03-30": [], "2025-03-31": slots[2:]}
    result = AvailabilityResult(slots=slots, days=days, timezone="Europe/London")
    doc = json.loads(dumps(success(result)))
    assert doc["data"] == to_jsonable(slots)
    assert doc["days"] == to_jsonable(days)
    assert doc["data"][2]["start_time"] == "2025-03-31T09:00:00+01:00"
    odd_days = {"2025-03-31": slots[2:], "2025-03-29": slots[:2]}  # not the flat list cut in order
    doc = json.loads(dumps(success(AvailabilityResult(slots=slots, days=odd_days, timezone="Europe/London"))))
    assert doc["data"] == to_jsonable(slots)
    assert doc["days"] == to_jsonable(odd_days)
    utc_slot = Slot(datetime(2025, 1, 20, 9, tzinfo=UTC), datetime(2025, 1, 20, 9, 30, tzinfo=UTC), None, None,
                    None, None, True, ["cli_a"])
    doc = json.loads(dumps(success(AvailabilityResult([utc_slot], {"2025-01-20": [utc_slot]}, "UTC"))))
    assert doc["days"]["2025-01-20"][0]["start_time"] == "2025-01-20T09:00:00Z"


def test_availability_in_utc_is_written_as_any_answer_is():
    # Asked in UTC, availability's instants are written by orjson itself: the same text as
    # through `_instant`; a zone at +00:00 that is not UTC still keeps its offset.
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from frontdesk.cli.envelope import answer_json, dumps, success
    from frontdesk.services.objects import AvailabilityResult, Slot

    def result(zone, name):
        start = datetime(2025, 1, 20, 9, 5, 30, 250, tzinfo=zone)
        slots = [Slot(start + timedelta(minutes=m), start + timedelta(minutes=m + 30), "cli_a", "Dr A", "loc_a",
                      "Site A", False, ["cli_a"]) for m in (0, 30)]
        return AvailabilityResult(slots=slots, days={"2025-01-20": slots}, timezone=name)

    def without_request_id(text):
        doc = json.loads(text)
        doc["meta"].pop("request_id")
        return doc

    in_utc = result(UTC, "UTC")
    assert without_request_id(answer_json(in_utc)) == without_request_id(dumps(success(in_utc)))
    assert json.loads(answer_json(in_utc))["data"][0]["start_time"] == "2025-01-20T09:05:30.000250Z"
    london = result(ZoneInfo("Europe/London"), "Europe/London")
    assert json.loads(answer_json(london))["data"][0]["start_time"] == "2025-01-20T09:05:30.000250+00:00"


def test_availability_text_keeps_both_times_of_a_repeated_hour():
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from frontdesk.cli.envelope import dumps, success
    from frontdesk.services.objects import AvailabilityResult, Slot

    london = ZoneInfo("Europe/London")
    first = datetime(2025, 10, 26, 1, 30, tzinfo=london)  # BST; the clocks go back at 02:00
    second = first.replace(fold=1)  # the same wall time an hour later, GMT
    slots = [Slot(at, at + timedelta(minutes=15), "cli_a", "Dr A", "loc_a", "A", False, ["cli_a"])
             for at in (first, second)]
    doc = json.loads(dumps(success(AvailabilityResult(slots, {"2025-10-26": slots}, "Europe/London"))))
    assert [s["start_time"] for s in doc["data"]] == ["2025-10-26T01:30:00+01:00", "2025-10-26T01:30:00+00:00"]


def test_a_database_url_without_its_driver_is_a_plain_refusal(capsys):
    code, doc = run(capsys, "patients", "get", "pat_1", "--db", "mysql://nobody@localhost/x")
    assert code == 1
    assert doc["error"]["code"] == "VALIDATION_ERROR"
    assert "driver" in doc["error"]["message"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stdout", [io.StringIO, _Terminal], ids=["script", "terminal"])
def test_stored_text_a_terminal_would_act_on_is_written_escaped(monkeypatch, stdout):
    # Data written by something else can hold DEL, C1 controls (U+009B acts as ESC [) and
    # lone surrogates; the JSON must neither send them raw nor fail to print.
    from frontdesk.cli.envelope import dumps, success

    name = "Zoë \x1b[31m\x7f\x9b2J \ud83d"
    monkeypatch.setattr(sys, "stdout", stdout())
    text = dumps(success({"name": name}))
    assert not any(c in text for c in "\x1b\x7f\x9b\ud83d")
    assert "\\u007f" in text and "\\u009b" in text and "\\ud83d" in text
    text.encode("utf-8")  # prints on any UTF-8 terminal or pipe
    assert json.loads(text)["data"]["name"] == name  # the same text to a reader
    assert "Zoë" in text  # other text stays readable, not \u-escaped
    assert ("\n  " in text) is (stdout is _Terminal)  # indented for a person, compact for a script


def test_the_demo_run_when_the_clinic_is_quiet_starts_its_clock_on_a_working_morning(capsys, tmp_path, monkeypatch):
    from frontdesk.clock import SystemClock

    monkeypatch.delenv("FRONTDESK_NOW", raising=False)
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2026, 11, 29, 22, 55, tzinfo=UTC))  # a Sunday night
    code, doc = run(capsys, "demo", "--no-ui", "--db", str(tmp_path / "demo.db"))
    assert code == 0, doc
    assert doc["data"]["now"].startswith("2026-11-30T10:20")
    assert "quiet at this hour" in doc["data"]["note"] and "Mon 30 Nov at 10:20" in doc["data"]["note"]
    # --now is taken as given, closed or not
    code, doc = run(capsys, "demo", "--no-ui", "--db", str(tmp_path / "other.db"), "--now", "2026-11-29T22:55:00Z")
    assert doc["data"]["now"].startswith("2026-11-29T22:55") and doc["data"]["note"] is None


def test_a_command_called_in_process_leaves_the_collector_on(tmp_path, capsys):
    # The program's own JSON process turns the cycle collector off (it ends once it has
    # answered); code that calls main() in-process, as these tests do, keeps it.
    import gc

    from pathlib import Path

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "clinic.toml"
    assert main(["--db", str(tmp_path / "c.db"), "load", str(sample)]) == 0
    assert gc.isenabled()
