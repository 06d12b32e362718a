"""The patient record: find anyone in the clinic, create and change patients without making
duplicates, their appointments, and everything held about one of them (a subject access request)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, column, false, func, literal, or_, select, table, tuple_
from sqlalchemy import text as sql_text
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import Session

from frontdesk.domain import appointments as rules
from frontdesk.domain.appointments import check_paging
from frontdesk.domain.errors import VERSION_CONFLICT, FrontdeskError, not_found, validation
from frontdesk.domain.patients import (
    DEFAULT_COUNTRY,
    default_date_order,
    fold,
    parse_date_of_birth,
    parse_date_text,
    phone_display,
    phone_e164,
    phone_search_start,
    search_name,
)
from frontdesk.domain.timeutil import iso
from frontdesk.services.context import Context
from frontdesk.services.objects import AppointmentView, Page, PatientView
from frontdesk.services.paging import decode_cursor, encode_cursor, read_keys
from frontdesk.services.records import appointment_view, new_id, of_patient, read_page
from frontdesk.store.models import Appointment, Clinic, Patient

# The fields a desk may set on a patient.
PATIENT_FIELDS = ("first_name", "last_name", "date_of_birth", "email", "phone")


@dataclass(frozen=True)
class Locale:
    """How this clinic's desk writes: its country (for phones) and its date order."""

    country: str = DEFAULT_COUNTRY
    date_order: str = "DMY"


@dataclass(frozen=True)
class PatientHistory:
    """One page of a patient's appointments (newest first), split into upcoming (soonest
    first) and past, with how many of all their appointments were no-shows."""

    patient: PatientView
    upcoming: list[AppointmentView]
    past: list[AppointmentView]
    no_shows: int
    total: int
    limit: int
    offset: int
    next_offset: int | None
    has_more: bool


@dataclass(frozen=True)
class PatientFields:
    """A patient's fields, checked: what is written."""

    values: dict[str, Any] = field(default_factory=dict)


def locale_in(session: Session) -> Locale:
    clinic = session.get(Clinic, 1)
    if clinic is None:
        return Locale()
    country = clinic.country or DEFAULT_COUNTRY
    return Locale(country, clinic.date_order or default_date_order(country))


def clinic_locale(ctx: Context) -> Locale:
    """The clinic's country and date order (the UI reads typed dates with it)."""
    with ctx.db.session(write=False) as session:
        return locale_in(session)


def patient_view(patient: Patient, country: str = DEFAULT_COUNTRY) -> PatientView:
    return PatientView(
        id=patient.id,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        email=patient.email,
        phone=patient.phone,
        phone_e164=patient.phone_e164,
        phone_display=phone_display(patient.phone_e164, country) or patient.phone,
        version=patient.version,
        created_at=patient.created_at,
        updated_at=patient.updated_at,
    )


# --- checking fields ---------------------------------------------------------------------


def check_fields(changes: dict[str, Any], locale: Locale, today: date) -> dict[str, Any]:
    """The given fields cleaned: names without control characters, an email, a phone as E.164
    (`phone` keeps it written internationally, `phone_e164` the bare form), a date of birth in
    the clinic's order. VALIDATION_ERROR naming the first bad field; unknown fields refused."""
    unknown = sorted(set(changes) - set(PATIENT_FIELDS))
    if unknown:
        raise validation(f"Not a patient field: {', '.join(unknown)}", field=unknown[0])
    out: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in changes:
            out[name] = rules.check_name(changes[name], name)
    if "email" in changes:
        out["email"] = rules.check_email(_text(changes["email"], "email"))
    if "phone" in changes:
        typed = _text(changes["phone"], "phone")
        e164 = phone_e164(typed, locale.country) if typed else None
        out["phone_e164"] = e164
        out["phone"] = phone_display(e164, "") if e164 else None  # international: +44 7700 900396
    if "date_of_birth" in changes:
        value = changes["date_of_birth"]
        if isinstance(value, date):
            value = value.isoformat()
        typed = _text(value, "date_of_birth")
        out["date_of_birth"] = parse_date_of_birth(typed, locale.date_order, today) if typed else None
    return out


