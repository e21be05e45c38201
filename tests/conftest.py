"""Fixtures: every database test runs on SQLite and on PostgreSQL (see tests/databases.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import voice.models  # noqa: F401  (every table on the metadata)
from tests import identity
from tests.clock import clock  # noqa: F401  (a fixture: time that tests move by hand)
from tests.databases import BACKENDS, DatabaseFactory
from voice import migrate
from voice.config import Environment, Settings
from voice.database import make_engine
from voice.disclosure.policy import Policy, cached_policy, default_policy_path


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, databases: DatabaseFactory) -> str:
    """A migrated database of each kind, shared by the session's tests."""
    url = databases.new_url(request.param)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session
        transaction.rollback()


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    """For work that must really commit (other processes, the app); emptied afterwards."""
    yield engine
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def policy() -> Policy:
    return cached_policy(default_policy_path())


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        audit_checkpoint_dir=tmp_path / "checkpoints",
        worker_poll_seconds=0.05,
        machine_issuer=identity.ISSUER,
        machine_audience=identity.AUDIENCE,
        machine_jwks=identity.JWKS,
    )


@pytest.fixture
def voice_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    """The environment a ``voice`` command reads: this test's database and a private outbox."""
    from voice.config import get_settings

    monkeypatch.setenv("VOICE_DATABASE_URL", database_url)
    monkeypatch.setenv("VOICE_ENVIRONMENT", "test")
    monkeypatch.setenv("VOICE_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("VOICE_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """The application over this test's committed database, with its lifespan running."""
    from voice.app import create_app

    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client
