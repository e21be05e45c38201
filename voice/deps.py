"""Request dependencies every domain shares: settings, the engine, and the request's session.

Each domain keeps its own validating dependencies next to its routes (``voice.auth.deps``,
``voice.cases.deps``, ...), so that this module depends on nothing above the database layer.
Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency on a
worker thread, and those hops (several per request) cost more than the work they wrap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.config import Settings


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """The request's unit of work: it commits once, here, when the route returns.

    Routes and services only flush. An error anywhere in the route rolls everything back, and
    a failed commit raises before the response is sent, so a client never sees a success that
    was not stored.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
# scope="function": the commit runs as the route returns, before the answer is sent. (The
# default scope would run it after the answer, so a failed commit could follow a 201.)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# Row ids in paths: PostgreSQL's integer, so an out-of-range id is a 422, not a database error.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
