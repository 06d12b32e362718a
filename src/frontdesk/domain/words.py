"""The desk's words for the fields of appointments and patients: what the change log, a
conflict notice and a form's message call them, from this one table."""

FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "date_of_birth": "Date of birth",
    "reason": "Reason",
    "title": "Title",
    "description": "Notes",
    "attendee_name": "Attendee",
    "attendee_email": "Attendee email",
    "start_time": "Start",
    "end_time": "End",
    "duration_minutes": "Length",
    "status": "Status",
    "cancellation_reason": "Reason",
    "overlap_reason": "Overlap reason",
    "clinician_profile_id": "Clinician",
    "location_id": "Location",
    "patient_id": "Patient",
    "appointment_type_id": "Type",
    "is_remote": "Video",
    "video_link": "Video link",
    "meeting_url": "Meeting link",
    "meeting_id": "Meeting id",
    "remote_channel": "Remote by",
    "video_provider": "Video service",
    "attendees": "Attendees",
    "resource_ids": "Rooms and clinician",
}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
