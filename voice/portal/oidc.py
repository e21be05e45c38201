"""Staff sign-in with OpenID Connect: authorization code flow with PKCE, through Authlib.

The identity provider proves who the person is; VOICE maps the configured claim to its roles.
The portal session lives on the server (voice/auth/staff_sessions.py); Starlette's signed cookie
(HttpOnly, SameSite=Lax, Secure outside development) carries only its id. Nothing about the
person but their ``sub``, display name and roles is kept.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

# Authlib 1.7+ steers its httpx client towards httpx2, but the design card fixes httpx; the
# notice would otherwise be the first line every `voice` command prints. authlib.deprecate is
# imported first because it puts an "always" filter of its own in front of ours.
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.engine import Engine

from voice.auth import staff_sessions
from voice.auth.access import AFTER_SIGN_IN_KEY, STAFF_SESSION_KEY
from voice.auth.principals import map_roles
from voice.config import Settings
from voice.database import transaction
from voice.deps import SettingsDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/portal", include_in_schema=False)

CLIENT_NAME = "voice_staff"


def oauth_for(request: Request, settings: Settings) -> Any:
    """The Authlib client, built once per app from settings."""
    oauth: OAuth | None = getattr(request.app.state, "oauth", None)
    if oauth is None:
        oauth = OAuth()
        secret = settings.oidc_client_secret
        oauth.register(
            CLIENT_NAME,
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=(
                f"{(settings.oidc_issuer or '').rstrip('/')}/.well-known/openid-configuration"
            ),
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
        )
        request.app.state.oauth = oauth
    return oauth.create_client(CLIENT_NAME)


def oidc_configured(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


@router.get("/sign-in")
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    if not oidc_configured(settings):
        if settings.is_development:
            return RedirectResponse("/portal/dev-sign-in", status_code=303)
        raise HTTPException(status_code=503, detail="staff sign-in is not configured")
    client = oauth_for(request, settings)
    redirect_uri = f"{settings.public_base_url.rstrip('/')}/portal/auth/callback"
    # Authlib keeps state, nonce and the PKCE verifier in the session until the callback.
    response: Response = await client.authorize_redirect(request, redirect_uri)
    return response


@router.get("/auth/callback")
async def callback(request: Request, settings: SettingsDep) -> Response:
    if not oidc_configured(settings):
        raise HTTPException(status_code=404, detail="not available")
    client = oauth_for(request, settings)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        # The error code only: descriptions can echo request data.
        log.info("staff sign-in failed at the provider (%s)", exc.error)
        raise HTTPException(status_code=401, detail="sign-in did not complete") from exc
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    if settings.oidc_role_claim not in claims:
        claims.update(await client.userinfo(token=token))
    roles = map_roles(claims.get(settings.oidc_role_claim), settings.oidc_role_map)
    subject = str(claims.get("sub", ""))
    if not subject:
        raise HTTPException(status_code=401, detail="sign-in did not complete")
    after = page_after_sign_in(request)
    await start_staff_session(
        request,
        subject=subject,
        name=str(claims.get("name") or claims.get("preferred_username") or "Staff member"),
        roles=sorted(r.value for r in roles),
        via="oidc",
    )
    log.info("staff %s signed in with %d role(s)", subject, len(roles))
    return RedirectResponse(after, status_code=303)


async def start_staff_session(
    request: Request, *, subject: str, name: str, roles: list[str], via: str
) -> None:
    # A fresh session at every sign-in: nothing from before it carries over. The cookie holds
    # the server-side session's id and nothing else (voice/auth/staff_sessions.py).
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine

    def _start() -> str:
        with transaction(engine) as session:
            return staff_sessions.start(
                session=session,
                subject=subject[:128],
                name=name[:100],
                roles=roles,
                via=via,
                settings=settings,
            )

    token = await run_in_threadpool(_start)
    request.session.clear()
    request.session[STAFF_SESSION_KEY] = token


def page_after_sign_in(request: Request) -> str:
    """The portal page the browser asked for before signing in, else the work queue.

    Only a path inside the portal is followed, so the stored value can never send a signed-in
    member of staff to another site.
    """
    asked = request.session.pop(AFTER_SIGN_IN_KEY, None)
    if (
        isinstance(asked, str)
        and (asked == "/portal" or asked.startswith("/portal/"))
        and "//" not in asked
        and asked not in ("/portal/sign-in", "/portal/dev-sign-in", "/portal/auth/callback")
    ):
        return asked
    return "/portal"
