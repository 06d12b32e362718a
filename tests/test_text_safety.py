"""No control sequences (booking.md, "Integrity"): text with control characters is refused at
every entrance, domain rule, command line and clinic file; the UI's side is in test_tui.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_cli import CLINIC, NOW, run
from test_cli import db as db  # noqa: F401  (fixture)

from frontdesk.domain import appointments as rules
from frontdesk.domain.errors import VALIDATION_ERROR, FrontdeskError
from frontdesk.domain.text import check_operator, check_text, refused_character
from frontdesk.services.context import Context
from frontdesk.tui import forms

TERMINAL_ATTACK = "\x1b[31mRed\x1b]0;pwned\x1b\\"  # recolour the screen, retitle the window

# --- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("\x1b[31mRed", "ESC"),
        ("Ring\x07", "BEL"),
        ("Nul\x00l", "NUL"),
        ("back\x08space", "BS"),
        ("over\rwrite", "CR"),
        ("del\x7f", "DEL"),
        ("csi\x9b31m", "U+009B"),
        ("n\x85el", "U+0085"),
        ("lone \ud83d surrogate", "U+D83D"),
    ],
)
def test_control_characters_are_refused_naming_the_field_and_the_character(text, name):
    with pytest.raises(FrontdeskError) as caught:
        check_text(text, "last_name", max_len=100)
    error = caught.value
    assert error.code == VALIDATION_ERROR
    assert error.details["field"] == "last_name"
    assert error.details["character"] == name
    assert error.message.startswith("Last name ")
    assert name in error.message and "remove" in error.message


def test_the_message_is_in_the_desks_words():
    with pytest.raises(FrontdeskError) as caught:
        check_text("\x1bRed", "last_name", max_len=100)
    assert caught.value.message == "Last name contains a control character (ESC); remove it"


def test_ordinary_text_passes_trimmed():
    assert check_text("  Zoë Ó'Brien-Łukasz 李\tjr  ", "last_name", max_len=100) == "Zoë Ó'Brien-Łukasz 李\tjr"
    assert check_text("[bold]markup[/]", "title", max_len=200) == "[bold]markup[/]"  # shown literally, not refused
    assert check_text("  ", "attendee_name", max_len=200) is None
    assert check_text("Smith\n", "last_name", max_len=100) == "Smith"  # a stray newline at the end is trimmed
    assert check_text("line one\nline two", "description", max_len=100, multiline=True) == "line one\nline two"


def test_newline_only_where_several_lines_are_allowed():
    assert refused_character("a\nb") == "\n"
    with pytest.raises(FrontdeskError, match="^Title must be one line; remove the line break$"):
        check_text("two\nlines", "title", max_len=200)
    assert refused_character("a\nb", multiline=True) is None
    assert refused_character("a\r\nb", multiline=True) == "\r"
    assert refused_character("a\x1bb", multiline=True) == "\x1b"


def test_length_and_required_still_checked():
    with pytest.raises(FrontdeskError, match="longer than 100"):
        check_text("x" * 101, "first_name", max_len=100)
    with pytest.raises(FrontdeskError, match="First name is required"):
        check_text(" ", "first_name", max_len=100, required=True)
    with pytest.raises(FrontdeskError, match="must be text"):
        check_text(42, "title", max_len=200)


def test_every_field_rule_uses_it():
    checks = {
        "first_name": lambda v: rules.check_name(v, "first_name"),
        "title": rules.check_title,
        "description": rules.check_description,
        "attendee_name": rules.check_attendee_name,
        "attendee_email": lambda v: rules.check_email("a" + v + "@example.com", "attendee_email"),
        "reason": rules.check_cancellation_reason,
        "allow_overlap_reason": rules.check_overlap_reason,
        "episode_id": rules.check_episode_id,
        "operator": check_operator,
    }
    for field, check in checks.items():
        with pytest.raises(FrontdeskError) as caught:
            check("x\x1by")
        assert (caught.value.code, caught.value.details["field"]) == (VALIDATION_ERROR, field), field
    # notes and reasons may hold line breaks, names and titles may not
    assert rules.check_description("a\nb") == "a\nb"
    assert rules.check_cancellation_reason("a\nb") == "a\nb"
    with pytest.raises(FrontdeskError):
        rules.check_title("a\nb")
    with pytest.raises(FrontdeskError, match="reason"):
        rules.check_overlap_reason("  ")  # asking for an overlap still needs a reason


def test_the_forms_say_the_same_beside_the_field():
    assert forms.check_text("\x1b[31mRed", "last_name") == "Last name contains a control character (ESC); remove it."
    assert forms.check_text("line\nbreak", "description", multiline=True) is None
    assert "control character (ESC)" in forms.check_email("a\x1b@example.com")
    problems = forms.check_new_patient({"first_name": "Zoe", "last_name": TERMINAL_ATTACK}, today=None)
    assert problems == {"last_name": "Last name contains a control character (ESC); remove it."}


# --- the command line ---------------------------------------------------------------------


def _hold(capsys, db) -> str:
    code, doc = run(
        capsys, "holds", "create", "--appointment-type", "type_f", "--clinician", "cli_a",
        "--date", "2025-01-20", "--start-time", "10:00", "--now", NOW, "--db", db,
    )
    assert code == 0, doc
    return doc["data"]["id"]


def _refused(code: int, doc: dict, field: str) -> None:
    assert code == 1, doc
    assert doc["error"]["code"] == VALIDATION_ERROR
    assert doc["error"]["details"]["field"] == field, doc


def test_confirm_with_a_terminal_attack_in_the_last_name_writes_nothing(capsys, db):
    hold_id = _hold(capsys, db)
    code, doc = run(
        capsys, "holds", "confirm", hold_id, "--new-patient-first-name", "Eve",
        "--new-patient-last-name", TERMINAL_ATTACK, "--now", NOW, "--db", db,
    )
    _refused(code, doc, "last_name")
    assert doc["error"]["message"] == "Last name contains a control character (ESC); remove it"
    assert "\x1b" not in json.dumps(doc, ensure_ascii=False)  # the refusal does not echo it either
    _, patients = run(capsys, "patients", "search", "", "--db", db)
    assert [p["last_name"] for p in patients["data"]] == ["Lovelace"]
    _, listed = run(capsys, "appointments", "list", "--db", db)
    assert listed["data"] == []
    _, hold = run(capsys, "holds", "get", hold_id, "--now", NOW, "--db", db)
    assert hold["data"]["status"] == "active"


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--new-patient-first-name", "Eve\x07", "first_name"),
        ("--attendee-name", "Eve \x9b31m", "attendee_name"),
        ("--attendee-email", "eve\x1b@example.com", "attendee_email"),
    ],
)
def test_confirm_refuses_control_characters_in_every_text(capsys, db, flag, value, field):
    hold_id = _hold(capsys, db)
    args = {"--new-patient-first-name": "Eve", "--new-patient-last-name": "Adams", flag: value}
    code, doc = run(capsys, "holds", "confirm", hold_id, *[x for kv in args.items() for x in kv], "--now", NOW, "--db", db)
    _refused(code, doc, field)
    _, listed = run(capsys, "appointments", "list", "--db", db)
    assert listed["data"] == []


CREATE = ("appointments", "create", "--clinician", "cli_a", "--start-time", "2025-01-21T10:00:00Z",
          "--end-time", "2025-01-21T10:30:00Z")


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--title", "Check-up \x1b[2J", "title"),
        ("--description", "call back\x1b]0;pwned\x07", "description"),
        ("--attendee-name", "Eve\x7f", "attendee_name"),
        ("--episode", "ep\x07", "episode_id"),
        ("--allow-overlap", "because\x1b[5m", "allow_overlap_reason"),
    ],
)
def test_create_refuses_control_characters(capsys, db, flag, value, field):
    args = {"--title": "Check-up", flag: value}
    code, doc = run(capsys, *CREATE, *[x for kv in args.items() for x in kv], "--now", NOW, "--db", db)
    _refused(code, doc, field)
    _, listed = run(capsys, "appointments", "list", "--db", db)
    assert listed["data"] == []


def test_a_note_may_run_over_several_lines(capsys, db):
    code, doc = run(capsys, *CREATE, "--title", "Check-up", "--description", "line one\nline two", "--now", NOW, "--db", db)
    assert code == 0, doc
    assert doc["data"]["description"] == "line one\nline two"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("update", "--title", "\x1b[31mRed"), "title"),
        (("update", "--description", "note\x1bc"), "description"),
        (("update", "--attendee-name", "E\x85ve"), "attendee_name"),
        (("cancel", "--reason", "rang\x1b[8m"), "reason"),
    ],
)
def test_update_and_cancel_refuse_control_characters_and_change_nothing(capsys, db, args, field):
    code, created = run(capsys, *CREATE, "--title", "Check-up", "--now", NOW, "--db", db)
    assert code == 0, created
    before = created["data"]
    action, *rest = args
    code, doc = run(capsys, "appointments", action, before["id"], *rest, "--now", NOW, "--db", db)
    _refused(code, doc, field)
    _, after = run(capsys, "appointments", "get", before["id"], "--db", db)
    assert after["data"]["status"] == before["status"]
    assert after["data"]["title"] == "Check-up"
    assert after["data"]["change_log"] == [] and after["data"]["cancellation_reason"] is None


def test_an_operator_with_a_control_character_is_refused(capsys, db):
    code, doc = run(capsys, *CREATE, "--title", "Check-up", "--operator", "desk\x1b]0;x\x07", "--now", NOW, "--db", db)
    _refused(code, doc, "operator")
    _, listed = run(capsys, "appointments", "list", "--db", db)
    assert listed["data"] == []
    with pytest.raises(FrontdeskError):
        Context(db, operator="desk\x9b")


def test_undecodable_bytes_on_the_command_line_are_refused_not_a_traceback(tmp_path, capsys, db):
    """A last name that is not UTF-8 is refused as a command line that does not parse (exit 2),
    naming the argument; nothing is printed raw, nothing is written."""
    hold_id = _hold(capsys, db)
    argv = [sys.executable, "-m", "frontdesk", "holds", "confirm", hold_id, "--new-patient-first-name", "Eve",
            "--new-patient-last-name", b"Ev\xffe", "--now", NOW, "--db", db]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "LC_ALL": "C.UTF-8"}
    result = subprocess.run(argv, capture_output=True, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert b"Traceback" not in result.stderr and b"\xff" not in result.stdout
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == VALIDATION_ERROR and "not valid UTF-8" in doc["error"]["message"]
    _, listed = run(capsys, "appointments", "list", "--db", db)
    assert listed["data"] == []


# --- the clinic file ----------------------------------------------------------------------


def _load(capsys, tmp_path, data: dict, db_path: str) -> tuple[int, dict]:
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(data))
    return run(capsys, "load", str(path), "--db", db_path)


@pytest.mark.parametrize(
    ("section", "key", "value", "place"),
    [
        ("patients", "last_name", "\x1b[31mRed\x1b]0;pwned\x1b\\", "patients[0].last_name"),
        ("patients", "email", "ada\x1b@example.com", "patients[0].email"),
        ("clinicians", "name", "Dr \x9b31mA", "clinicians[0].name"),
        ("locations", "name", "Site\x07A", "locations[0].name"),
        ("appointment_types", "name", "Follow\nup", "appointment_types[0].name"),
    ],
)
def test_a_clinic_file_with_a_control_character_loads_nothing(capsys, tmp_path, section, key, value, place):
    db_path = str(tmp_path / "fresh.db")
    data = json.loads(json.dumps(CLINIC))
    data[section][0][key] = value
    code, doc = _load(capsys, tmp_path, data, db_path)
    assert code == 1 and doc["error"]["code"] == VALIDATION_ERROR
    problems = [p for p in doc["error"]["details"]["errors"] if p.startswith(place + ":")]
    assert problems and ("control character" in problems[0] or "one line" in problems[0]), doc
    _, patients = run(capsys, "patients", "search", "", "--db", db_path)
    assert patients["data"] == []  # nothing written


def test_a_clinic_files_appointment_texts_are_checked_too(capsys, tmp_path):
    db_path = str(tmp_path / "fresh.db")
    data = json.loads(json.dumps(CLINIC))
    data["appointments"] = [{
        "id": "apt_1", "patient_id": "pat_1", "clinician_profile_id": "cli_a", "title": "Visit\x1b[5m",
        "description": "two\nlines are fine", "attendee_name": "Ada\x00", "start_time": "2025-01-21T10:00:00Z",
        "end_time": "2025-01-21T10:30:00Z", "resource_ids": ["cli_a\x7f"],
    }]
    data["blocks"] = [{"resource_id": "cli_a", "start": "2025-01-22T09:00", "end": "2025-01-22T10:00", "reason": "staff\nmeeting\x1b"}]
    code, doc = _load(capsys, tmp_path, data, db_path)
    assert code == 1
    errors = doc["error"]["details"]["errors"]
    assert "appointments[0].title: contains a control character (ESC); remove it" in errors
    assert "appointments[0].attendee_name: contains a control character (NUL); remove it" in errors
    assert "appointments[0].resource_ids[0]: contains a control character (DEL); remove it" in errors
    assert "blocks[0].reason: contains a control character (ESC); remove it" in errors
    assert not any(e.startswith("appointments[0].description") for e in errors)
    assert all("\x1b" not in e and "\x7f" not in e for e in errors)
