"""The day sheet (interop.md "The day sheet"): the day's appointments per clinician, in time
order, to print (PDF) or to read elsewhere (CSV, plain text).

The appointments are the day list's (`day_list.agenda`, read to its end); this module adds
what a printed page needs on top: each patient's date of birth and phone in the clinic's
formats, the attendees of a class, and the page itself. Text people typed is made safe to
print (`clean`): no control characters reach a terminal, a spreadsheet formula or a PDF.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from frontdesk.domain import appointments as rules
from frontdesk.domain.day import ARRIVED, CHECKED_OUT, IN_ROOM
from frontdesk.domain.errors import not_found, validation
from frontdesk.domain.patients import format_date, phone_display
from frontdesk.domain.statuses import NOT_GOING, STATUS_LABELS
from frontdesk.domain.timeutil import zone
from frontdesk.services.context import Context
from frontdesk.services.day_list import agenda
from frontdesk.services.objects import AgendaRow
from frontdesk.services.patients import locale_in
from frontdesk.store.models import Clinic, Location, Patient, Resource

FORMATS = ("pdf", "csv", "text")
PAPERS = ("a4", "letter")
LETTER_COUNTRIES = ("US", "CA")  # the rest of the world prints on A4
FONTS = Path(__file__).resolve().parent.parent / "fonts"  # DejaVu Sans, subset (fonts/LICENSE)

CSV_COLUMNS = ("clinician", "start", "end", "patient", "date_of_birth", "phone", "type", "place",
               "status", "arrival", "notes", "appointment_id")


# --- what a sheet holds ------------------------------------------------------------------


@dataclass(frozen=True)
class SheetPerson:
    name: str
    date_of_birth: str  # in the clinic's date order; "" when not known
    phone: str  # national for the clinic's country, else international; "" when none
    note: str = ""  # an attendee's "not going" or "no-show"


@dataclass(frozen=True)
class SheetLine:
    appointment_id: str
    start: datetime  # local to the sheet's timezone
    end: datetime
    patient: SheetPerson | None  # None for a class (see attendees) and staff time (see title)
    title: str  # a class: "Group 3/8"; staff time: its title
    type_name: str
    place: str  # room names, "Video", or ""
    status: str  # the desk's word (Confirmed, Cancelled ...)
    arrival: str  # "arrived 08:55", "in room", "checked out", or ""
    notes: str
    attendees: list[SheetPerson] = field(default_factory=list)

    @property
    def time(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class SheetClinician:
    name: str
    lines: list[SheetLine]


@dataclass(frozen=True)
class DaySheet:
    clinic_name: str
    location_name: str
    day: date
    day_text: str  # "Monday 20/01/2025", in the clinic's date order
    timezone: str
    printed_at: datetime  # local
    printed_text: str
    country: str
    clinicians: list[SheetClinician]

    @property
    def appointment_count(self) -> int:
        return sum(len(c.lines) for c in self.clinicians)


@dataclass(frozen=True)
class WrittenSheet:
    """Where a sheet was written, and what it holds."""

    path: str
    format: str
    paper: str | None  # the PDF's
    pages: int | None  # the PDF's
    appointments: int


# --- safe text ---------------------------------------------------------------------------

# C0, DEL, C1, surrogates, and the bidirectional overrides that would reorder a printed line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def clean(text: str | None) -> str:
    """Text from people as it is printed: on one line, any control character a visible "?"."""
    if not text:
        return ""
    one_line = " ".join(text.split())  # newlines and tabs in notes become spaces
    return _UNSAFE.sub("?", one_line)


def _spreadsheet_safe(text: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: a leading ' keeps it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --- reading the day ---------------------------------------------------------------------


def default_paper(country: str) -> str:
    return "letter" if country.upper() in LETTER_COUNTRIES else "a4"


def day_sheet(ctx: Context, day: date, *, location_id: str | None = None, clinician_id: str | None = None) -> DaySheet:
    """The day's appointments at the location (a clinic of one site: that one), per clinician.
    NOT_FOUND for an unknown location or clinician."""
    with ctx.db.session(write=False) as session:
        clinic = session.get(Clinic, 1)
        if location_id is None:
            sites = session.scalars(select(Location).limit(2)).all()
            location = sites[0] if len(sites) == 1 else None
        else:
            location = session.get(Location, location_id)
            if location is None:
                raise not_found("location", location_id)
        if clinician_id is not None:
            clinician = session.get(Resource, clinician_id)
            if clinician is None or clinician.kind != "clinician":
                raise not_found("clinician", clinician_id)
        locale = locale_in(session)
        location_name = location.name if location else "All locations (times in UTC)"
        tz_name = location.timezone if location else "UTC"
    rows = _whole_day(ctx, location.id if location else None, day, clinician_id)
    people = _patients(ctx, rows, locale.country, locale.date_order)
    tz = zone(tz_name)
    sections: dict[str, list[SheetLine]] = {}
    for row in rows:
        sections.setdefault(row.clinician_name or "No clinician", []).append(_line(row, people, tz))
    printed = ctx.clock.now().astimezone(tz)
    return DaySheet(
        clinic_name=clean(clinic.name if clinic else "") or "frontdesk",
        location_name=clean(location_name),
        day=day,
        day_text=f"{day:%A} {format_date(day, locale.date_order)}",
        timezone=tz_name,
        printed_at=printed,
        printed_text=f"{format_date(printed.date(), locale.date_order)} {printed:%H:%M}",
        country=locale.country,
        clinicians=[SheetClinician(clean(name), lines) for name, lines in sorted(sections.items())],
    )


def _whole_day(ctx: Context, location_id: str | None, day: date, clinician_id: str | None) -> list[AgendaRow]:
    rows: list[AgendaRow] = []
    offset: int | None = 0
    while offset is not None:
        page = agenda(ctx, location_id=location_id, day=day, clinician_id=clinician_id,
                      limit=rules.DAY_LIST_LIMIT, offset=offset)
        rows.extend(page.items)
        offset = page.next_offset if page.has_more else None
    return rows


def _patients(ctx: Context, rows: list[AgendaRow], country: str, order: str) -> dict[str, SheetPerson]:
    """Every patient on the sheet (and every attendee of a class), in the clinic's formats."""
    ids = {r.appointment.patient_id for r in rows if r.appointment.patient_id}
    ids |= {a.id for r in rows for a in r.appointment.attendees}
    if not ids:
        return {}
    with ctx.db.session(write=False) as session:
        found = session.scalars(select(Patient).where(Patient.id.in_(ids))).all()
        return {
            p.id: SheetPerson(
                name=clean(f"{p.first_name} {p.last_name}"),
                date_of_birth=format_date(p.date_of_birth, order),
                phone=clean(phone_display(p.phone_e164, country) or p.phone),
            )
            for p in found
        }