def _text(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation(f"{field_name.replace('_', ' ').capitalize()} must be text", field=field_name)
    rules.refuse_controls(value, field_name)
    return value.strip() or None


def _duplicates(session: Session, values: dict[str, Any], locale: Locale, exclude: str | None = None) -> list[dict]:
    """Patients who look like the same person: the same folded name and date of birth, the
    same email (any case), or the same phone."""
    conditions = []
    if values.get("date_of_birth") is not None:
        key = search_name(values["first_name"], values["last_name"])
        conditions.append(and_(Patient.search_name == key, Patient.date_of_birth == values["date_of_birth"]))
    if values.get("email"):
        conditions.append(func.lower(Patient.email) == values["email"].lower())
    if values.get("phone_e164"):
        conditions.append(Patient.phone_e164 == values["phone_e164"])
    if not conditions:
        return []
    query = select(Patient).where(or_(*conditions)).order_by(Patient.id).limit(10)
    if exclude is not None:
        query = query.where(Patient.id != exclude)
    matches = []
    for p in session.scalars(query):
        same = []
        if values.get("date_of_birth") is not None and p.date_of_birth == values["date_of_birth"] and (
            p.search_name == search_name(values["first_name"], values["last_name"])
        ):
            same.append("name and date of birth")
        if values.get("email") and (p.email or "").lower() == values["email"].lower():
            same.append("email")
        if values.get("phone_e164") and p.phone_e164 == values["phone_e164"]:
            same.append("phone")
        matches.append({
            "id": p.id, "first_name": p.first_name, "last_name": p.last_name,
            "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
            "email": p.email, "phone": phone_display(p.phone_e164, locale.country) or p.phone, "same": same,
        })
    return matches


def refuse_duplicates(session: Session, values: dict[str, Any], locale: Locale, exclude: str | None = None) -> None:
    """VALIDATION_ERROR naming the patients this one would duplicate (`details.matches`)."""
    matches = _duplicates(session, values, locale, exclude)
    if matches:
        first = matches[0]
        raise validation(
            f"{first['first_name']} {first['last_name']} ({first['id']}) has the same {', '.join(first['same'])}; "
            "use that patient, or create anyway (allow duplicate)",
            field="patient", matches=matches,
        )


def add_patient(
    session: Session, fields: dict[str, Any], now: datetime, *, allow_duplicate: bool = False
) -> Patient:
    """A new patient from checked fields, in the caller's transaction; refused when it
    matches one already there unless `allow_duplicate`."""
    if not allow_duplicate:
        refuse_duplicates(session, fields, locale_in(session))
    patient = Patient(id=new_id("pat_"), created_at=now, updated_at=now, **fields)
    session.add(patient)
    return patient


def check_new_patient(
    ctx: Context, today: date, first_name: str, last_name: str, email: str | None = None, phone: str | None = None,
    date_of_birth: str | None = None,
) -> dict[str, Any]:
    """A new patient's fields checked with the clinic's country and date order."""
    values = {"first_name": first_name, "last_name": last_name, "email": email or None, "phone": phone or None,
              "date_of_birth": date_of_birth or None}
    return check_fields(values, clinic_locale(ctx), today)


# --- the operations ----------------------------------------------------------------------


def create_patient(
    ctx: Context,
    first_name: str,
    last_name: str,
    email: str | None = None,
    phone: str | None = None,
    date_of_birth: str | None = None,
    allow_duplicate: bool = False,
) -> PatientView:
    """A new patient. One with the same name and date of birth, email or phone is refused
    with VALIDATION_ERROR naming it (`details.matches`) unless `allow_duplicate`."""
    with ctx.db.session() as session:
        locale = locale_in(session)
        now = ctx.clock.now()
        fields = check_fields(
            {"first_name": first_name, "last_name": last_name, "email": email, "phone": phone,
             "date_of_birth": date_of_birth},
            locale, now.date(),
        )
        patient = add_patient(session, fields, now, allow_duplicate=allow_duplicate)
        session.flush()
        return patient_view(patient, locale.country)


def update_patient(
    ctx: Context,
    patient_id: str,
    changes: dict[str, Any],
    expect_version: int | None = None,
    allow_duplicate: bool = False,
) -> PatientView:
    """Change some of a patient's fields, with the same checks as creating one. A patient
    changed since `expect_version` is VERSION_CONFLICT, and nothing is written."""
    with ctx.db.session() as session:
        patient = session.get(Patient, patient_id, with_for_update=True)
        if patient is None:
            raise not_found("patient", patient_id)
        if expect_version is not None and expect_version != patient.version:
            raise FrontdeskError(
                VERSION_CONFLICT,
                "This patient was changed since you opened them; look again before saving",
                {"patient_id": patient_id, "expected_version": expect_version, "current_version": patient.version},
            )
        locale = locale_in(session)
        now = ctx.clock.now()
        fields = check_fields(changes, locale, now.date())
        if not fields:
            return patient_view(patient, locale.country)
        if not allow_duplicate:
            # Only what this change brings can make a new duplicate (one allowed before stays).
            merged = {name: getattr(patient, name) for name in (*PATIENT_FIELDS, "phone_e164")} | fields
            if not {"first_name", "last_name", "date_of_birth"} & set(fields):
                merged["date_of_birth"] = None
            merged = {k: v for k, v in merged.items() if k in fields or k in ("first_name", "last_name", "date_of_birth")}
            refuse_duplicates(session, merged, locale, exclude=patient_id)
        for name, value in fields.items():
            setattr(patient, name, value)
        patient.updated_at = now
        try:
            session.flush()
        except StaleDataError:  # another desk changed them between our read and write
            raise FrontdeskError(VERSION_CONFLICT, "This patient was changed by another desk; look again",
                                 {"patient_id": patient_id}) from None
        return patient_view(patient, locale.country)


def get_patient(ctx: Context, patient_id: str) -> PatientView:
    with ctx.db.session(write=False) as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise not_found("patient", patient_id)
        return patient_view(patient, locale_in(session).country)


# --- search ------------------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"^[+0-9 ()./-]+$")
_YEAR = re.compile(r"^(19|20)\d\d$")
_WHOLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@dataclass(frozen=True)
class _Match:
    condition: Any  # what the patients must satisfy (the answer's truth on every engine)
    # On SQLite, an FTS5 table that finds them (or a superset) in name order, its rowid being
    # each patient's search_key: its name, the MATCH expression, and whether what it finds
    # must still be tested against `condition` (not for the word table: it is the answer).
    fts: tuple[str, str, bool] | None = None


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _trigram(column: str, needle: str) -> tuple[str, str, bool] | None:
    """A substring looked up in the trigram table (patients_fts): three characters or more."""
    return ("patients_fts", f"{column} : {_phrase(needle)}", True) if len(needle) >= 3 else None


def _match(text: str, locale: Locale, today: date) -> _Match:
    """What `text` is taken for, as a condition: a date of birth (in the clinic's order, or a
    year), a phone (whole or its start, in any common form), an email, or else a name (any
    order, accents and case ignored; a part of it will do, but one or two letters or digits
    find the names with a word starting so) or a part of an email. Each kind uses its own
    index."""
    if _YEAR.match(text):
        year = int(text)
        return _Match(Patient.date_of_birth.between(date(year, 1, 1), date(year, 12, 31)))
    try:
        born = parse_date_text(text, locale.date_order, today)
    except FrontdeskError:
        born = None
    if born is not None:
        return _Match(Patient.date_of_birth == born)
    if _PHONE_LIKE.match(text) and sum(ch.isdigit() for ch in text) >= 3:
        prefix = phone_search_start(text, locale.country)
        if prefix is None:  # digits from the middle of a number
            digits = re.sub(r"\D", "", text)
            return _Match(Patient.phone_e164.contains(digits, autoescape=True), _trigram("phone_e164", digits))
        # A range rather than LIKE, so the index serves it on every engine (":" follows "9").
        # Not the trigram table: its common trigrams (`+44`, `447`) would be read through.
        return _Match(and_(Patient.phone_e164 >= prefix, Patient.phone_e164 < prefix + ":"))
    if "@" in text:
        needle = text.lower()
        if _WHOLE_EMAIL.match(needle):  # the usual case, through the index
            return _Match(func.lower(Patient.email) == needle)
        return _Match(func.lower(Patient.email).contains(needle, autoescape=True), _trigram("email", needle))
    # A part of either order of the name.
    needle = fold(text.replace(",", " "))
    if len(needle) < 3:
        # Too short for trigrams: a name word starting so (`P`, `Pa`), in the word table
        # (patients_words) on SQLite. "\W" means the same to PostgreSQL and to Python.
        # Only its letters and digits count (`o'` is `o`); punctuation alone starts no word.
        start = "".join(ch for ch in needle if ch.isalnum())
        if not start:
            return _Match(false())
        return _Match(Patient.search_name.regexp_match(r"(^|\W)" + re.escape(start)),
                      ("patients_words", _phrase(start) + " *", False))
    return _Match(Patient.search_name.contains(needle, autoescape=True), _trigram("search_name", needle))


# More patients than this found by an index, and search walks the name order instead: they
# are then dense enough there that a page fills within a few rows. Up to it, sorting what was
# found is cheaper (a phone's start like `07700 001` finds about 1,000 of 300,000).
FEW_MATCHES = 2000


def _few(session: Session, condition: Any) -> bool:
    found = select(Patient.id).where(condition).limit(FEW_MATCHES + 1).subquery()
    return (session.scalar(select(func.count()).select_from(found)) or 0) <= FEW_MATCHES


def _narrowed(session: Session, match: _Match) -> list:
    """The conditions to search the (search_name, id) order with, when no FTS table serves
    the text: a date of birth, a year or a whole email through its own index, then sorted;
    one that finds many patients (a year) walks the name order instead, rather than sorting
    them all. PostgreSQL's planner weighs its indexes against that walk itself."""
    if session.get_bind().dialect.name != "sqlite" or _few(session, match.condition):
        return [match.condition]
    # coalesce() hides the condition from the planner, which then reads the name order.
    return [func.coalesce(match.condition, False)]


def _after_key(after: tuple[str, str]) -> Any:
    """The search_key of the last patient at or before a cursor's (search_name, id): the
    page after it is the keys above it (there may be none, or it may be renamed since)."""
    last = (select(Patient.search_key)
            .where(tuple_(Patient.search_name, Patient.id) <= tuple_(literal(after[0]), literal(after[1])))
            .order_by(Patient.search_name.desc(), Patient.id.desc()).limit(1).scalar_subquery())
    return func.coalesce(last, -(2**63))


def _fts_keys(session: Session, match: _Match, limit: int, offset: int, after: tuple | None) -> tuple[list, bool]:
    """One page's (search_name, id) keys read from an FTS table in its rowid order, which is
    the name order: SQLite stops once the page is full, whatever the matches number."""
    assert match.fts is not None
    name, expression, test = match.fts
    fts = table(name, column("rowid"))
    query = (select(Patient.search_name, Patient.id).select_from(fts)
             .join(Patient, Patient.search_key == fts.c.rowid)
             .where(sql_text(f"{name} MATCH :expression").bindparams(expression=expression)))
    if test:
        query = query.where(match.condition)
    if after is not None:
        query = query.where(fts.c.rowid > _after_key(after))
    rows = session.execute(query.order_by(fts.c.rowid).limit(limit + 1).offset(0 if after else offset)).all()
    return [tuple(r) for r in rows[:limit]], len(rows) > limit


def search_in_session(
    session: Session, text: str, limit: int, offset: int, today: date, cursor: str | None = None
) -> Page[PatientView]:
    check_paging(limit, offset)
    locale = locale_in(session)
    after = decode_cursor(cursor, (str, str)) if cursor else None
    text = (text or "").strip()
    order = (Patient.search_name, Patient.id)
    match = _match(text, locale, today) if text else None
    if match is not None and match.fts is not None and session.get_bind().dialect.name == "sqlite":
        page_keys, has_more = _fts_keys(session, match, limit, offset, after)
    else:
        keys = select(*order)
        if match is not None:
            keys = keys.where(*_narrowed(session, match))
        # The page's keys come from an index alone (at any offset), then only its patients.
        page_keys, has_more = read_keys(session, [keys], order, limit, offset, after)
    ids = [key[1] for key in page_keys]
    found = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    items = [patient_view(found[i], locale.country) for i in ids]
    return Page(items, limit, offset, offset + limit if has_more else None, has_more,
                encode_cursor(page_keys[-1]) if has_more else None)


def search_patients(
    ctx: Context, text: str, limit: int = 20, offset: int = 0, cursor: str | None = None
) -> Page[PatientView]:
    """Patients across the whole clinic found by `text`: a name in any order (accents and
    case ignored, a part of it will do), a date of birth as the desk writes it (or a year), a
    phone in any common national or international form (or its start), or an email. An empty
    text lists everyone. Sorted by last name, first name, id; paged at `offset`, or after
    `cursor` (a page's `next_cursor`)."""
    with ctx.db.session(write=False) as session:
        return search_in_session(session, text, limit, offset, ctx.clock.now().date(), cursor)


# --- history and export ------------------------------------------------------------------


def _appointments_of(patient_id: str):
    return of_patient(patient_id)  # their own, and the groups they attend


def patient_history(ctx: Context, patient_id: str, limit: int = 20, offset: int = 0) -> PatientHistory:
    """A patient's appointments, newest first and paged; upcoming ones (not yet started)
    apart from past ones, with the count of no-shows over all of them."""
    check_paging(limit, offset)
    with ctx.db.session(write=False) as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise not_found("patient", patient_id)
        locale = locale_in(session)
        now = ctx.clock.now()
        query = select(Appointment).where(_appointments_of(patient_id)).order_by(
            Appointment.start_time.desc(), Appointment.id
        )
        page = read_page(session, query, limit, offset, appointment_view)
        total, no_shows = session.execute(
            select(func.count(), func.count().filter(Appointment.status == "no_show")).where(
                _appointments_of(patient_id)
            )
        ).one()
        upcoming = sorted((a for a in page.items if a.start_time >= now), key=lambda a: (a.start_time, a.id))
        past = [a for a in page.items if a.start_time < now]
        return PatientHistory(
            patient_view(patient, locale.country), upcoming, past, no_shows, total,
            page.limit, page.offset, page.next_offset, page.has_more,
        )


def export_patient(ctx: Context, patient_id: str) -> dict[str, Any]:
    """Everything held about one patient, as one JSON-able document (a subject access
    request): the record, every appointment with its status history and change log, and the
    holds that were confirmed into them."""
    from frontdesk.services.holds import hold_view  # holds creates patients through this module

    with ctx.db.session(write=False) as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise not_found("patient", patient_id)
        locale = locale_in(session)
        now = ctx.clock.now()
        appointments = session.scalars(
            select(Appointment).where(_appointments_of(patient_id)).order_by(Appointment.start_time, Appointment.id)
        ).all()
        holds = [hold_view(a.hold, now) for a in appointments if a.hold is not None]
        return _plain({
            "object": "patient_export",
            "exported_at": now,
            "exported_by": ctx.operator,
            "patient": patient_view(patient, locale.country),
            "appointments": [appointment_view(a) for a in appointments],
            "holds": holds,
        })


def _plain(value: Any) -> Any:
    """Dataclasses, dates and instants as JSON's own types, all the way down."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
