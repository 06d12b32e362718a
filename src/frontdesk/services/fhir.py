"""FHIR R4 out (interop.md): appointments as `Appointment` resources, a list as a searchset
`Bundle`, free slots as a `Bundle` of `Slot`s. A mapping from the services' views to plain
dicts (with the names `names` reads once); the command line writes them as JSON with its
usual writer.

Ids: a FHIR id allows only letters, digits, "-" and "." (at most 64), and frontdesk ids have
"_" (`apt_...`, `cli_sarah`). Each resource and reference therefore carries the FHIR-safe
form of the id (`fhir_id`) and, as an `identifier`, frontdesk's own id, so a receiving
system can always find its way back.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from frontdesk.domain.day import ARRIVED, IN_ROOM
from frontdesk.domain.statuses import GOING
from frontdesk.domain.timeutil import iso
from frontdesk.services.context import Context
from frontdesk.services.objects import AppointmentView, AvailabilityResult, Page, Slot
from frontdesk.store.models import Location, Resource

SYSTEM = "urn:frontdesk"  # identifiers' system: urn:frontdesk:<kind>

# interop.md's status map; a visit arrived or in the room is `arrived` (below).
APPOINTMENT_STATUS = {
    "pending_approval": "pending",
    "pending": "pending",
    "confirmed": "booked",
    "scheduled": "booked",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}

_NOT_FHIR = re.compile(r"[^A-Za-z0-9\-.]")


def fhir_id(frontdesk_id: str) -> str:
    """A FHIR id for a frontdesk id: "_" and other characters FHIR refuses become "-"; an id
    too long keeps its start and a digest of the whole."""
    safe = _NOT_FHIR.sub("-", frontdesk_id)
    if len(safe) > 64:
        safe = f"{safe[:47]}-{hashlib.sha256(frontdesk_id.encode()).hexdigest()[:16]}"
    return safe


def _identifier(kind: str, frontdesk_id: str) -> dict[str, str]:
    return {"system": f"{SYSTEM}:{kind}", "value": frontdesk_id}


def reference(resource_type: str, frontdesk_id: str, kind: str, display: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "reference": f"{resource_type}/{fhir_id(frontdesk_id)}",
        "type": resource_type,
        "identifier": _identifier(kind, frontdesk_id),
    }
    if display:
        ref["display"] = display
    return ref


def appointment_status(status: str, attendance_status: str | None) -> str:
    """The FHIR status: the map of interop.md; an active visit whose patient has arrived or is
    in the room is `arrived`."""
    if attendance_status in (ARRIVED, IN_ROOM) and status not in ("cancelled", "completed", "no_show"):
        return "arrived"
    return APPOINTMENT_STATUS[status]


def _participant(actor: dict[str, Any], status: str = "accepted") -> dict[str, Any]:
    return {"actor": actor, "required": "required", "status": status}


@dataclass(frozen=True)
class Names:
    """What a reference shows beside its id: each resource's kind and name, each location's
    name (read by `names`)."""

    resources: dict[str, tuple[str, str]]  # id -> (kind: clinician or room, name)
    locations: dict[str, str]


def names(ctx: Context) -> Names:
    with ctx.db.session(write=False) as session:
        resources = {rid: (kind, name) for rid, kind, name in session.execute(
            select(Resource.id, Resource.kind, Resource.name))}
        locations = dict(session.execute(select(Location.id, Location.name)).all())
    return Names(resources, locations)


def appointment_resource(a: AppointmentView, known: Names) -> dict[str, Any]:
    """One FHIR R4 Appointment."""
    status = appointment_status(a.status, a.attendance_status)
    # A booking not yet confirmed is tentative for the patient too.
    patient_status = "tentative" if status == "pending" else "accepted"
    participants = []
    if a.group:
        for attendee in a.attendees:
            participants.append(_participant(
                reference("Patient", attendee.id, "patient", attendee.name),
                patient_status if attendee.attendance_status == GOING else "declined",
            ))
    elif a.patient_id:
        participants.append(_participant(reference("Patient", a.patient_id, "patient", a.attendee_name), patient_status))
    # The clinician first (the host of staff time), then the other clinicians and the rooms.
    ordered = ([a.clinician_profile_id] if a.clinician_profile_id else []) + [
        rid for rid in a.resource_ids if rid != a.clinician_profile_id]
    for resource_id in ordered:
        kind, name = known.resources.get(resource_id, ("clinician", None))
        if kind == "clinician":
            participants.append(_participant(reference("Practitioner", resource_id, "clinician", name)))
        else:
            # A room is a place, which is what a FHIR Location is (physicalType "ro"), not a
            # service (HealthcareService): a Location, beside the location it is in.
            participants.append(_participant(reference("Location", resource_id, "room", name)))
    if a.location_id and not a.is_remote:
        participants.append(_participant(
            reference("Location", a.location_id, "location", known.locations.get(a.location_id))))
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": fhir_id(a.id),
        "meta": {"versionId": str(a.version), "lastUpdated": iso(a.updated_at)},
        "identifier": [_identifier("appointment", a.id)],
        "status": status,
        "start": iso(a.start_time),
        "end": iso(a.end_time),
        "minutesDuration": a.duration_minutes,
        "created": iso(a.created_at),
        "description": a.title,
        "participant": participants,
    }
    if a.appointment_type_id:
        resource["serviceType"] = [{"coding": [{"system": f"{SYSTEM}:appointment-type", "code": a.appointment_type_id}]}]
    if a.status in ("cancelled", "no_show") and a.cancellation_reason:
        resource["cancelationReason"] = {"text": a.cancellation_reason}
    if a.description:
        resource["comment"] = a.description
    link = a.video_call.join_url if a.video_call else None
    if a.is_remote and link:
        # R4 has no field for a virtual meeting (R5's virtualService): the patient is told here.
        resource["patientInstruction"] = f"Join the video call: {link}"
    if a.reference_patients:
        resource["supportingInformation"] = [reference("Patient", pid, "patient") for pid in a.reference_patients]
    return resource


def appointment_bundle(page: Page[AppointmentView], known: Names) -> dict[str, Any]:
    """A page of appointments as a searchset Bundle (its `total` is left out: a page does not
    know how many match in all)."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": appointment_resource(a, known), "search": {"mode": "match"}} for a in page.items],
    }


