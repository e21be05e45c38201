"""The registrant form, as typed: checked field by field, with messages for the person."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from voice.victims.contact_input import ContactInvalid, email_address, phone_e164
from voice.victims.models import Language, Relationship

LANGUAGES = [(Language.ENGLISH.value, "English"), (Language.SPANISH.value, "Spanish")]
RELATIONSHIPS = [(r.value, r.value.replace("_", " ").capitalize()) for r in Relationship]
MAX_NAME = 200


def text(form: FormData, name: str, limit: int = MAX_NAME) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@dataclass
class RegistrantForm:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse(form: FormData, *, registering: bool) -> RegistrantForm:
    """Names, language and contact points; when ``registering``, channels and consent too."""
    result = RegistrantForm()
    values, errors = result.values, result.errors
    for name, label in (("first_name", "first name"), ("last_name", "last name")):
        values[name] = text(form, name)
        if not values[name]:
            errors[name] = f"Enter the registrant's {label}."
    language = text(form, "preferred_language", 8)
    values["preferred_language"] = language
    if language not in {code for code, _ in LANGUAGES}:
        errors["preferred_language"] = "Choose a language."
    for name, check in (("email", email_address), ("phone", phone_e164)):
        raw = text(form, name, 320)
        values[name] = raw
        if raw:
            try:
                values[name] = check(raw)
            except ContactInvalid as exc:
                errors[name] = str(exc)
    if not registering:
        return result
    values["notify_email"] = form.get("notify_email") == "yes"
    values["notify_sms"] = form.get("notify_sms") == "yes"
    if values["notify_email"] and not values["email"]:
        errors["email"] = "Enter an email address, or do not choose email as a channel."
    if values["notify_sms"] and not values["phone"]:
        errors["phone"] = "Enter a phone number, or do not choose text messages as a channel."
    if not values["email"] and not values["phone"] and "email" not in errors:
        errors["email"] = "Enter an email address or a phone number to reach the registrant."
    values["consent"] = form.get("consent") == "yes"
    if not values["consent"]:
        errors["consent"] = "Registration needs the registrant's consent."
    return result
