"""Staff sign-in against a real OpenID Connect provider (panva/oidc-provider on Node).

The whole authorization code flow with PKCE runs over real HTTP between two real servers:
VOICE (``voice serve``) and the provider. It ends on a portal page showing the mapped role.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import REPO, child_env, run_voice, wait_for
from tests.e2e.test_serve_demo import _answers, _free_port

OIDC_DIR = Path(__file__).parent / "oidc"


def _form(html: str, **fields: str) -> tuple[str, dict[str, str]]:
    """The first form's action, and its hidden inputs plus ``fields``: what a browser posts."""
    found = re.search(r'<form[^>]*action="([^"]+)"', html)
    assert found is not None, html[:500]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return found.group(1), {**hidden, **fields}


@pytest.fixture
def provider() -> Iterator[tuple[str, int]]:
    if shutil.which("node") is None or not (OIDC_DIR / "node_modules").is_dir():
        pytest.fail("node and tests/e2e/oidc/node_modules are required (.ci/run runs npm ci)")
    idp_port, voice_port = _free_port(), _free_port()
    callback = f"http://127.0.0.1:{voice_port}/portal/auth/callback"
    process = subprocess.Popen(
        ["node", "server.mjs", str(idp_port), callback],
        cwd=OIDC_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    issuer = f"http://127.0.0.1:{idp_port}"
    try:
        wait_for(
            lambda: (
                _answers(f"{issuer}/.well-known/openid-configuration") or process.poll() is not None
            ),
            what="the OpenID Connect provider",
        )
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield issuer, voice_port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.e2e
def test_authorization_code_flow_with_pkce_ends_on_a_portal_page_with_the_mapped_role(
    provider: tuple[str, int], tmp_path: Path
) -> None:
    issuer, port = provider
    base = f"http://127.0.0.1:{port}"
    env = child_env(
        f"sqlite:///{tmp_path / 'voice.db'}",
        tmp_path / "outbox",
        VOICE_ENVIRONMENT="development",
        VOICE_PUBLIC_BASE_URL=base,
        VOICE_OIDC_ISSUER=issuer,
        VOICE_OIDC_CLIENT_ID="voice-portal",
        VOICE_OIDC_CLIENT_SECRET="voice-portal-test-secret",
        VOICE_OIDC_SCOPES="openid profile groups",
        VOICE_OIDC_ROLE_CLAIM="voice_groups",
        VOICE_OIDC_ROLE_MAP=json.dumps({"grp-voice-supervisors": "supervisor"}),
    )
    run_voice(["db", "upgrade"], env)
    server = subprocess.Popen(
        [sys.executable, "-m", "voice.cli", "serve", "--no-worker", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: _answers(f"{base}/healthz") or server.poll() is not None, what="VOICE")
        with httpx.Client(follow_redirects=False, timeout=10) as browser:
            start = browser.get(f"{base}/portal/sign-in")
            assert start.status_code == 302
            authorize = httpx.URL(start.headers["location"])
            assert str(authorize).startswith(f"{issuer}/")
            assert authorize.params["code_challenge_method"] == "S256"
            assert authorize.params["code_challenge"]

            login_page = browser.get(authorize, follow_redirects=True)
            action, data = _form(login_page.text, login="pat", password="any")
            login = browser.post(httpx.URL(issuer).join(action), data=data, follow_redirects=True)
            action, data = _form(login.text)
            consent = browser.post(httpx.URL(issuer).join(action), data=data)
            # Follow the provider's redirects until it hands the code back to VOICE.
            response = consent
            while response.status_code in (302, 303) and not response.headers[
                "location"
            ].startswith(base):
                response = browser.get(httpx.URL(issuer).join(response.headers["location"]))
            callback = response.headers["location"]
            assert callback.startswith(f"{base}/portal/auth/callback?code=")

            landed = browser.get(callback, follow_redirects=True)
            assert landed.status_code == 200
            assert str(landed.url) == f"{base}/portal"  # the work queue is home
            account = browser.get(f"{base}/portal/me")
            assert '<span class="role">supervisor</span>' in account.text
            assert "Pat Example" in account.text
            assert "grp-cafeteria" not in account.text  # unmapped groups grant nothing
            cookie = next(c for c in browser.cookies.jar if c.name == "voice_session")
            assert cookie.has_nonstandard_attr("httponly")
            assert cookie.get_nonstandard_attr("samesite") == "lax"
            assert not cookie.secure  # plain loopback in development only
            # The mapped role opens the supervisor's routes...
            assert browser.get(f"{base}/portal/cases").status_code == 200
            assert browser.get(f"{base}/api/v1/disclosures").status_code == 200
            # ...and sign-out ends the session.
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', landed.text)
            assert csrf is not None
            out = browser.post(f"{base}/portal/sign-out", data={"csrf_token": csrf.group(1)})
            assert out.status_code == 200
            assert browser.get(f"{base}/portal/cases").status_code == 303
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "voice-portal-test-secret" not in output
