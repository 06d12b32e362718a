"""Staff time (booking.md "Internal appointments") and video links ("Video"): the rules.

Pure: no I/O, no clock, no randomness (the meeting id comes in as a value).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from frontdesk.domain.errors import INVALID_STATE_TRANSITION, FrontdeskError, validation

MEETING_PLACEHOLDER = "{meeting_id}"
# A link must fit the 500-character link columns with any meeting id in it.
MAX_TEMPLATE_LENGTH = 400

# The day's actions of a patient's visit: staff time has no arrival, room or no-show.
VISIT_ONLY_ACTIONS = ("check-in", "start", "complete", "no-show")


def template_problem(template: str) -> str | None:
    """Why `template` cannot be the clinic's video URL template, or None."""
    if MEETING_PLACEHOLDER not in template:
        return f"must contain {MEETING_PLACEHOLDER} (where each booking's own meeting id goes)"
    if len(template) > MAX_TEMPLATE_LENGTH:
        return f"is longer than {MAX_TEMPLATE_LENGTH} characters"
    if any(c.isspace() for c in template):
        return "may not contain spaces"
    parts = urlsplit(template.replace(MEETING_PLACEHOLDER, "x"))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not a web address (https://host/...{meeting_id})"
    return None


def check_video_url_template(template: str | None) -> str | None:
    if template is None:
        return None
    problem = template_problem(template)
    if problem:
        raise validation(f"video_url_template {problem}", field="video_url_template")
    return template


def join_url(template: str, meeting_id: str) -> str:
    """The link of one meeting: the template with its id (the template's other braces kept as they are)."""
    return template.replace(MEETING_PLACEHOLDER, meeting_id)


def video_provider(template: str) -> str | None:
    """The provider a desk reads: the template's host (video.example.org)."""
    return urlsplit(template.replace(MEETING_PLACEHOLDER, "x")).hostname


def refuse_visit_action(action: str, status: str, attendance_status: str | None) -> None:
    """Staff time is never a patient's visit: nobody checks in, is taken in, completes or
    fails to come. (Confirm and cancel work as for any appointment.)"""
    if action in VISIT_ONLY_ACTIONS:
        raise FrontdeskError(
            INVALID_STATE_TRANSITION,
            f"Staff time has no {action}: it is not a patient's visit (it can be cancelled or moved)",
            {"current_status": status, "attendance_status": attendance_status, "attempted_action": action,
             "internal": True},
        )


def booking_clinicians(internal: bool, host: str | None, others: tuple[str, ...], patient_id: str | None,
                       appointment_type_id: str | None, reference_patient_ids: tuple[str, ...]) -> list[str]:
    """The clinicians a direct create books, the host first; VALIDATION_ERROR for staff-time
    fields on a patient's booking, and for a patient or a type on staff time."""
    if not internal:
        if others:
            raise validation("Only staff time (internal) takes more than one clinician", field="clinician_ids")
        if reference_patient_ids:
            raise validation("Only staff time (internal) has reference patients", field="reference_patients")
        return [host] if host else []
    if patient_id is not None:
        raise validation("Staff time is no patient's booking: name a patient it is about as a reference "
                         "patient, not as its patient", field="patient_id")
    if appointment_type_id is not None:
        raise validation("Staff time has no appointment type", field="appointment_type_id")
    if host is None:
        raise validation("Staff time needs at least one clinician", field="clinician_profile_id")
    clinicians = [host, *others]
    if len(set(clinicians)) != len(clinicians):
        raise validation("A clinician is named more than once", field="clinician_ids")
    return clinicians


def refuse_move_by_hold(internal: bool, status: str, attendance_status: str | None) -> None:
    """A hold is one clinician's slot of a type: staff time (several clinicians, no type)
    moves by changing its times instead (appointments update --start-time --end-time)."""
    if internal:
        raise FrontdeskError(
            INVALID_STATE_TRANSITION,
            "Staff time is moved by changing its times (appointments update --start-time --end-time), not onto a hold",
            {"current_status": status, "attendance_status": attendance_status, "attempted_action": "reschedule",
             "internal": True},
        )
