"""The victims' pages in each language the office serves (English and Spanish)."""

from __future__ import annotations

from voice.notify.phrases import CUSTODY

PAGE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "heading": "VOICE",
        "cases": "Your cases",
        "sign_in": "Sign in and see my cases",
        "refused": "This sign-in link has expired or was already used. Ask for a new one.",
        "missing": (
            "To see your cases you need a sign-in link. Ask for one with your Victim ID on the "
            "self-service sign-in, and we will email it to your confirmed address. "
            "Questions: {office}"
        ),
        "none": "No cases are linked to you yet.",
        # Empty: the policy's own (English) wording is shown.
        "neutral": "",
    },
    "es": {
        "heading": "VOICE",
        "cases": "Sus casos",
        "sign_in": "Entrar y ver mis casos",
        "refused": "Este enlace para entrar venció o ya se usó. Pida uno nuevo.",
        "missing": (
            "Para ver sus casos necesita un enlace para entrar. Pídalo con su número de víctima "
            "(Victim ID) en la página de entrada de autoservicio y se lo enviaremos a su correo "
            "confirmado. Preguntas: {office}"
        ),
        "none": "Todavía no hay casos vinculados a usted.",
        "neutral": (
            "La información sobre este caso no está disponible en este momento; comuníquese "
            "con la oficina de VOICE."
        ),
    },
}

FIELD_LABELS: dict[str, dict[str, str]] = {
    "en": {},
    "es": {
        "first_name": "nombre",
        "last_name": "apellido",
        "country_of_birth": "país de nacimiento",
        "custody_status": "situación de custodia",
        "facility_name": "centro",
        "facility_city": "ciudad del centro",
        "facility_state": "estado del centro",
        "proceedings_stage": "etapa del proceso",
        "release_type": "tipo de liberación",
        "hearing_date": "fecha de la audiencia",
        "removal_date": "fecha de expulsión",
    },
}


def language(code: str) -> str:
    return code if code in PAGE_TEXT else "en"


def label(lang: str, name: str) -> str:
    return FIELD_LABELS[lang].get(name, name.replace("_", " "))


def value(lang: str, name: str, raw: object) -> object:
    if name == "custody_status" and isinstance(raw, str):
        return CUSTODY.get(lang, CUSTODY["en"]).get(raw, raw)
    return raw