def _line(row: AgendaRow, people: dict[str, SheetPerson], tz) -> SheetLine:
    a = row.appointment
    patient = people.get(a.patient_id) if a.patient_id else None
    if patient is None and not a.group and not a.internal and (row.patient_name or a.attendee_name):
        patient = SheetPerson(clean(row.patient_name or a.attendee_name), "", "")
    attendees = []
    for x in a.attendees:
        known = people.get(x.id, SheetPerson(clean(x.name), "", ""))
        note = "no-show" if x.no_show else ("not going" if x.attendance_status == NOT_GOING else "")
        attendees.append(SheetPerson(known.name, known.date_of_birth, known.phone, note))
    if a.group:
        title = row.patient_name or "Group"
    elif a.internal:
        title = a.title
    else:
        title = ""
    return SheetLine(
        appointment_id=a.id,
        start=a.start_time.astimezone(tz),
        end=a.end_time.astimezone(tz),
        patient=patient,
        title=clean(title),
        type_name=clean(row.type_name or ("Staff time" if a.internal else a.title)),
        place="Video" if a.is_remote else clean(", ".join(row.room_names)),
        status=STATUS_LABELS.get(a.status, a.status),
        arrival=_arrival(a.attendance_status, a.arrived_at, tz),
        notes=clean(a.description),
        attendees=attendees,
    )


def _arrival(state: str | None, arrived_at: datetime | None, tz) -> str:
    at = f" {arrived_at.astimezone(tz):%H:%M}" if arrived_at else ""
    if state == ARRIVED:
        return f"arrived{at}"
    if state == IN_ROOM:
        return f"in room (arrived{at})" if at else "in room"
    if state == CHECKED_OUT:
        return "checked out"
    return ""