def slot_bundle(result: AvailabilityResult) -> dict[str, Any]:
    """Free slots as a searchset Bundle of `Slot`s (status free), each referring to its
    clinician's `Schedule`; the Schedules come along as included entries."""
    schedules: dict[str, dict[str, Any]] = {}
    entries = []
    for slot in result.slots:
        if slot.clinician_id and slot.clinician_id not in schedules:
            schedules[slot.clinician_id] = {
                "resourceType": "Schedule",
                "id": fhir_id(slot.clinician_id),
                "identifier": [_identifier("clinician", slot.clinician_id)],
                "active": True,
                "actor": [reference("Practitioner", slot.clinician_id, "clinician", slot.clinician_name)],
            }
        entries.append({"resource": _slot(slot), "search": {"mode": "match"}})
    entries += [{"resource": schedule, "search": {"mode": "include"}} for schedule in schedules.values()]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _slot(slot: Slot) -> dict[str, Any]:
    # R4's Slot has no place of its own: its comment says where (and a group's seats left).
    where = "by video" if slot.is_remote else f"at {slot.location_name or slot.location_id}"
    seats = f"; {slot.seats_left} seats left" if slot.seats_left is not None else ""
    resource: dict[str, Any] = {
        "resourceType": "Slot",
        "status": "free",
        "start": slot.start_time.isoformat(),
        "end": slot.end_time.isoformat(),
        "comment": f"{slot.clinician_name or slot.clinician_id} {where}{seats}",
    }
    if slot.clinician_id:
        resource["schedule"] = reference("Schedule", slot.clinician_id, "clinician", slot.clinician_name)
    return resource
