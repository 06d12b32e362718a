"""Writing a checked clinic file into a session, and saying what it changed.

Rows with ids are matched by id: new ones added, the others updated where they differ.
Schedules, overrides and blocks have no ids; each is known by a digest of its values, and
they are the file's: a section the file has replaces those rows of every clinician and room
the file lists or the section names (a section the file leaves out is left alone).
An appointment a desk changed since it was loaded is kept as the desk left it.
Busy time is not written here: services/clinic.py books it through the booking rule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from frontdesk.store.clinic_file.check import Checked, Existing, check_clinic_data
from frontdesk.store.clinic_file.fields import DAYS, SECTIONS, file_errors
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Attendee,
    Block,
    Clinic,
    FieldChange,
    Location,
    LocationHours,
    Patient,
    Resource,
    ScheduleOverride,
    ScheduleRule,
    StatusChange,
    appointment_resources,
)

CHUNK = 500  # ids per IN (...) query


def _changes() -> dict[str, dict[str, list[str]]]:
    return {section: {"added": [], "changed": [], "kept": [], "removed": []} for section in ("clinic", *SECTIONS)}


@dataclass
class LoadResult:
    counts: dict[str, int]  # the rows in the file by section
    appointment_ids: list[str]  # the file's appointments the load wrote, whose busy time the caller writes
    repadded_type_ids: set[str]  # types whose padding changed: their bookings' busy time too
    # By section: ids (or places and descriptions, for rows without ids) added, changed,
    # kept (a desk's change not overwritten) and removed.
    changes: dict[str, dict[str, list[str]]] = field(default_factory=_changes)
    stamp_ids: list[str] = field(default_factory=list)  # appointments now as the file has them


def check_file(session: Session, data: Any, source: str) -> Checked:
    """The file checked against the database as `session` sees it; VALIDATION_ERROR listing
    every problem. Cheap enough to run before the write transaction and again inside it."""
    checked, problems = check_clinic_data(data, Existing.read(session))
    if problems:
        raise file_errors(source, problems)
    return checked


def load_into_session(session: Session, data: Any, source: str, now: datetime, operator: str,
                      settle: Callable[[Appointment], None] | None = None) -> LoadResult:
    """Check the whole file and, only if it has no problem, write it in `session`, all but
    busy time. Raises VALIDATION_ERROR listing every problem. `settle` sees each appointment
    added or changed before it is written (the caller gives remote ones their video meetings)."""
    existing = Existing.read(session)
    checked, problems = check_clinic_data(data, existing)
    if problems:
        raise file_errors(source, problems)
    changes = _changes()
    _write_clinic(session, checked, changes)
    _write_locations(session, checked, changes)
    _write_resources(session, checked, changes)
    repadded = _write_types(session, checked, existing, changes)
    _write_hours_and_time_off(session, checked, changes)
    added, changed = _merge_all(session, Patient, checked.patients)
    changes["patients"].update(added=added, changed=changed)
    session.flush()
    written, stamp = _write_appointments(session, checked.appointments, now, operator, changes["appointments"], settle)
    return LoadResult(checked.counts, written, repadded, changes, stamp)


def stamp_loaded(session: Session, appointment_ids: list[str]) -> None:
    """Record that these appointments are as the file has them: their `loaded_version` is
    their version now. One UPDATE of that column alone, outside the ORM, so it does not
    itself count as a change (the ORM would add one to `version`). Call it last."""
    table = Appointment.__table__
    for i in range(0, len(appointment_ids), CHUNK):
        session.execute(
            update(table).where(table.c.id.in_(appointment_ids[i : i + CHUNK])).values(loaded_version=table.c.version)
        )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Appointment):
            session.expire(obj, ["loaded_version"])


# --- rows with ids -----------------------------------------------------------------------


def _assign(obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the attributes that differ; {field: (old, new)} of those changed."""
    changed = {}
    for key, value in values.items():
        old = getattr(obj, key)
        if old != value:
            changed[key] = (old, value)
            setattr(obj, key, value)
    return changed


def _by_id(session: Session, model: type[Any], ids: list[str]) -> dict[str, Any]:
    """The rows of `model` with these ids, read in a few queries rather than one each."""
    found: dict[str, Any] = {}
    for i in range(0, len(ids), CHUNK):
        for obj in session.scalars(select(model).where(model.id.in_(ids[i : i + CHUNK]))):
            found[obj.id] = obj
    return found


