"""/docs works air-gapped: Swagger UI's files come from the package, not from a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from voice.app import create_app
from voice.config import Settings


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


def test_docs_reference_no_external_origin_and_their_assets_are_served(
    client: TestClient,
) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    references += re.findall(r"url: '([^']+)'", page.text)
    assert references
    for reference in references:
        assert reference.startswith("/"), reference
        assert not reference.startswith("//"), reference
    assert "https://" not in page.headers["content-security-policy"]
    assert "http://" not in page.text.replace("http://localhost", "")

    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    assets = [r for r in references if r.endswith(tuple(kinds))]
    assert {a.rsplit(".", 1)[-1] for a in assets} == {"js", "css", "png"}
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert kinds["." + asset.rsplit(".", 1)[-1]] in answer.headers["content-type"]
        assert len(answer.content) > 500
