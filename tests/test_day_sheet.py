"""The day sheet (interop.md "The day sheet"): the day's appointments per clinician as a PDF
read back with pypdf, as CSV read back with csv, as text; from the command line and from the
UI's palette (with the palette's screenshot, which shares its folder)."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from booking_clinic import CLINIC, load, utc
from pypdf import PdfReader
from tui_pilot import MONDAY, notifications, running, screen_text, settle, type_text, until

from frontdesk.cli.main import main
from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services import day_sheet as sheets
from frontdesk.services.appointments import act_on_appointment, create_appointment
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold
from frontdesk.services.objects import AppointmentCreate, ConfirmRequest, HoldRequest

DAY = date(2025, 1, 20)  # Monday; London is on UTC in winter, so 09:00Z is 09:00 there
PATIENTS = [
    {"id": "pat_zoe", "first_name": "Zoë", "last_name": "Ødegård", "date_of_birth": "1990-02-03", "phone": "07700 900396"},
    {"id": "pat_maya", "first_name": "Maya", "last_name": "Delgado", "date_of_birth": "1987-05-12", "phone": "+1 212 555 0110"},
]
ROSTER = ["pat_zoe", "pat_maya", "pat_john_smith", "pat_mary_jones", "pat_ann_smithers"]
NAMES = {"pat_zoe": "Zoë Ødegård", "pat_maya": "Maya Delgado", "pat_john_smith": "John Smith",
         "pat_mary_jones": "Mary Jones", "pat_ann_smithers": "Ann Smithers"}


def clinic_data(country: str | None = None) -> dict:
    data = copy.deepcopy(CLINIC)
    data["patients"] = data["patients"] + PATIENTS
    if country:
        data["clinic"]["country"] = country
    return data


def book(ctx, clinician: str, start, minutes: int, patient: str, **fields):
    return create_appointment(ctx, AppointmentCreate(
        title="Review", start_time=start, end_time=start + timedelta(minutes=minutes), patient_id=patient,
        clinician_profile_id=clinician, location_id=None if fields.get("is_remote") else "loc_central",
        status="confirmed", **fields))


@pytest.fixture
def clinic(tmp_path):
    """60 ten-minute visits (30 each for Sarah and Tom), a class of three, a video call."""
    ctx = Context.open(f"sqlite:///{tmp_path / 'sheet.db'}", clock=FakeClock(utc(2025, 1, 20, 8)), operator="desk")
    load(ctx, clinic_data())
    booked = []
    for n in range(30):
        booked.append(book(ctx, "cli_sarah", utc(2025, 1, 20, 7) + timedelta(minutes=10 * n), 10, ROSTER[n % 5]))
        booked.append(book(ctx, "cli_tom", utc(2025, 1, 20, 8) + timedelta(minutes=10 * n), 10, ROSTER[(n + 1) % 5]))
    # Notes typed over two lines, with a right-to-left override that would turn a printed line around.
    book(ctx, "cli_sarah", utc(2025, 1, 20, 17, 30), 30, "pat_zoe", is_remote=True,
         description="Bring the scan\nand \u202ethe letter")
    for patient in ("pat_zoe", "pat_john_smith", "pat_mary_jones"):
        hold = create_hold(ctx, HoldRequest(appointment_type_id="type_class", clinician_id="cli_tom",
                                            start=utc(2025, 1, 20, 14), location_id="loc_central"))
        confirm_hold(ctx, hold.id, ConfirmRequest(patient_id=patient))
    act_on_appointment(ctx, booked[0].id, "check-in")  # 07:00 with Sarah, in at 08:00
    book(ctx, "cli_tom", utc(2025, 1, 21, 9), 10, "pat_zoe")  # another day: not on the sheet
    yield ctx
    ctx.db.dispose()


def not_the_database(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if not name.startswith("sheet.db"))


def pdf_pages(path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


# --- the PDF -------------------------------------------------------------------------------


def test_the_pdf_holds_every_appointment_of_the_day_and_every_page_its_header_and_page_n_of_m(clinic, tmp_path):
    written = sheets.write_day_sheet(clinic, DAY, path=tmp_path / "day.pdf", location_id="loc_central")

    pages = pdf_pages(tmp_path / "day.pdf")
    assert written.pages == len(pages) >= 3  # 62 rows spill onto several pages
    assert written.appointments == 62
    for n, text in enumerate(pages, start=1):
        assert "Riverside Health" in text
        assert "Central London Clinic" in text
        assert "Monday 20/01/2025" in text
        assert "Printed 20/01/2025 08:00" in text
        assert f"Page {n} of {len(pages)}" in text
    everything = "\n".join(pages)
    sheet = sheets.day_sheet(clinic, DAY, location_id="loc_central")
    expected = Counter(line.time for c in sheet.clinicians for line in c.lines)
    found = Counter(re.findall(r"\d\d:\d\d-\d\d:\d\d", everything))
    assert found == expected and sum(found.values()) == 62
    # Each clinician's visits in time order, a continued table named again on the next page.
    assert [c.name for c in sheet.clinicians] == ["Dr. Sarah Johnson", "Tom Baker"]
    sarah = [ln.start for ln in sheet.clinicians[0].lines]
    assert sarah == sorted(sarah) and len(sarah) == 31
    assert sum("Tom Baker (" in text for text in pages) >= 2
    # Patients in the clinic's formats, Unicode names intact; the class with its attendees; video.
    assert "Zoë Ødegård" in everything
    assert "born 03/02/1990 · 07700 900396" in everything
    assert "+1 212-555-0110" in everything
    assert "Group 3/3" in everything and "• Mary Jones (born 30/11/1975" in everything
    assert "Video" in everything
    assert "Arrived 08:00".lower() in everything.lower()


def test_a4_and_letter_pages_and_the_default_follows_the_clinics_country(clinic, tmp_path):
    sheets.write_day_sheet(clinic, DAY, path=tmp_path / "a4.pdf", paper="a4", location_id="loc_central")
    sheets.write_day_sheet(clinic, DAY, path=tmp_path / "letter.pdf", paper="LETTER", location_id="loc_central")
    a4, letter = PdfReader(tmp_path / "a4.pdf").pages[0], PdfReader(tmp_path / "letter.pdf").pages[0]
    assert (round(float(a4.mediabox.width)), round(float(a4.mediabox.height))) == (595, 842)
    assert (float(letter.mediabox.width), float(letter.mediabox.height)) == (612, 792)
    # A GB clinic prints on A4 by default, a US one on Letter (and writes its dates month first).
    assert sheets.write_day_sheet(clinic, DAY, path=tmp_path / "gb.pdf").paper == "a4"
    load(clinic, clinic_data(country="US"))
    us = sheets.write_day_sheet(clinic, DAY, path=tmp_path / "us.pdf", location_id="loc_central")
    assert us.paper == "letter"
    assert float(PdfReader(tmp_path / "us.pdf").pages[0].mediabox.width) == 612
    assert "Monday 01/20/2025" in pdf_pages(tmp_path / "us.pdf")[0]


def test_an_empty_day_prints_one_page_saying_so(clinic, tmp_path):
    sheets.write_day_sheet(clinic, date(2025, 1, 25), path=tmp_path / "empty.pdf", location_id="loc_central")
    (text,) = pdf_pages(tmp_path / "empty.pdf")
    assert "No appointments." in text and "Page 1 of 1" in text and "Saturday 25/01/2025" in text


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def db(clinic):
    return str(clinic.db.url)


def cli(capsys, db, *argv) -> tuple[int, str]:
    code = main(["day-sheet", "--db", db, "--now", "2025-01-20T08:00:00Z", *argv])
    return code, capsys.readouterr().out


def test_csv_reads_back_one_row_per_visit_and_per_attendee(capsys, db):
    code, out = cli(capsys, db, "--date", "2025-01-20", "--location", "loc_central", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 61 + 3  # 61 visits, and the class's three attendees
    assert list(rows[0]) == list(sheets.CSV_COLUMNS)
    zoe = [r for r in rows if r["patient"] == "Zoë Ødegård"]
    assert {r["date_of_birth"] for r in zoe} == {"03/02/1990"} and {r["phone"] for r in zoe} == {"07700 900396"}
    first = rows[0]
    assert (first["clinician"], first["start"], first["status"], first["arrival"]) == (
        "Dr. Sarah Johnson", "2025-01-20T07:00:00+00:00", "Confirmed", "arrived 08:00")
    video = next(r for r in rows if r["place"] == "Video")
    assert video["notes"] == "Bring the scan and ?the letter"  # one line, the override made visible
    group = [r for r in rows if r["type"] == "Back Class"]
    assert sorted(r["patient"] for r in group) == ["John Smith", "Mary Jones", "Zoë Ødegård"]
    assert {r["clinician"] for r in rows} == {"Dr. Sarah Johnson", "Tom Baker"}


def test_text_lists_each_clinician_in_time_order_with_a_class_and_its_attendees(capsys, db):
    code, out = cli(capsys, db, "--date", "2025-01-20", "--location", "loc_central", "--format", "text",
                    "--clinician", "cli_tom")
    assert code == 0
    assert out.startswith("Riverside Health\nCentral London Clinic - Monday 20/01/2025\nPrinted 20/01/2025 08:00")
    assert "Dr. Sarah Johnson" not in out
    times = re.findall(r"^(\d\d:\d\d)-", out, flags=re.M)
    assert times == sorted(times) and len(times) == 31
    class_line = next(line for line in out.splitlines() if line.startswith("14:00-15:00"))
    assert "Group 3/3" in class_line and "Back Class" in class_line and "Gym" in class_line
    assert "  - Zoë Ødegård (born 03/02/1990, 07700 900396)" in out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", out)


def test_a_pdf_without_o_goes_into_the_documents_folder_which_is_made(capsys, db, tmp_path, monkeypatch):
    docs = tmp_path / "no such folder" / "Documents"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user-dirs.dirs to override it
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(docs))
    code, out = cli(capsys, db, "--date", "2025-01-20", "--location", "loc_central", "--paper", "letter")
    assert code == 0, out
    answer = json.loads(out)["data"]
    assert Path(answer["path"]) == docs / "day-sheet-2025-01-20-central-london-clinic.pdf"
    assert (answer["format"], answer["paper"], answer["appointments"]) == ("pdf", "letter", 62)
    assert len(PdfReader(answer["path"]).pages) == answer["pages"]
    assert os.listdir(docs) == ["day-sheet-2025-01-20-central-london-clinic.pdf"]  # no temporary left


@pytest.mark.parametrize(
    ("argv", "code", "named"),
    [
        (["--date", "2025-02-30"], "VALIDATION_ERROR", "2025-02-30"),
        (["--date", "20/01/2025"], "VALIDATION_ERROR", "20/01/2025"),
        (["--date", "2025-01-20", "--location", "loc_nowhere"], "NOT_FOUND", "loc_nowhere"),
        (["--date", "2025-01-20", "--clinician", "cli_nobody"], "NOT_FOUND", "cli_nobody"),
        (["--date", "2025-01-20", "--clinician", "res_room_1"], "NOT_FOUND", "res_room_1"),  # a room is no clinician
    ],
)
def test_bad_input_is_refused_naming_it(capsys, db, argv, code, named):
    status, out = cli(capsys, db, "--format", "text", *argv)
    error = json.loads(out)["error"]
    assert status == 1 and error["code"] == code and named in error["message"]


def test_an_unwritable_output_is_refused_naming_it_and_nothing_is_left(capsys, db, tmp_path):
    missing = tmp_path / "gone" / "day.pdf"
    status, out = cli(capsys, db, "--date", "2025-01-20", "-o", str(missing))
    error = json.loads(out)["error"]
    assert status == 1 and error["code"] == "VALIDATION_ERROR" and str(missing) in error["message"]
    status, out = cli(capsys, db, "--date", "2025-01-20", "--format", "csv", "-o", str(tmp_path))
    error = json.loads(out)["error"]
    assert error["code"] == "VALIDATION_ERROR" and "is a folder" in error["message"]
    assert not_the_database(tmp_path) == []


def test_a_write_that_fails_halfway_leaves_the_old_file_as_it_was(clinic, tmp_path, monkeypatch):
    target = tmp_path / "day.csv"
    target.write_text("yesterday's sheet")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sheets.os, "replace", disk_full)
    with pytest.raises(FrontdeskError) as refused:
        sheets.write_day_sheet(clinic, DAY, path=target, fmt="csv")
    assert refused.value.code == "VALIDATION_ERROR" and "No space left on device" in refused.value.message
    assert target.read_text() == "yesterday's sheet"
    assert not_the_database(tmp_path) == ["day.csv"]  # the temporary is gone


def test_text_from_people_is_printed_safely():
    assert sheets.clean("Ann\x1b[2J\tLee\r\n \u202eevil\x9b") == "Ann?[2J Lee ?evil?"
    assert sheets._spreadsheet_safe("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert sheets._spreadsheet_safe("Ann") == "Ann"


# --- the UI --------------------------------------------------------------------------------


@pytest.fixture
def documents(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "home" / "Documents"  # not there yet: the UI makes it
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(folder))
    return folder


async def from_palette(pilot, words: str, shown: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await type_text(pilot, words)
    await until(pilot, lambda: shown in screen_text(pilot.app))  # the palette searches on a timer
    await pilot.press("enter")
    await settle(pilot)


async def test_print_day_sheet_from_the_palette_writes_the_day_on_screen_and_says_where(desk, documents):
    async with running(desk, size=(120, 40)) as (app, pilot):
        await from_palette(pilot, "print day", "Write the day on screen as a PDF")
        await until(pilot, lambda: any("Day sheet" in n for n in notifications(app)))
        (written,) = documents.iterdir()
        assert written.suffix == ".pdf"
        told = " ".join(notifications(app))
        assert str(written).replace(" ", "") in told.replace(" ", "").replace("\n", "")
        pages = pdf_pages(written)
        assert all("Monday" in text and f"{MONDAY:%d/%m/%Y}" in text for text in pages)
        location = app.location.name
        assert all(location in text for text in pages)
        home = app.screen
        assert home.page is not None and home.page.items  # the demo's Monday has appointments
        first = home.page.items[0].appointment.start_time
        assert f"{first:%H:%M}-" in pages[0]


async def test_the_palettes_screenshot_goes_into_the_documents_folder_it_makes(desk, documents):
    async with running(desk) as (app, pilot):
        await from_palette(pilot, "screenshot", "Save an SVG picture")
        await until(pilot, lambda: any("Screenshot saved" in n for n in notifications(app)))
        (picture,) = documents.iterdir()
        assert picture.name == "frontdesk-2025-01-20_08-00-00.svg"  # named by the desk's clock
        assert picture.read_text().startswith("<svg")
        assert not any("Failed" in n for n in notifications(app))


def test_notes_as_long_as_allowed_print_cut_short_on_paper_and_whole_in_csv(clinic, tmp_path):
    long_notes = "Allergic to penicillin; " * 166  # 3,984 characters: within the 4,000 allowed
    book(clinic, "cli_tom", utc(2025, 1, 20, 16), 10, "pat_zoe", description=long_notes)
    sheets.write_day_sheet(clinic, DAY, path=tmp_path / "long.pdf", location_id="loc_central")
    everything = " ".join(pdf_pages(tmp_path / "long.pdf"))
    assert "Allergic to penicillin" in everything and "…" in everything
    rows = list(csv.DictReader(io.StringIO(sheets.render_csv(sheets.day_sheet(clinic, DAY)))))
    assert next(r for r in rows if r["start"].startswith("2025-01-20T16:00"))["notes"] == long_notes.strip()


def test_a_clinic_of_two_sites_without_location_lists_every_site_in_utc(clinic, tmp_path):
    sheet = sheets.day_sheet(clinic, DAY)
    assert sheet.location_name == "All locations (times in UTC)" and sheet.appointment_count == 62
    written = sheets.write_day_sheet(clinic, DAY, folder=tmp_path / "docs", fmt="text")
    assert Path(written.path).name == "day-sheet-2025-01-20-all-locations.txt"
    assert "All locations (times in UTC) - Monday 20/01/2025" in Path(written.path).read_text()