# --- renderers ---------------------------------------------------------------------------


def _person_text(p: SheetPerson) -> str:
    details = ", ".join(x for x in (f"born {p.date_of_birth}" if p.date_of_birth else "", p.phone, p.note) if x)
    return f"{p.name} ({details})" if details else p.name


def _who(line: SheetLine) -> str:
    return _person_text(line.patient) if line.patient else line.title


def _status(line: SheetLine) -> str:
    return f"{line.status}, {line.arrival}" if line.arrival else line.status


def render_text(sheet: DaySheet) -> str:
    """Plain columns, one clinician after another; a class's attendees indented under it."""
    out = [sheet.clinic_name, f"{sheet.location_name} - {sheet.day_text}",
           f"Printed {sheet.printed_text} - {sheet.appointment_count} appointments", ""]
    headings = ("Time", "Patient", "Type", "Place", "Status", "Notes")
    for section in sheet.clinicians:
        out.append(section.name)
        table = [headings] + [(ln.time, _who(ln), ln.type_name, ln.place, _status(ln), ln.notes) for ln in section.lines]
        widths = [max(len(r[i]) for r in table) for i in range(len(headings))]
        indent = " " * (widths[0] + 2)
        for index, cells in enumerate(table):
            out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
            if index:
                out.extend(f"{indent}- {_person_text(p)}" for p in section.lines[index - 1].attendees)
        out.append("")
    if not sheet.clinicians:
        out.append("No appointments.")
    return "\n".join(out).rstrip() + "\n"


def render_csv(sheet: DaySheet) -> str:
    """One row per appointment, and one per attendee of a class (its patient columns theirs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for section in sheet.clinicians:
        for ln in section.lines:
            people = ln.attendees or [ln.patient or SheetPerson(ln.title, "", "")]
            for p in people:
                note = ", ".join(x for x in (ln.arrival, p.note) if x)
                writer.writerow([_spreadsheet_safe(x) for x in (
                    section.name, ln.start.isoformat(), ln.end.isoformat(), p.name, p.date_of_birth, p.phone,
                    ln.type_name, ln.place, ln.status, note, ln.notes, ln.appointment_id)])
    return buffer.getvalue()


def render_pdf(sheet: DaySheet, paper: str | None = None) -> bytes:
    """The printed sheet: every page headed by the clinic, the location, the date and when it
    was printed, and footed "Page n of m"; a clinician's table carries on over pages."""
    return _pdf(sheet, check_paper(paper) if paper else default_paper(sheet.country))[0]


def check_paper(paper: str) -> str:
    if paper.lower() not in PAPERS:
        raise validation(f"{paper!r} is not a paper size (a4 or letter)", field="paper")
    return paper.lower()


# --- writing a file ----------------------------------------------------------------------


def default_file_name(sheet: DaySheet, fmt: str = "pdf") -> str:
    place = re.sub(r"[^A-Za-z0-9]+", "-", sheet.location_name.split(" (")[0]).strip("-").lower() or "clinic"
    return f"day-sheet-{sheet.day.isoformat()}-{place}.{'txt' if fmt == 'text' else fmt}"


def write_day_sheet(
    ctx: Context,
    day: date,
    *,
    path: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
    fmt: str = "pdf",
    paper: str | None = None,
    location_id: str | None = None,
    clinician_id: str | None = None,
) -> WrittenSheet:
    """The sheet written to `path`, or (without one) into `folder` (created if need be) under
    its own name. Written to a temporary name and moved into place: a failure leaves no file
    half written. VALIDATION_ERROR naming a path that cannot be written."""
    if fmt not in FORMATS:
        raise validation(f"{fmt!r} is not a format ({', '.join(FORMATS)})", field="format")
    if paper is not None:
        paper = check_paper(paper)
    sheet = day_sheet(ctx, day, location_id=location_id, clinician_id=clinician_id)
    if fmt == "pdf":
        paper = paper or default_paper(sheet.country)
        content, pages = _pdf(sheet, paper)
    else:
        content, pages = (render_csv(sheet) if fmt == "csv" else render_text(sheet)).encode("utf-8"), None
    if path is None:
        if folder is None:
            raise validation("Say where to write the day sheet", field="output")
        target = Path(folder) / default_file_name(sheet, fmt)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(target.parent, exc) from None
    else:
        target = Path(path)
    _write_whole(target, content)
    if fmt != "pdf":
        paper, pages = None, None
    return WrittenSheet(str(target.resolve()), fmt, paper, pages, sheet.appointment_count)


