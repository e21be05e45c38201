"""What staff maintain for answering: answer templates (English and Spanish) and the referral
directory of local victim-services providers."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from voice.database import utcnow
from voice.inquiries.answers import CASE_PLACEHOLDERS, OTHER_PLACEHOLDERS, AnswerError, placeholders
from voice.inquiries.models import AnswerTemplate, ReferralProvider

LANGUAGES = ("en", "es")


class TemplateExists(AnswerError):
    """A new template for a key and language that have one already."""


def save_template(
    *,
    session: Session,
    key: str,
    language: str,
    title: str,
    body: str,
    by: str,
    active: bool = True,
    replace: bool = True,
    now: datetime | None = None,
) -> AnswerTemplate:
    """Create the template for (key, language), or replace its text; with ``replace`` false,
    one that exists already is refused rather than overwritten."""
    if language not in LANGUAGES:
        raise AnswerError(f"templates are written in {' or '.join(LANGUAGES)}")
    unknown = sorted(set(placeholders(body)) - set(CASE_PLACEHOLDERS) - set(OTHER_PLACEHOLDERS))
    if unknown:
        raise AnswerError(f"unknown placeholders: {', '.join(unknown)}")
    if not key.strip() or not body.strip() or not title.strip():
        raise AnswerError("a template needs a key, a title and a text")
    template = session.exec(
        select(AnswerTemplate).where(AnswerTemplate.key == key, AnswerTemplate.language == language)
    ).first()
    if template is not None and not replace:
        raise TemplateExists(f"a template {key!r} in {language!r} exists already: edit that one")
    template = template or AnswerTemplate(
        key=key, language=language, title=title, body=body, updated_by=by
    )
    template.title, template.body, template.active = title, body, active
    template.updated_by, template.updated_at = by, now or utcnow()
    session.add(template)
    session.flush()
    return template


def templates(*, session: Session, language: str | None = None) -> list[AnswerTemplate]:
    query = select(AnswerTemplate).where(col(AnswerTemplate.active).is_(True))
    if language is not None:
        query = query.where(AnswerTemplate.language == language)
    return list(
        session.exec(query.order_by(col(AnswerTemplate.key), col(AnswerTemplate.language))).all()
    )


def every_template(*, session: Session) -> list[AnswerTemplate]:
    """Every template, withdrawn ones too: what supervisors maintain."""
    return list(
        session.exec(
            select(AnswerTemplate).order_by(col(AnswerTemplate.key), col(AnswerTemplate.language))
        ).all()
    )


def save_referral(
    *,
    session: Session,
    by: str,
    name: str,
    phone: str,
    languages: list[str],
    area_served: str,
    active: bool = True,
    referral_id: int | None = None,
    now: datetime | None = None,
) -> ReferralProvider:
    if not name.strip() or not phone.strip() or not area_served.strip():
        raise AnswerError("a provider needs a name, a phone number and the area it serves")
    if referral_id is not None:
        provider = session.get(ReferralProvider, referral_id)
        if provider is None:
            raise LookupError(f"no referral provider {referral_id}")
    else:
        provider = ReferralProvider(name=name, phone=phone, area_served=area_served, updated_by=by)
    provider.name, provider.phone, provider.area_served = name, phone, area_served
    provider.languages = sorted({code.strip().lower() for code in languages if code.strip()})
    provider.active, provider.updated_by, provider.updated_at = active, by, now or utcnow()
    session.add(provider)
    session.flush()
    return provider


def referrals(
    *, session: Session, area: str | None = None, language: str | None = None
) -> list[ReferralProvider]:
    query = select(ReferralProvider).where(col(ReferralProvider.active).is_(True))
    if area:
        query = query.where(col(ReferralProvider.area_served).icontains(area))
    found = list(session.exec(query.order_by(col(ReferralProvider.name))).all())
    return [p for p in found if language is None or language in p.languages]


def every_referral(*, session: Session) -> list[ReferralProvider]:
    """The whole directory, withdrawn providers too (after the active ones): what staff keep."""
    return list(
        session.exec(
            select(ReferralProvider).order_by(
                col(ReferralProvider.active).desc(), col(ReferralProvider.name)
            )
        ).all()
    )
