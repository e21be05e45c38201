"""Plain-language wording for statuses: the English text is the message id in the ``notices``
catalogue, and each language's words come from its translation there.

``N_`` only marks a string for extraction (deploy/i18n.sh); the lookups below translate it when
a notice or an answer is written, in the reader's language.
"""

from __future__ import annotations

from voice.notify.catalogue import translations


def N_(message: str) -> str:
    """The marker gettext tools know for a message translated later, where it is used."""
    return message


HEADLINES: dict[str, str] = {
    "custody.booked": N_("has been booked into immigration custody"),
    "custody.transferred": N_("has been transferred to another facility"),
    "custody.released": N_("has been released from immigration custody"),
    "custody.escaped": N_("has escaped from immigration custody"),
    "custody.returned": N_("has been returned to immigration custody"),
    "custody.deceased": N_("has died while in custody"),
    "custody.detainer_lodged": N_("is the subject of an immigration detainer"),
    "case.proceedings_initiated": N_("is now in immigration proceedings"),
    "case.hearing_scheduled": N_("has an immigration court hearing scheduled"),
    "case.removal_ordered": N_("has been ordered removed from the United States"),
    "case.relief_granted": N_("has been granted relief by the immigration court"),
    "case.appeal_filed": N_("has appealed the immigration court's decision"),
    "case.closed": N_("no longer has an open immigration case"),
    "removal.completed": N_("has been removed from the United States"),
    "correction": N_("had an earlier notice corrected"),
}

CUSTODY: dict[str, str] = {
    "in_custody": N_("in custody"),
    "released": N_("released"),
    "escaped": N_("escaped"),
    "removed": N_("removed from the United States"),
    "deceased": N_("deceased"),
    "not_in_custody": N_("not in custody"),
}

RELEASE_TYPES: dict[str, str] = {
    "bond": N_("released on bond"),
    "order_of_recognizance": N_("released on an order of recognizance"),
    "order_of_supervision": N_("released on an order of supervision (regular check-ins with ICE)"),
    "parole": N_("released on parole"),
    "alternatives_to_detention": N_("released under an alternatives-to-detention program"),
    "court_order": N_("released by order of a court"),
    "relief_granted": N_("released after being granted relief"),
    "other": N_("released"),
}

PROCEEDINGS_STAGES: dict[str, str] = {
    "none": N_("no proceedings"),
    "initiated": N_("proceedings started"),
    "hearing_scheduled": N_("hearing scheduled"),
    "removal_ordered": N_("removal ordered"),
    "relief_granted": N_("relief granted"),
    "on_appeal": N_("on appeal"),
    "closed": N_("closed"),
}

# What each kind of release means for the victim, in plain words.
RELEASE_EXPLANATIONS: dict[str, str] = {
    "bond": N_("A bond is money paid to ICE as a promise that the person will come to hearings."),
    "order_of_recognizance": N_(
        "Release on recognizance means the person promised to come to hearings; no money was paid."
    ),
    "order_of_supervision": N_(
        "An order of supervision means the person must check in with ICE regularly and "
        "follow the conditions ICE sets, usually because removal cannot happen yet."
    ),
    "parole": N_("Parole is permission to be in the United States for a set time and reason."),
    "alternatives_to_detention": N_(
        "Under an alternatives-to-detention program, ICE keeps track of the person through "
        "check-ins, phone calls or a tracking device instead of holding them."
    ),
    "court_order": N_("A court ordered ICE to release the person."),
    "relief_granted": N_(
        "The person was released because an immigration judge allowed them to stay in the "
        "United States."
    ),
}


def phrase(table: dict[str, str], value: str, language: str, default: str = "") -> str:
    """``value``'s wording from ``table`` in ``language``; ``default`` for a value the table
    does not word, so an upstream code never reaches a victim."""
    message = table.get(value)
    return translations(language).gettext(message) if message else default


def headline(event_type: str, language: str) -> str:
    return phrase(HEADLINES, event_type, language)


def custody(status: str, language: str) -> str:
    return phrase(CUSTODY, status, language)


def release_type(kind: str, language: str) -> str:
    return phrase(RELEASE_TYPES, kind, language)


def release_explanation(kind: str, language: str) -> str:
    return phrase(RELEASE_EXPLANATIONS, kind, language)


def proceedings_stage(stage: str, language: str) -> str:
    return phrase(PROCEEDINGS_STAGES, stage, language)