def _merge_all(session: Session, model: type[Any], records: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Insert rows with new ids; update the others in place where they differ. The ids
    (added, changed)."""
    found = _by_id(session, model, [r["id"] for r in records])
    added, changed = [], []
    with session.no_autoflush:
        for values in records:
            obj = found.get(values["id"])
            if obj is None:
                session.add(model(**values))
                added.append(values["id"])
            elif _assign(obj, values):
                changed.append(values["id"])
    return added, changed


def _write_clinic(session: Session, checked: Checked, changes: dict) -> None:
    if checked.clinic is None:
        return
    clinic = session.get(Clinic, 1)
    if clinic is None:
        session.add(Clinic(id=1, **checked.clinic))
        changes["clinic"]["added"].append("clinic")
    elif _assign(clinic, checked.clinic):
        changes["clinic"]["changed"].append("clinic")


def _write_locations(session: Session, checked: Checked, changes: dict) -> None:
    hours = {record["id"]: record.pop("hours") for record in checked.locations}
    added, changed = _merge_all(session, Location, checked.locations)
    session.flush()
    for location in _by_id(session, Location, list(hours)).values():
        if [(h.weekday, h.start_minute, h.end_minute) for h in location.hours] != hours[location.id]:
            location.hours = [LocationHours(weekday=d, start_minute=s, end_minute=e) for d, s, e in hours[location.id]]
            if location.id not in added and location.id not in changed:
                changed.append(location.id)
    changes["locations"].update(added=added, changed=changed)


def _write_resources(session: Session, checked: Checked, changes: dict) -> None:
    for section, records in (("clinicians", [{**r, "location_id": None} for r in checked.clinicians]),
                             ("rooms", [{**r, "timezone": None} for r in checked.rooms])):
        added, changed = _merge_all(session, Resource, records)
        changes[section].update(added=added, changed=changed)
    session.flush()


def _write_types(session: Session, checked: Checked, existing: Existing, changes: dict) -> set[str]:
    """The types and who, where and in which rooms each is offered; the ids of those whose
    padding changed (their bookings' busy time must be written again)."""
    links = {r["id"]: {key: r.pop(key) for key in ("clinician_ids", "location_ids", "room_ids")} for r in checked.types}
    repadded = {
        r["id"] for r in checked.types
        if r["id"] in existing.types
        and existing.types[r["id"]] != (r["padding_before_minutes"], r["padding_after_minutes"])
    }
    added, changed = _merge_all(session, AppointmentType, checked.types)
    session.flush()
    for kind_type in _by_id(session, AppointmentType, list(links)).values():
        for attr, key, model in (("clinicians", "clinician_ids", Resource), ("locations", "location_ids", Location),
                                 ("rooms", "room_ids", Resource)):
            wanted = links[kind_type.id][key]
            if [item.id for item in getattr(kind_type, attr)] != wanted:
                setattr(kind_type, attr, [session.get(model, i) for i in wanted])
                if kind_type.id not in added and kind_type.id not in changed:
                    changed.append(kind_type.id)
    session.flush()
    changes["appointment_types"].update(added=added, changed=changed)
    return repadded


# --- rows without ids: the file's own ------------------------------------------------------


def _digest(kind: str, values: dict) -> str:
    canonical = json.dumps({"kind": kind, **values}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hhmm(minute: int | None) -> str:
    return "closed" if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


def describe(section: str, row: Any) -> str:
    """A row without an id, as a person would name it (a record of the file or a database row)."""
    get: Callable[[str], Any] = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
    if section == "blocks":
        text = f"{get('resource_id')} {get('start_local'):%Y-%m-%dT%H:%M} to {get('end_local'):%Y-%m-%dT%H:%M}"
        return text + (f" {get('rrule')}" if get("rrule") else "")
    where = "remote" if get("remote") else f"at {get('location_id')}"
    if section == "schedules":
        days = ",".join(DAYS[d] for d in get("weekdays"))
        return f"{get('clinician_id')} {where} {days} {_hhmm(get('start_minute'))}-{_hhmm(get('end_minute'))}"
    hours = _hhmm(get("start_minute")) + ("" if get("start_minute") is None else f"-{_hhmm(get('end_minute'))}")
    return f"{get('clinician_id')} {where} {get('date')} {hours}"


KEYED = (  # section, model, digest kind, the column naming whose row it is
    ("schedules", ScheduleRule, "schedule", "clinician_id"),
    ("overrides", ScheduleOverride, "override", "clinician_id"),
    ("blocks", Block, "block", "resource_id"),
)


def _write_hours_and_time_off(session: Session, checked: Checked, changes: dict) -> None:
    listed = {r["id"] for r in checked.clinicians + checked.rooms}
    for section, model, kind, owner in KEYED:
        records = getattr(checked, section)
        scope = listed | {r[owner] for r in records}
        added, removed = _replace_keyed(session, model, kind, owner, records, scope if section in checked.sections else set())
        changes[section].update(added=added, removed=removed)
    session.flush()


def _replace_keyed(
    session: Session, model: type[Any], kind: str, owner: str, records: list[dict], scope: set[str],
) -> tuple[list[str], list[str]]:
    """Insert the file's rows not yet stored; delete the stored rows of `scope` (resources
    whose rows the file speaks for) that the file no longer has. (added places, removed rows)."""
    section = next(s for s, m, _, _ in KEYED if m is model)
    keyed: dict[str, tuple[dict, dict]] = {}
    for record in records:
        extra = {k: record.pop(k) for k in list(record) if k.startswith("_") or k == "span"}
        keyed.setdefault(_digest(kind, record), (record, extra))
    removed = []
    column = getattr(model, owner)
    owners = sorted(scope)
    for i in range(0, len(owners), CHUNK):
        for row in session.scalars(select(model).where(column.in_(owners[i : i + CHUNK])).order_by(model.id)):
            if row.key not in keyed:
                removed.append(f"#{row.id} {describe(section, row)}")
                session.delete(row)
    known: set[str] = set()
    keys = list(keyed)
    for i in range(0, len(keys), CHUNK):
        known |= set(session.scalars(select(model.key).where(model.key.in_(keys[i : i + CHUNK]))))
    added = []
    for key, (record, extra) in keyed.items():
        if key in known:
            continue
        if extra.get("span"):
            record["span_start"], record["span_end"] = extra["span"]
        session.add(model(key=key, **record))
        added.append(f"{extra['_place']} {describe(section, record)}")
    return added, removed


# --- appointments --------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _current_links(session: Session, ids: list[str]) -> dict[str, list[str]]:
    link = appointment_resources.c
    current: dict[str, list[str]] = {}
    for i in range(0, len(ids), CHUNK):
        for aid, rid in session.execute(
            select(link.appointment_id, link.resource_id)
            .where(link.appointment_id.in_(ids[i : i + CHUNK])).order_by(link.appointment_id, link.resource_id)
        ):
            current.setdefault(aid, []).append(rid)
    return current


def _write_appointments(
    session: Session, records: list[dict], now: datetime, operator: str, report: dict[str, list[str]],
    settle: Callable[[Appointment], None] | None = None,
) -> tuple[list[str], list[str]]:
    """Add or update the file's appointments; those a desk changed since they were loaded are
    kept. (ids written or already as the file has them, ids to stamp as loaded)."""
    if not records:
        return [], []
    type_names = dict(session.execute(select(AppointmentType.id, AppointmentType.name)).all())
    ids = [r["id"] for r in records]
    found = _by_id(session, Appointment, ids)
    current = _current_links(session, ids)
    links: dict[str, list[str]] = {}
    written, stamp = [], []
    with session.no_autoflush:
        for record in records:
            aid = record["id"]
            clinician = [record["clinician_profile_id"]] if record["clinician_profile_id"] else []
            wanted = sorted({*clinician, *record.pop("resource_ids")})
            attendees = record.pop("attendees")
            appointment = found.get(aid)
            outcome, written_row = _write_appointment(session, appointment, record, wanted != current.get(aid, []),
                                                      type_names, now, operator, settle)
            if outcome != "kept" and _roster_differs(written_row, attendees):
                if outcome == "unchanged" and _desk_changed(written_row):
                    outcome = "kept"  # the desk changed the roster since the last load
                else:
                    _write_attendees(written_row, attendees, now, operator)
                    outcome = "changed" if outcome == "unchanged" else outcome
            if outcome == "kept":
                report["kept"].append(aid)
                continue
            if outcome != "unchanged":
                report[outcome].append(aid)
            # Only "added" has no stored appointment.
            if appointment is None or outcome != "unchanged" or appointment.loaded_version is None:
                stamp.append(aid)
            written.append(aid)
            links[aid] = wanted
    session.flush()
    _write_appointment_links(session, links, current)
    return written, stamp


def _desk_changed(appointment: Appointment) -> bool:
    """Changed since a load last wrote it. A row loaded before loads were recorded (NULL)
    counts as unchanged: docs/decisions.md."""
    return appointment.loaded_version is not None and appointment.version != appointment.loaded_version


def _write_appointment(
    session: Session, appointment: Appointment | None, record: dict, links_differ: bool,
    type_names: dict[str, str], now: datetime, operator: str, settle: Callable[[Appointment], None] | None = None,
) -> tuple[str, Appointment]:
    """Add one appointment from the file, or update the one with its id where it differs:
    "added", "changed", "unchanged" or "kept" (a desk's change, left as it is); and the row."""
    created_at, updated_at = record.pop("created_at"), record.pop("updated_at")
    record["title"] = record["title"] or type_names[record["appointment_type_id"]]
    record["duration_minutes"] = int((record["end_time"] - record["start_time"]).total_seconds() // 60)
    if appointment is None:
        stamp = created_at or now
        appointment = Appointment(**record, created_by=operator, created_at=stamp, updated_at=updated_at or now)
        appointment.status_history.append(StatusChange(status=record["status"], changed_by=operator, changed_at=stamp))
        if settle is not None:
            settle(appointment)
        session.add(appointment)
        return "added", appointment
    _keep_made_link(appointment, record)
    if not links_differ and all(getattr(appointment, key) == value for key, value in record.items()):
        return "unchanged", appointment
    if _desk_changed(appointment):
        return "kept", appointment
    # Matched by id: only what the file changes is written, and recorded as a change.
    changed = _assign(appointment, record)
    if created_at is not None:
        _assign(appointment, {"created_at": created_at})
    if "status" in changed:
        appointment.status_history.append(StatusChange(status=record["status"], changed_by=operator, changed_at=now))
    for name, (old, new) in changed.items():
        if name != "status":
            appointment.change_log.append(FieldChange(
                field=name, old=_json_value(old), new=_json_value(new), changed_by=operator, changed_at=now,
            ))
    if settle is not None:
        settle(appointment)
    if updated_at is not None:
        _assign(appointment, {"updated_at": updated_at})
    elif changed:
        appointment.updated_at = now
    return "changed", appointment


def _roster(appointment: Appointment) -> list[dict]:
    return sorted(
        ({"patient_id": a.patient_id, "attendance_status": a.attendance_status, "no_show": a.no_show,
          "payment_status": a.payment_status} for a in appointment.attendees),
        key=lambda a: a["patient_id"],
    )


def _roster_differs(appointment: Appointment, wanted: list[dict]) -> bool:
    return appointment.is_group and _roster(appointment) != sorted(wanted, key=lambda a: a["patient_id"])


def _write_attendees(appointment: Appointment, wanted: list[dict], now: datetime, operator: str) -> None:
    """A group's attendees as the file has them (those it no longer names are taken off),
    the change logged."""
    current = _roster(appointment)
    by_patient = {a.patient_id: a for a in appointment.attendees}
    names = {w["patient_id"] for w in wanted}
    appointment.attendees[:] = [a for a in appointment.attendees if a.patient_id in names]
    for record in wanted:
        attendee = by_patient.get(record["patient_id"])
        if attendee is None:
            appointment.attendees.append(Attendee(**record, added_by=operator, added_at=now, last_updated_at=now))
        elif any(getattr(attendee, key) != value for key, value in record.items()):
            _assign(attendee, record)
            attendee.last_updated_at = now
    if current:  # a new appointment's first roster is its creation, not a change
        appointment.change_log.append(FieldChange(
            field="attendees", old=current, new=_roster(appointment), changed_by=operator, changed_at=now))
    appointment.updated_at = now


def _keep_made_link(appointment: Appointment, record: dict) -> None:
    """A remote appointment the file gives no link keeps the meeting frontdesk made for it
    (services/video.py): the patient may have the link, and loading the file again changes
    nothing. The file's own link, when it gives one, is written as any other field."""
    if appointment.meeting_id and record["is_remote"] and not record["video_link"] and not record["meeting_url"]:
        for key in ("video_link", "meeting_url", "remote_channel", "video_provider"):
            if record[key] is None:
                del record[key]


def _write_appointment_links(session: Session, links: dict[str, list[str]], current: dict[str, list[str]]) -> None:
    """Each appointment's clinician and rooms (its busy time is written by the caller,
    through the booking rule)."""
    rows: list[dict] = []
    for aid, wanted in links.items():
        if current.get(aid, []) == wanted:
            continue
        if aid in current:
            session.execute(delete(appointment_resources).where(appointment_resources.c.appointment_id == aid))
        rows.extend({"appointment_id": aid, "resource_id": rid} for rid in wanted)
    if rows:
        session.execute(insert(appointment_resources), rows)
