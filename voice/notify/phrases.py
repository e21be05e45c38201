"""Plain-language wording for statuses, in every language the office serves."""

from __future__ import annotations

HEADLINES: dict[str, dict[str, str]] = {
    "en": {
        "custody.booked": "has been booked into immigration custody",
        "custody.transferred": "has been transferred to another facility",
        "custody.released": "has been released from immigration custody",
        "custody.escaped": "has escaped from immigration custody",
        "custody.returned": "has been returned to immigration custody",
        "custody.deceased": "has died while in custody",
        "custody.detainer_lodged": "is the subject of an immigration detainer",
        "case.proceedings_initiated": "is now in immigration proceedings",
        "case.hearing_scheduled": "has an immigration court hearing scheduled",
        "case.removal_ordered": "has been ordered removed from the United States",
        "case.relief_granted": "has been granted relief by the immigration court",
        "case.appeal_filed": "has appealed the immigration court's decision",
        "case.closed": "no longer has an open immigration case",
        "removal.completed": "has been removed from the United States",
        "correction": "had an earlier notice corrected",
    },
    "es": {
        "custody.booked": "ha sido ingresado bajo custodia migratoria",
        "custody.transferred": "ha sido trasladado a otro centro",
        "custody.released": "ha sido liberado de la custodia migratoria",
        "custody.escaped": "se ha fugado de la custodia migratoria",
        "custody.returned": "ha regresado a la custodia migratoria",
        "custody.deceased": "ha fallecido bajo custodia",
        "custody.detainer_lodged": "tiene una orden de retención migratoria",
        "case.proceedings_initiated": "tiene ahora un proceso migratorio",
        "case.hearing_scheduled": "tiene una audiencia programada en el tribunal de inmigración",
        "case.removal_ordered": "ha recibido una orden de expulsión de los Estados Unidos",
        "case.relief_granted": "ha recibido un alivio migratorio del tribunal",
        "case.appeal_filed": "ha apelado la decisión del tribunal de inmigración",
        "case.closed": "ya no tiene un caso migratorio abierto",
        "removal.completed": "ha sido expulsado de los Estados Unidos",
        "correction": "tuvo una corrección en un aviso anterior",
    },
}

CUSTODY: dict[str, dict[str, str]] = {
    "en": {
        "in_custody": "in custody",
        "released": "released",
        "escaped": "escaped",
        "removed": "removed from the United States",
        "deceased": "deceased",
        "not_in_custody": "not in custody",
    },
    "es": {
        "in_custody": "bajo custodia",
        "released": "liberado",
        "escaped": "fugado",
        "removed": "expulsado de los Estados Unidos",
        "deceased": "fallecido",
        "not_in_custody": "no está bajo custodia",
    },
}

RELEASE_TYPES: dict[str, dict[str, str]] = {
    "en": {
        "bond": "released on bond",
        "order_of_recognizance": "released on an order of recognizance",
        "order_of_supervision": "released on an order of supervision (regular check-ins with ICE)",
        "parole": "released on parole",
        "alternatives_to_detention": "released under an alternatives-to-detention program",
        "court_order": "released by order of a court",
        "relief_granted": "released after being granted relief",
        "other": "released",
    },
    "es": {
        "bond": "liberado bajo fianza",
        "order_of_recognizance": "liberado bajo palabra",
        "order_of_supervision": (
            "liberado bajo una orden de supervisión (presentaciones periódicas ante ICE)"
        ),
        "parole": "liberado en libertad condicional",
        "alternatives_to_detention": "liberado en un programa de alternativas a la detención",
        "court_order": "liberado por orden de un tribunal",
        "relief_granted": "liberado tras recibir un alivio migratorio",
        "other": "liberado",
    },
}

SUPPORTED_LANGUAGES = frozenset(HEADLINES)

PROCEEDINGS_STAGES: dict[str, dict[str, str]] = {
    "en": {
        "none": "no proceedings",
        "initiated": "proceedings started",
        "hearing_scheduled": "hearing scheduled",
        "removal_ordered": "removal ordered",
        "relief_granted": "relief granted",
        "on_appeal": "on appeal",
        "closed": "closed",
    },
    "es": {
        "none": "sin proceso",
        "initiated": "proceso iniciado",
        "hearing_scheduled": "audiencia programada",
        "removal_ordered": "expulsión ordenada",
        "relief_granted": "alivio concedido",
        "on_appeal": "en apelación",
        "closed": "cerrado",
    },
}

# What each kind of release means for the victim, in plain words.
RELEASE_EXPLANATIONS: dict[str, dict[str, str]] = {
    "en": {
        "bond": "A bond is money paid to ICE as a promise that the person will come to hearings.",
        "order_of_recognizance": (
            "Release on recognizance means the person promised to come to hearings; "
            "no money was paid."
        ),
        "order_of_supervision": (
            "An order of supervision means the person must check in with ICE regularly and "
            "follow the conditions ICE sets, usually because removal cannot happen yet."
        ),
        "parole": "Parole is permission to be in the United States for a set time and reason.",
        "alternatives_to_detention": (
            "Under an alternatives-to-detention program, ICE keeps track of the person through "
            "check-ins, phone calls or a tracking device instead of holding them."
        ),
        "court_order": "A court ordered ICE to release the person.",
        "relief_granted": (
            "The person was released because an immigration judge allowed them to stay in the "
            "United States."
        ),
        "other": "",
    },
    "es": {
        "bond": (
            "Una fianza es dinero pagado a ICE como promesa de que la persona irá a sus audiencias."
        ),
        "order_of_recognizance": (
            "La libertad bajo palabra significa que la persona prometió ir a sus audiencias; "
            "no se pagó dinero."
        ),
        "order_of_supervision": (
            "Una orden de supervisión significa que la persona debe presentarse ante ICE con "
            "regularidad y cumplir las condiciones que ICE fije, por lo general porque la "
            "expulsión aún no es posible."
        ),
        "parole": (
            "La libertad condicional es un permiso para estar en los Estados Unidos por un "
            "tiempo y un motivo determinados."
        ),
        "alternatives_to_detention": (
            "En un programa de alternativas a la detención, ICE vigila a la persona mediante "
            "presentaciones, llamadas o un dispositivo de localización en lugar de detenerla."
        ),
        "court_order": "Un tribunal ordenó a ICE liberar a la persona.",
        "relief_granted": (
            "La persona fue liberada porque un juez de inmigración le permitió quedarse en los "
            "Estados Unidos."
        ),
        "other": "",
    },
}
