"""The v1 REST API's routers, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from voice.audit.api import router as accounting
    from voice.auth.api import router as identity
    from voice.cases.api import router as cases
    from voice.disclosure.api import router as case_views
    from voice.holds.api import router as holds
    from voice.inquiries.api import router as inquiries
    from voice.inquiries.directory_api import router as answer_directory
    from voice.liaison.api import router as tasks
    from voice.liaison.contact_api import router as contact_points
    from voice.notify.api import router as notices
    from voice.victims.api import router as victims
    from voice.victims.lock_api import router as sign_in_locks
    from voice.webhooks.api import router as webhooks

    return [
        identity,
        cases,
        case_views,
        notices,
        holds,
        victims,
        sign_in_locks,
        tasks,
        contact_points,
        # The directory's fixed paths (/templates, /referrals) before the queue's /{inquiry_id}.
        answer_directory,
        inquiries,
        accounting,
        webhooks,
    ]
