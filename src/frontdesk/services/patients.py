"""Finding patients at the desk: by name, email, phone or date of birth."""

from __future__ import annotations

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from frontdesk.domain.appointments import check_paging
from frontdesk.domain.errors import not_found
from frontdesk.services.context import Context
from frontdesk.services.objects import Page, PatientView
from frontdesk.services.records import read_page
from frontdesk.store.models import Patient


def patient_view(patient: Patient) -> PatientView:
    return PatientView(
        id=patient.id,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        email=patient.email,
        phone=patient.phone,
    )


def _without_separators(column):
    """A phone number with its spaces, dashes, dots and brackets taken out."""
    for ch in (" ", "-", ".", "(", ")"):
        column = func.replace(column, ch, "")
    return column


def _matches(text: str):
    """Case-insensitive: `text` found in the full name (either order), the email, the phone
    (with or without its spaces and dashes) or the date of birth (YYYY-MM-DD)."""
    needle = text.lower()
    full_name = func.lower(Patient.first_name + " " + Patient.last_name)
    conditions = [
        full_name.contains(needle, autoescape=True),
        func.lower(Patient.last_name + " " + Patient.first_name).contains(needle, autoescape=True),
        func.lower(Patient.email).contains(needle, autoescape=True),
        Patient.phone.contains(text, autoescape=True),
        cast(Patient.date_of_birth, String).contains(text, autoescape=True),
    ]
    digits = "".join(ch for ch in text if ch not in " -.()")
    if digits and digits.lstrip("+").isdigit():
        conditions.append(_without_separators(Patient.phone).contains(digits, autoescape=True))
    return or_(*conditions)


def search_in_session(session: Session, text: str, limit: int, offset: int) -> Page[PatientView]:
    check_paging(limit, offset)
    query = select(Patient)
    text = (text or "").strip()
    if text:
        query = query.where(_matches(text))
    query = query.order_by(func.lower(Patient.last_name), func.lower(Patient.first_name), Patient.id)
    return read_page(session, query, limit, offset, patient_view)


def search_patients(ctx: Context, text: str, limit: int = 20, offset: int = 0) -> Page[PatientView]:
    """Patients whose name, email, phone or date of birth contains `text` (any case); an
    empty text lists everyone. Sorted by last name, first name, id; paged."""
    with ctx.db.session(write=False) as session:
        return search_in_session(session, text, limit, offset)


def get_patient(ctx: Context, patient_id: str) -> PatientView:
    with ctx.db.session(write=False) as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise not_found("patient", patient_id)
        return patient_view(patient)