def _unwritable(path: Path, exc: OSError):
    return validation(f"Cannot write {str(path)!r}: {exc.strerror or exc.__class__.__name__}",
                      field="output", path=str(path))


def _write_whole(target: Path, content: bytes) -> None:
    if target.is_dir():
        raise validation(f"Cannot write {str(target)!r}: it is a folder", field="output", path=str(target))
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".part",
                                         delete=False) as out:
            temporary = Path(out.name)
            out.write(content)
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise _unwritable(target, exc) from None


# --- the PDF -----------------------------------------------------------------------------

# Millimetres; the columns share what the paper leaves between its margins, in these proportions.
_MARGIN = 12
_COLUMNS = ("Time", "Patient", "Type", "Place", "Status", "Notes")
_COLUMN_SHARES = (19, 44, 22, 16, 17, 28)
PDF_NOTES_MAX = 500


def _pdf(sheet: DaySheet, paper: str) -> tuple[bytes, int]:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class SheetPDF(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", "B", 13)
            self.cell(0, 6, sheet.clinic_name, new_x="LMARGIN", new_y="NEXT")
            self.set_font("DejaVu", "", 9)
            self.cell(0, 5, f"{sheet.location_name} · {sheet.day_text}")
            self.cell(0, 5, f"Printed {sheet.printed_text}", align="R", new_x="LMARGIN", new_y="NEXT")
            self.line(_MARGIN, self.get_y() + 1, self.w - _MARGIN, self.get_y() + 1)
            self.ln(4)

        def footer(self) -> None:
            self.set_y(-_MARGIN)
            self.set_font("DejaVu", "", 8)
            self.cell(0, 5, f"{sheet.clinic_name} · {sheet.location_name} · {sheet.day_text}")
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    pdf = SheetPDF(orientation="portrait", unit="mm", format="A4" if paper == "a4" else "Letter")
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_MARGIN + 6)
    pdf.set_title(f"Day sheet {sheet.day_text} {sheet.location_name}")
    pdf.set_creator("frontdesk")
    pdf.set_creation_date(sheet.printed_at)
    pdf.add_page()
    if not sheet.clinicians:
        pdf.set_font("DejaVu", "", 10)
        pdf.cell(0, 8, "No appointments.")
    for section in sheet.clinicians:
        if pdf.will_page_break(24):  # a clinician's name never ends a page alone
            pdf.add_page()
        pdf.set_font("DejaVu", "", 8)
        with pdf.table(
            col_widths=_COLUMN_SHARES,
            text_align="LEFT",
            line_height=4,
            padding=1,
            borders_layout="HORIZONTAL_LINES",
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            num_heading_rows=2,  # the clinician and the column names, again on every page it runs onto
            repeat_headings=1,
        ) as table:
            table.row().cell(f"{section.name} ({len(section.lines)})", colspan=len(_COLUMNS),
                             style=FontFace(emphasis="BOLD", size_pt=10, fill_color=(255, 255, 255)))
            table.row(_COLUMNS)
            for ln in section.lines:
                if ln.patient is not None:
                    who = "\n".join(x for x in (ln.patient.name, _details(ln.patient)) if x)
                else:
                    who = ln.title
                table.row((ln.time, who, ln.type_name, ln.place, _status(ln).replace(", ", "\n"), _shortened(ln.notes)))
                for p in ln.attendees:  # a row each: a big class never makes a row taller than a page
                    table.row(("", f"• {_person_text(p)}", "", "", "", ""))
        pdf.ln(4)
    return bytes(pdf.output()), pdf.page_no()


def _shortened(notes: str) -> str:
    # A row must fit on a page: notes as long as the 4,000 characters allowed are cut short
    # on paper (the CSV and the text carry them whole).
    return notes if len(notes) <= PDF_NOTES_MAX else notes[: PDF_NOTES_MAX - 1].rstrip() + "…"


def _details(p: SheetPerson) -> str:
    return " · ".join(x for x in (f"born {p.date_of_birth}" if p.date_of_birth else "", p.phone) if x)
