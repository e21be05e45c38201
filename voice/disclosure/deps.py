"""The disclosure policy the application loaded at start."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from voice.disclosure.policy import Policy


async def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


PolicyDep = Annotated[Policy, Depends(get_policy)]
