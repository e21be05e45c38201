"""The API's shapes for safety holds; the table and its audit trail live with the filter.

``voice.disclosure.models.SafetyHold`` is the one table: the filter reads it, and
``voice.disclosure.holds`` writes it together with its audit trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from voice.disclosure.models import SafetyHold


class SafetyHoldCreate(SQLModel):
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime


class SafetyHoldPublic(SQLModel):
    id: int
    case_id: int
    reason: str
    set_by: str
    set_at: datetime
    expires_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    active: bool


__all__ = ["SafetyHold", "SafetyHoldCreate", "SafetyHoldPublic"]
