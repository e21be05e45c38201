"""How ``voice serve`` runs uvicorn: which peers may speak for the client.

The sign-in throttle counts failures per client address. ``X-Forwarded-For`` names that
address only when a proxy we run wrote it; from anyone else it is whatever the caller wants it
to be, and rotating it would buy a fresh allowance per request. So forwarded headers are
honoured only from the configured proxies (``VOICE_FORWARDED_ALLOW_IPS``, addresses or CIDR
ranges), and from nobody when none is configured, loopback included.
"""

from __future__ import annotations

from typing import Any

from voice.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    trusted = list(settings.forwarded_allow_ips)
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}
