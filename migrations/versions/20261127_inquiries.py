"""inquiries: the queue, its thread, answers, templates and referrals

Message bodies and senders' addresses are stored encrypted (voice.pii's EncryptedText, a Text
column here). The first answer templates, in English and Spanish, are written in.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 18:20:54.201645
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voice.database

SEED_TEMPLATES = (
    (
        "custody_status",
        "en",
        "Custody status",
        "Thank you for your question. The person in your case is {custody_status}. "
        "We will tell you when this changes. Questions: {office_contact}",
    ),
    (
        "custody_status",
        "es",
        "Estado de custodia",
        "Gracias por su pregunta. La persona de su caso está {custody_status}. "
        "Le avisaremos cuando esto cambie. Preguntas: {office_contact}",
    ),
    (
        "referral",
        "en",
        "Referral to local victim services",
        "Thank you for reaching out. {referral_name} can help you near where you live: "
        "call {referral_phone}. Questions: {office_contact}",
    ),
    (
        "referral",
        "es",
        "Referencia a servicios locales para víctimas",
        "Gracias por comunicarse. {referral_name} puede ayudarle cerca de donde vive: "
        "llame al {referral_phone}. Preguntas: {office_contact}",
    ),
    (
        "no_case_information",
        "en",
        "General answer (no case information)",
        "Thank you for your message. We can share information about a case only with its "
        "registered victims. To register or for help, contact {office_contact}",
    ),
    (
        "no_case_information",
        "es",
        "Respuesta general (sin información del caso)",
        "Gracias por su mensaje. Solo podemos compartir información de un caso con sus "
        "víctimas registradas. Para registrarse o recibir ayuda: {office_contact}",
    ),
)

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_template")),
        sa.UniqueConstraint("key", "language", name=op.f("uq_answer_template_key_language")),
    )
    op.create_table(
        "referral_provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column(
            "languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("area_served", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_provider")),
    )
    with op.batch_alter_table("referral_provider", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_provider_area_served"), ["area_served"], unique=False
        )

    op.create_table(
        "inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("sender_address", sa.Text(), nullable=True),
        sa.Column("sender_bidx", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("assigned_to", sa.String(length=200), nullable=True),
        sa.Column("received_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_due", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolution_due", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_responded_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_breached", sa.Boolean(), nullable=False),
        sa.Column("resolution_breached", sa.Boolean(), nullable=False),
        sa.Column("updated_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name=op.f("fk_inquiry_case_id_offender_case")
        ),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_inquiry_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry")),
    )
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inquiry_assigned_to"), ["assigned_to"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiry_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiry_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiry_channel"), ["channel"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inquiry_priority_rank"), ["priority_rank"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inquiry_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiry_sender_bidx"), ["sender_bidx"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiry_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiry_victim_id"), ["victim_id"], unique=False)

    op.create_table(
        "inquiry_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("template_key", sa.String(length=64), nullable=True),
        sa.Column(
            "fields_released",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("awaits_victim", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "findings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name=op.f("fk_inquiry_answer_case_id_offender_case")
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiry.id"], name=op.f("fk_inquiry_answer_inquiry_id_inquiry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_answer")),
    )
    with op.batch_alter_table("inquiry_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inquiry_answer_inquiry_id"), ["inquiry_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inquiry_answer_status"), ["status"], unique=False)

    op.create_table(
        "inquiry_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("source_ref", sa.String(length=80), nullable=True),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiry.id"], name=op.f("fk_inquiry_entry_inquiry_id_inquiry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_entry")),
        sa.UniqueConstraint("source_ref", name=op.f("uq_inquiry_entry_source_ref")),
    )
    with op.batch_alter_table("inquiry_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inquiry_entry_inquiry_id"), ["inquiry_id"], unique=False
        )

    templates = sa.table(
        "answer_template",
        sa.column("key", sa.String),
        sa.column("language", sa.String),
        sa.column("title", sa.String),
        sa.column("body", sa.Text),
        sa.column("active", sa.Boolean),
        sa.column("updated_by", sa.String),
        sa.column("updated_at", voice.database.UTCDateTime(timezone=True)),
    )
    written = datetime(2026, 11, 27, tzinfo=UTC)
    op.bulk_insert(
        templates,
        [
            {
                "key": key,
                "language": language,
                "title": title,
                "body": body,
                "active": True,
                "updated_by": "migration 0008",
                "updated_at": written,
            }
            for key, language, title, body in SEED_TEMPLATES
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("inquiry_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiry_entry_inquiry_id"))

    op.drop_table("inquiry_entry")
    with op.batch_alter_table("inquiry_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiry_answer_status"))
        batch_op.drop_index(batch_op.f("ix_inquiry_answer_inquiry_id"))

    op.drop_table("inquiry_answer")
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiry_victim_id"))
        batch_op.drop_index(batch_op.f("ix_inquiry_status"))
        batch_op.drop_index(batch_op.f("ix_inquiry_sender_bidx"))
        batch_op.drop_index(batch_op.f("ix_inquiry_received_at"))
        batch_op.drop_index(batch_op.f("ix_inquiry_priority_rank"))
        batch_op.drop_index(batch_op.f("ix_inquiry_channel"))
        batch_op.drop_index(batch_op.f("ix_inquiry_category"))
        batch_op.drop_index(batch_op.f("ix_inquiry_case_id"))
        batch_op.drop_index(batch_op.f("ix_inquiry_assigned_to"))

    op.drop_table("inquiry")
    with op.batch_alter_table("referral_provider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_provider_area_served"))

    op.drop_table("referral_provider")
    op.drop_table("answer_template")
