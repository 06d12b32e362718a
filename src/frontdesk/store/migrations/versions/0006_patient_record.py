"""the patient record: phones as E.164, a folded name to search, a version; the clinic's
country and date order

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import frontdesk.store.models
from frontdesk.domain.patients import phone_or_none, search_name

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clinic", sa.Column("country", sa.String(length=2), nullable=False, server_default="GB"))
    op.add_column("clinic", sa.Column("date_order", sa.String(length=3), nullable=False, server_default="DMY"))
    op.add_column("patients", sa.Column("phone_e164", sa.String(length=20), nullable=True))
    op.add_column("patients", sa.Column("search_name", sa.String(length=410), nullable=True))
    op.add_column("patients", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("patients", sa.Column("created_at", frontdesk.store.models.UTCDateTime(), nullable=True))
    op.add_column("patients", sa.Column("updated_at", frontdesk.store.models.UTCDateTime(), nullable=True))

    # Fill the new columns of the patients already there (folding is Python's, not SQL's).
    bind = op.get_bind()
    region = bind.execute(sa.text("SELECT country FROM clinic WHERE id = 1")).scalar() or "GB"
    patients = sa.table(
        "patients", sa.column("id"), sa.column("first_name"), sa.column("last_name"), sa.column("phone"),
        sa.column("phone_e164"), sa.column("search_name"),
    )
    rows = bind.execute(sa.select(patients.c.id, patients.c.first_name, patients.c.last_name, patients.c.phone)).all()
    for pid, first, last, phone in rows:
        bind.execute(
            patients.update().where(patients.c.id == pid).values(
                search_name=search_name(first, last), phone_e164=phone_or_none(phone, region)
            )
        )
    op.create_index("ix_patients_phone_e164", "patients", ["phone_e164"])
    op.create_index("ix_patients_search_name", "patients", ["search_name", "id"])
    op.create_index("ix_patients_date_of_birth", "patients", ["date_of_birth"])
    op.create_index("ix_patients_email_lower", "patients", [sa.text("lower(email)")])


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")
