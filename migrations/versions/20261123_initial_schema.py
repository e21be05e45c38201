"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 05:32:34.901056
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voice.database

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("upstream_id", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("middle_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column(
            "aliases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("a_number", sa.String(length=16), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("country_of_birth", sa.String(length=100), nullable=True),
        sa.Column("country_of_citizenship", sa.String(length=100), nullable=True),
        sa.Column("is_minor", sa.Boolean(), nullable=False),
        sa.Column("protected_1367", sa.Boolean(), nullable=False),
        sa.Column(
            "markings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_event_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject")),
        sa.UniqueConstraint("source", "upstream_id", name=op.f("uq_subject_source_upstream_id")),
    )
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_a_number"), ["a_number"], unique=False)

    op.create_table(
        "victim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("preferred_language", sa.String(length=8), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_verified", sa.Boolean(), nullable=False),
        sa.Column("self_service_token_hash", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim")),
        sa.UniqueConstraint(
            "self_service_token_hash", name=op.f("uq_victim_self_service_token_hash")
        ),
    )
    op.create_table(
        "offender_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("custody_status", sa.String(length=32), nullable=True),
        sa.Column("facility_name", sa.String(length=200), nullable=True),
        sa.Column("facility_city", sa.String(length=100), nullable=True),
        sa.Column("facility_state", sa.String(length=32), nullable=True),
        sa.Column("immigration_status", sa.String(length=100), nullable=True),
        sa.Column("proceedings_stage", sa.String(length=32), nullable=True),
        sa.Column("release_type", sa.String(length=32), nullable=True),
        sa.Column("release_address", sa.Text(), nullable=True),
        sa.Column("hearing_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hearing_court", sa.String(length=200), nullable=True),
        sa.Column("scheduled_removal_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removal_port", sa.String(length=200), nullable=True),
        sa.Column("removed_to_country", sa.String(length=100), nullable=True),
        sa.Column("transport_details", sa.Text(), nullable=True),
        sa.Column("officer_name", sa.String(length=200), nullable=True),
        sa.Column("informant_reference", sa.String(length=200), nullable=True),
        sa.Column(
            "markings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_event_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_offender_case_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offender_case")),
        sa.UniqueConstraint(
            "subject_id", "case_number", name=op.f("uq_offender_case_subject_id_case_number")
        ),
    )
    with op.batch_alter_table("offender_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offender_case_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("corrects", sa.String(length=128), nullable=True),
        sa.Column("retracted_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "markings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name=op.f("fk_case_event_case_id_offender_case")
        ),
        sa.ForeignKeyConstraint(
            ["retracted_by_id"],
            ["case_event.id"],
            name=op.f("fk_case_event_retracted_by_id_case_event"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_case_event_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
        sa.UniqueConstraint("receipt_id", name=op.f("uq_case_event_receipt_id")),
        sa.UniqueConstraint(
            "source", "source_event_id", name=op.f("uq_case_event_source_source_event_id")
        ),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_event_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "victim_case_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("verification_status", sa.String(length=16), nullable=False),
        sa.Column("notify_email", sa.Boolean(), nullable=False),
        sa.Column("notify_sms", sa.Boolean(), nullable=False),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["offender_case.id"],
            name=op.f("fk_victim_case_link_case_id_offender_case"),
        ),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_victim_case_link_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim_case_link")),
        sa.UniqueConstraint(
            "victim_id", "case_id", name=op.f("uq_victim_case_link_victim_id_case_id")
        ),
    )
    with op.batch_alter_table("victim_case_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_victim_case_link_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_victim_case_link_victim_id"), ["victim_id"], unique=False
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_event.id"], name=op.f("fk_notification_event_id_case_event")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["victim_case_link.id"],
            name=op.f("fk_notification_link_id_victim_case_link"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint(
            "event_id", "link_id", "channel", name=op.f("uq_notification_event_id_link_id_channel")
        ),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_link_id"), ["link_id"], unique=False)
        batch_op.create_index(
            "ix_notification_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "disclosure_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disclosed_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column(
            "fields_released",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "fields_withheld",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("policy_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["offender_case.id"],
            name=op.f("fk_disclosure_record_case_id_offender_case"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_event.id"], name=op.f("fk_disclosure_record_event_id_case_event")
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_disclosure_record_notification_id_notification"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_record")),
    )
    with op.batch_alter_table("disclosure_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_record_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disclosure_record_disclosed_at"), ["disclosed_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("disclosure_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_record_disclosed_at"))
        batch_op.drop_index(batch_op.f("ix_disclosure_record_case_id"))

    op.drop_table("disclosure_record")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_notification_link_id"))
        batch_op.drop_index(batch_op.f("ix_notification_event_id"))

    op.drop_table("notification")
    with op.batch_alter_table("victim_case_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_victim_case_link_victim_id"))
        batch_op.drop_index(batch_op.f("ix_victim_case_link_case_id"))

    op.drop_table("victim_case_link")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_subject_id"))
        batch_op.drop_index(batch_op.f("ix_case_event_case_id"))

    op.drop_table("case_event")
    with op.batch_alter_table("offender_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offender_case_subject_id"))

    op.drop_table("offender_case")
    op.drop_table("victim")
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_a_number"))

    op.drop_table("subject")
