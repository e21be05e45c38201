"""The sign-in throttle's client address: X-Forwarded-For counts only from configured proxies.

The app runs inside the uvicorn middleware stack exactly as ``voice serve`` configures it.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn
import yaml
from sqlalchemy.engine import Engine

from voice.app import create_app
from voice.config import Settings
from voice.serving import uvicorn_options

SIGN_IN = "/api/v1/self-service/sign-in"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _statuses(settings: Settings, engine: Engine, peer: str, attempts: int) -> list[int]:
    config = uvicorn.Config(create_app(settings, engine=engine), **uvicorn_options(settings))
    config.load()

    async def spray() -> list[int]:
        transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://voice.test") as http:
            answers = []
            for n in range(attempts):
                # A fresh forged address every time, as an attacker rotating the header would.
                forged = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
                body = {"victim_id": f"V-0000-{n:04d}", "pin": "1"}
                answers.append((await http.post(SIGN_IN, json=body, headers=forged)).status_code)
            return answers

    return anyio.run(spray)


@pytest.mark.parametrize("peer", ["127.0.0.1", "203.0.113.9"])
def test_rotating_the_header_from_an_untrusted_peer_does_not_defeat_the_limit(
    committed_engine: Engine, settings: Settings, peer: str
) -> None:
    strict = settings.model_copy(update={"address_max_failures": 3})
    assert _statuses(strict, committed_engine, peer, 5) == [401, 401, 401, 429, 429]


def test_a_configured_proxy_speaks_for_its_clients(
    committed_engine: Engine, settings: Settings
) -> None:
    behind_proxy = settings.model_copy(
        update={"address_max_failures": 3, "forwarded_allow_ips": ["10.0.0.0/8"]}
    )
    # Each request comes from another client behind the proxy: none of them is throttled.
    assert _statuses(behind_proxy, committed_engine, "10.1.2.3", 5) == [401] * 5


def test_deploy_names_the_trusted_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    configmap = yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())
    monkeypatch.setenv("VOICE_FORWARDED_ALLOW_IPS", configmap["data"]["VOICE_FORWARDED_ALLOW_IPS"])
    assert Settings().forwarded_allow_ips  # the ingress controller's pods
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    api_env = compose["services"]["api"]["environment"]
    # Compose publishes the API itself, with no proxy in front: it trusts none by default.
    assert api_env["VOICE_FORWARDED_ALLOW_IPS"] == "${VOICE_FORWARDED_ALLOW_IPS:-[]}"
    monkeypatch.setenv("VOICE_FORWARDED_ALLOW_IPS", "[]")
    assert Settings().forwarded_allow_ips == []
