"""indexes for every appointments-list filter (each ends in start_time, id: keyset paging);
patient search through a trigram index (SQLite FTS5, PostgreSQL pg_trgm)

Revision ID: 0008
Revises: 0007

SQLite: `patients_fts` is an external-content FTS5 table over `patients` (name, phone, email),
kept in step by triggers. Its rowid is the patient's `search_key`, set once as the row is
inserted: the table's own rowid may be renumbered (VACUUM, a dump and restore), which would
leave the index pointing at other patients. A later migration that rebuilds `patients`
(batch mode copies the table) must create the triggers again and run
`INSERT INTO patients_fts(patients_fts) VALUES ('rebuild')`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_FTS_TRIGGERS = (
    # A new patient takes the next key, then enters the index under it.
    "CREATE TRIGGER patients_fts_insert AFTER INSERT ON patients BEGIN"
    " UPDATE patients SET search_key = (SELECT coalesce(max(search_key), 0) + 1 FROM patients)"
    " WHERE rowid = new.rowid AND search_key IS NULL;"
    " INSERT INTO patients_fts (rowid, search_name, phone_e164, email)"
    " SELECT search_key, search_name, phone_e164, email FROM patients WHERE rowid = new.rowid;"
    " END",
    "CREATE TRIGGER patients_fts_delete AFTER DELETE ON patients BEGIN"
    " INSERT INTO patients_fts (patients_fts, rowid, search_name, phone_e164, email)"
    " VALUES ('delete', old.search_key, old.search_name, old.phone_e164, old.email);"
    " END",
    "CREATE TRIGGER patients_fts_update AFTER UPDATE OF search_name, phone_e164, email ON patients BEGIN"
    " INSERT INTO patients_fts (patients_fts, rowid, search_name, phone_e164, email)"
    " VALUES ('delete', old.search_key, old.search_name, old.phone_e164, old.email);"
    " INSERT INTO patients_fts (rowid, search_name, phone_e164, email)"
    " VALUES (new.search_key, new.search_name, new.phone_e164, new.email);"
    " END",
)


def upgrade() -> None:
    # The two-column indexes gain `id`, so a page's keys are read from the index alone.
    op.drop_index("ix_appointments_clinician_start", "appointments")
    op.drop_index("ix_appointments_location_start", "appointments")
    op.create_index("ix_appointments_clinician_start", "appointments", ["clinician_profile_id", "start_time", "id"])
    op.create_index("ix_appointments_location_start", "appointments", ["location_id", "start_time", "id"])
    op.create_index("ix_appointments_status_start", "appointments", ["status", "start_time", "id"])
    op.create_index("ix_appointments_type_start", "appointments", ["appointment_type_id", "start_time", "id"])
    op.create_index("ix_appointments_patient_start", "appointments", ["patient_id", "start_time", "id"])
    op.create_index("ix_appointments_internal_start", "appointments", ["internal", "start_time", "id"])
    op.drop_index("ix_appointments_patient_id", "appointments")
    op.create_index("ix_appointment_resources_resource", "appointment_resources", ["resource_id", "appointment_id"])
    op.add_column("patients", sa.Column("search_key", sa.Integer(), nullable=True))
    op.create_index("ix_patients_search_key", "patients", ["search_key"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_patients_search_name_trgm ON patients USING gin (search_name gin_trgm_ops)")
        op.execute("CREATE INDEX ix_patients_phone_trgm ON patients USING gin (phone_e164 gin_trgm_ops)")
        op.execute("CREATE INDEX ix_patients_email_trgm ON patients USING gin (lower(email) gin_trgm_ops)")
    elif op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE patients_fts USING fts5(search_name, phone_e164, email, content='patients',"
            " content_rowid='search_key', tokenize='trigram case_sensitive 0')"
        )
        op.execute("UPDATE patients SET search_key = rowid")  # the patients already there
        for trigger in _FTS_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO patients_fts (patients_fts) VALUES ('rebuild')")


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")
