"""A small clinic for the booking tests (holds, appointments, patients, concurrency).

Monday 2025-01-20 in Europe/London (UTC in winter, so local 09:00 is 09:00Z). The tests'
clock stands at 08:00Z that morning.
"""

from __future__ import annotations

from datetime import UTC, datetime

from frontdesk.services.clinic import load_clinic_data

CLINIC = {
    "clinic": {"name": "Riverside Health", "hold_minutes": 15},
    "locations": [
        {
            "id": "loc_central",
            "name": "Central London Clinic",
            "timezone": "Europe/London",
            "hours": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "20:00"}],
        },
        {"id": "loc_ny", "name": "New York Clinic", "timezone": "America/New_York"},
    ],
    "rooms": [
        {"id": "res_room_1", "name": "Consulting Room 1", "location_id": "loc_central"},
        {"id": "res_room_2", "name": "Gym", "location_id": "loc_central"},
    ],
    "clinicians": [
        {"id": "cli_sarah", "name": "Dr. Sarah Johnson", "timezone": "Europe/London"},
        {"id": "cli_tom", "name": "Tom Baker"},
        {"id": "cli_nina", "name": "Dr. Nina Park", "timezone": "America/New_York"},
    ],
    "appointment_types": [
        {
            # 30 minutes, 10 minutes' padding after; in person it takes Room 1.
            "id": "type_followup",
            "name": "Follow-up Consultation",
            "duration_minutes": 30,
            "padding_after_minutes": 10,
            "duration_options": [30, 60],
            "modes": ["in_person", "remote"],
            "clinician_ids": ["cli_sarah", "cli_tom"],
            "location_ids": ["loc_central"],
            "room_ids": ["res_room_1"],
        },
        {
            # A group class: three people share one start.
            "id": "type_class",
            "name": "Back Class",
            "duration_minutes": 60,
            "capacity": 3,
            "clinician_ids": ["cli_tom"],
            "location_ids": ["loc_central"],
            "room_ids": ["res_room_2"],
        },
        {
            "id": "type_call",
            "name": "Phone Call",
            "duration_minutes": 15,
            "modes": ["remote"],
            "clinician_ids": ["cli_nina"],
            "location_ids": [],
        },
    ],
    "schedules": [
        {"clinician_id": "cli_sarah", "location_id": "loc_central", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"},
        {"clinician_id": "cli_sarah", "remote": True, "days": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "19:00"},
        {"clinician_id": "cli_tom", "location_id": "loc_central", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"},
        {"clinician_id": "cli_nina", "remote": True, "days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"},
    ],
    "blocks": [
        {"resource_id": "cli_sarah", "start": "2025-01-20T12:30", "end": "2025-01-20T13:15", "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "reason": "Lunch"},
    ],
    "patients": [
        {"id": "pat_john_smith", "first_name": "John", "last_name": "Smith", "date_of_birth": "1980-04-02", "email": "john@example.com", "phone": "+44 20 7946 0000"},
        {"id": "pat_mary_jones", "first_name": "Mary", "last_name": "Jones", "date_of_birth": "1975-11-30", "email": "Mary.Jones@Example.org", "phone": "020 7946 0123"},
        {"id": "pat_ann_smithers", "first_name": "Ann", "last_name": "Smithers", "date_of_birth": "1990-06-15"},
    ],
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def load(ctx, data: dict | None = None) -> None:
    """Load the clinic (or `data`) through the clinic-file loader."""
    load_clinic_data(ctx, data or CLINIC, source="test")
