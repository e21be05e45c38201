"""The one-line answers to a victim's text message (STOP, START, HELP, YES, a code, free text),
in their language, from the ``notices`` catalogue."""

from __future__ import annotations

from voice.notify.catalogue import notice_language, translations
from voice.notify.phrases import N_
from voice.notify.sms import to_gsm7_where_possible

REPLIES: dict[str, str] = {
    "stopped": N_(
        "VOICE: You will get no more texts from us. We may still write by email. "
        "Reply START to get texts again."
    ),
    "started": N_("VOICE: You will get texts from us again. Reply STOP to stop."),
    "help": N_("VOICE: For help, contact the %(office)s. Reply STOP to stop texts."),
    "acknowledged": N_("VOICE: Thank you. We have recorded that you received our notice."),
    "nothing": N_("VOICE: There is no notice waiting for your reply. Questions: %(office)s"),
    "confirmed": N_("VOICE: Thank you. This number is confirmed; our notices will reach you here."),
    "bad_code": N_("VOICE: That code is not right or has expired. Questions: %(office)s"),
    "received": N_(
        "VOICE: We received your message. Staff will answer you. Urgent questions: %(office)s"
    ),
}


def reply_text(key: str, *, language: str, office_contact: str) -> str:
    """The reply ``key`` in ``language``'s words (English while its catalogue is incomplete),
    in GSM-7 where the words allow, as texts go out."""
    words = translations(notice_language(language)).gettext(REPLIES[key])
    return to_gsm7_where_possible(words % {"office": office_contact})
