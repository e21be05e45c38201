"""Contact points as staff type them, checked and put into the one form the service stores.

Phone numbers become E.164 (``phonenumbers``; a number without a country code is read as a
U.S. number, the office's usual case). Email addresses are checked for syntax only: a
deliverability check would ask DNS, and the portal must work air-gapped.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "US"


class ContactInvalid(ValueError):
    """What is wrong, in words for the person who typed it (never echoing the value)."""


def phone_e164(raw: str, *, region: str = DEFAULT_REGION) -> str:
    number = _valid_phone(raw, region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_reading(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """A checked number as people read it aloud (``+1 800-799-7233``): for a directory entry
    that answers quote to victims, not for a contact point the service sends to."""
    number = _valid_phone(raw, region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _valid_phone(raw: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ContactInvalid(
            "Enter a phone number, like 202 555 0143 or +44 20 7946 0958."
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactInvalid("This is not a valid phone number. Check the digits and country.")
    return number


def email_address(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ContactInvalid("Enter an email address, like name@example.org.") from exc


def looks_like_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 7 and all(ch.isdigit() or ch in "+-(). " for ch in text.strip())
