"""Each remote booking's video meeting: one function every path calls (hold confirm, direct
create, a move, a clinic-file load), so a link is made, kept and cleared the same way.

A remote booking gets its own meeting id (random, unguessable, URL-safe) and, when the clinic
file sets `video_url_template`, the link: the template with the id, in both `video_link` and
`meeting_url`. Without a template it gets the meeting id alone; the UI says where to set the
template. A booking that already has a link (its own, or one a clinic file gave) keeps it:
the patient may have it already. A booking moved to in person loses its link.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from frontdesk.domain.staff_video import join_url, video_provider
from frontdesk.services.records import log_change
from frontdesk.store.models import Appointment, Clinic

LINK_FIELDS = ("meeting_id", "video_link", "meeting_url", "remote_channel", "video_provider")


def new_meeting_id() -> str:
    """128 random bits, URL-safe: nobody guesses another patient's meeting."""
    return secrets.token_urlsafe(16)


def settle_video(session: Session, appointment: Appointment, who: str | None = None,
                 now: datetime | None = None) -> None:
    """Give a remote appointment its meeting (unless it has a link already), or take the
    link off one that is in person. With `who` and `now` (a change to an existing
    appointment) every field changed goes into its change log."""
    if appointment.is_remote:
        if appointment.meeting_id or appointment.video_link or appointment.meeting_url:
            return
        clinic = session.get(Clinic, 1)
        template = clinic.video_url_template if clinic is not None else None
        meeting_id = new_meeting_id()
        url = join_url(template, meeting_id) if template else None
        values: dict[str, str | None] = {
            "meeting_id": meeting_id, "video_link": url, "meeting_url": url,
            "remote_channel": appointment.remote_channel or "video",
            "video_provider": video_provider(template) if template else appointment.video_provider,
        }
    else:
        values = dict.fromkeys(LINK_FIELDS)
    for field, value in values.items():
        old = getattr(appointment, field)
        if old != value:
            if who is not None and now is not None:
                log_change(appointment, field, old, value, who, now)
            setattr(appointment, field, value)
