"""How ``voice serve`` runs uvicorn: which peers may speak for the client.

The sign-in throttle counts failures per client address. ``X-Forwarded-For`` names that
address only when a proxy we run wrote it; from anyone else it is whatever the caller wants it
to be, and rotating it would buy a fresh allowance per request. So forwarded headers are
honoured only from the configured proxies (``VOICE_FORWARDED_ALLOW_IPS``, addresses or CIDR
ranges), and from nobody when none is configured, loopback included.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from voice.config import Settings

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def served_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches the service at."""
    host = _WILDCARDS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def served_settings(settings: Settings, *, host: str, port: int) -> Settings:
    """Links in emails, SMS and redirects must name the address actually served. Where
    VOICE_PUBLIC_BASE_URL may be left out (development and test; elsewhere the settings refuse
    to load without it), it is derived from ``--host`` and ``--port``."""
    if "public_base_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"public_base_url": served_url(host, port)})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    trusted = list(settings.forwarded_allow_ips)
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def settings_problem(exc: ValidationError) -> str:
    """Why the settings were refused, in their own words (no input values, so no secrets)."""
    return "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
