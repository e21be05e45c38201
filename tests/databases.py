"""Creating throwaway SQLite and PostgreSQL databases for the tests.

The PostgreSQL leg connects to ``VOICE_TEST_POSTGRES_URL`` (default: the local server's ``test``
database) and creates databases of its own, dropped at the end of the session. Where no
PostgreSQL answers, that leg is skipped with a message, unless ``VOICE_TEST_REQUIRE_POSTGRES=1``
(set by CI) turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "VOICE_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("VOICE_TEST_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def _postgres_unreachable() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable ({type(exc).__name__})"
    return None


def require_postgres() -> None:
    """Skip (or, where PostgreSQL is required, fail) when no PostgreSQL answers."""
    reason = _postgres_unreachable()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}; the PostgreSQL leg is required here")
        pytest.skip(f"{reason}; skipping the PostgreSQL leg")


class DatabaseFactory:
    """Creates empty databases of either kind, and removes them at the end of the session."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._pg_checked = False
        self._pg_reason: str | None = None
        self._created: list[str] = []

    def _require_postgres(self) -> None:
        if not self._pg_checked:
            self._pg_reason = _postgres_unreachable()
            self._pg_checked = True
        if self._pg_reason:
            if REQUIRE_POSTGRES:
                pytest.fail(f"{self._pg_reason}; the PostgreSQL leg is required here")
            pytest.skip(f"{self._pg_reason}; skipping the PostgreSQL leg")

    def new_url(self, backend: str) -> str:
        name = f"voice_test_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.db')}"
        self._require_postgres()
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self._created.append(name)
        url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name)
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self._created:
            return
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self._created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
