"""The request's unit of work: one commit, in the dependency, when the route returns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from voice.cases.models import Subject
from voice.deps import SessionDep


def _app(engine: Engine) -> FastAPI:
    app = FastAPI()
    app.state.engine = engine

    @app.post("/stored/{upstream_id}")
    def stored(upstream_id: str, session: SessionDep) -> dict[str, str]:
        session.add(Subject(source="deps-test", upstream_id=upstream_id))
        session.flush()
        return {"stored": upstream_id}

    @app.post("/deferred/{upstream_id}")
    def deferred(upstream_id: str, session: SessionDep) -> dict[str, str]:
        # Not flushed: the INSERT first runs in the dependency's commit, after this returns.
        session.add(Subject(source="deps-test", upstream_id=upstream_id))
        return {"stored": upstream_id}

    @app.post("/refused/{upstream_id}")
    def refused(upstream_id: str, session: SessionDep) -> dict[str, str]:
        session.add(Subject(source="deps-test", upstream_id=upstream_id))
        session.flush()
        raise HTTPException(status_code=409, detail="refused after writing")

    return app


@pytest.fixture
def client(committed_engine: Engine) -> Iterator[TestClient]:
    with TestClient(_app(committed_engine), raise_server_exceptions=False) as client:
        yield client


def _stored(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(Subject.upstream_id).where(Subject.source == "deps-test"))
        return sorted(rows.all())


def test_a_route_that_returns_commits_its_work_before_the_answer(
    client: TestClient, committed_engine: Engine
) -> None:
    assert client.post("/stored/S-1").status_code == 200
    # Read on another connection straight after the answer: the commit came first.
    assert _stored(committed_engine) == ["S-1"]


def test_a_route_that_raises_leaves_nothing_behind(
    client: TestClient, committed_engine: Engine
) -> None:
    assert client.post("/refused/S-2").status_code == 409
    assert _stored(committed_engine) == []


def test_a_commit_that_fails_is_an_error_not_a_success(
    client: TestClient, committed_engine: Engine
) -> None:
    assert client.post("/stored/S-3").status_code == 200
    # The same natural key again: the unique constraint fails in the commit, after the route
    # body has returned its answer, and the client must not see that answer.
    answer = client.post("/deferred/S-3")
    assert answer.status_code >= 500
    assert _stored(committed_engine) == ["S-3"]
