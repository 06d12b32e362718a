"""the seed's appointment model: groups with attendees, series, internal time, video links

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import frontdesk.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clinic", sa.Column("video_url_template", sa.Text(), nullable=True))
    op.add_column("holds", sa.Column("series_rule", sa.Text(), nullable=True))
    op.add_column("holds", sa.Column("occurrences", sa.JSON(), nullable=True))
    op.add_column("holds", sa.Column("skipped", sa.JSON(), nullable=True))
    op.add_column("busy_times", sa.Column("seats", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("appointments", sa.Column("is_group", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("appointments", sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("appointments", sa.Column("series_id", sa.String(length=100), nullable=True))
    op.add_column("appointments", sa.Column("series_rule", sa.Text(), nullable=True))
    op.add_column("appointments", sa.Column("series_index", sa.Integer(), nullable=True))
    op.add_column("appointments", sa.Column("meeting_id", sa.String(length=100), nullable=True))
    op.create_index("ix_appointments_series_id", "appointments", ["series_id"])
    op.create_table(
        "attendees",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("appointment_id", sa.String(length=100),
                  sa.ForeignKey("appointments.id", name="fk_attendees_appointment_id_appointments",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("patient_id", sa.String(length=100),
                  sa.ForeignKey("patients.id", name="fk_attendees_patient_id_patients"), nullable=False),
        sa.Column("attendance_status", sa.String(length=20), nullable=False),
        sa.Column("no_show", sa.Boolean(), nullable=False),
        sa.Column("payment_status", sa.String(length=20), nullable=False),
        sa.Column("hold_id", sa.String(length=100), nullable=True),
        sa.Column("former_appointment_id", sa.String(length=100), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_updated_at", frontdesk.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attendees"),
        sa.UniqueConstraint("appointment_id", "patient_id", name="uq_attendees_appointment_id"),
    )
    op.create_index("ix_attendees_patient_id", "attendees", ["patient_id"])
    op.create_index("ix_attendees_former_appointment_id", "attendees", ["former_appointment_id"])
    op.create_table(
        "reference_patients",
        sa.Column("appointment_id", sa.String(length=100),
                  sa.ForeignKey("appointments.id", name="fk_reference_patients_appointment_id_appointments",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("patient_id", sa.String(length=100),
                  sa.ForeignKey("patients.id", name="fk_reference_patients_patient_id_patients"), nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", "patient_id", name="pk_reference_patients"),
    )


def downgrade() -> None:
    raise NotImplementedError("frontdesk migrations only go forward; restore a backup to go back")
