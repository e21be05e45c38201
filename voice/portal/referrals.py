"""The referral directory in the portal: local victim-services providers that answers refer
victims to (name, phone, languages, area served), listed, added and edited by the liaison desk.

A withdrawn provider stays in the list, marked, so it can be brought back; the answer composer
offers only active ones. Saved through the same service as the API's ``/referrals``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voice.api_common import get_or_404
from voice.auth.deps import CurrentStaff
from voice.auth.principals import Principal
from voice.deps import IdPath, SessionDep
from voice.inquiries import directory
from voice.inquiries.answers import AnswerError
from voice.inquiries.models import ReferralProvider
from voice.portal.layout import render
from voice.victims.contact_input import ContactInvalid, phone_for_reading

router = APIRouter(prefix="/portal/inquiries/directory", include_in_schema=False)

HOME = "/portal/inquiries/directory"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
# What the list says after a form: a fixed set, so a crafted link cannot put words on the page.
DONE = {"added": "The provider is in the directory.", "saved": "The provider is saved."}
Text = Annotated[str, Form(max_length=200)]


def _values(provider: ReferralProvider | None) -> dict[str, Any]:
    if provider is None:
        return {"name": "", "phone": "", "languages": "en", "area_served": "", "active": True}
    return {
        "name": provider.name,
        "phone": provider.phone,
        "languages": ", ".join(provider.languages),
        "area_served": provider.area_served,
        "active": provider.active,
    }


def _form(
    request: Request,
    staff: Principal,
    provider: ReferralProvider | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "staff": staff,
        "provider": provider,
        "heading": f"Edit {provider.name}" if provider is not None else "Add a provider",
        "values": values,
        "errors": errors or {},
    }
    return render(request, "referral_form.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse)
def listing(
    request: Request, session: SessionDep, staff: CurrentStaff, done: str = ""
) -> HTMLResponse:
    context = {
        "staff": staff,
        "providers": directory.every_referral(session=session),
        "done": DONE.get(done),
    }
    return render(request, "referrals.html", context)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, staff: CurrentStaff) -> HTMLResponse:
    return _form(request, staff, None, _values(None))


@router.get("/{referral_id}", response_class=HTMLResponse)
def edit_form(
    request: Request, referral_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> HTMLResponse:
    provider = get_or_404(session, ReferralProvider, referral_id, "referral provider")
    return _form(request, staff, provider, _values(provider))


def _save(
    request: Request,
    session: SessionDep,
    staff: Principal,
    provider: ReferralProvider | None,
    values: dict[str, Any],
) -> Response:
    errors: dict[str, str] = {}
    for field, label in (("name", "the provider's name"), ("area_served", "the area it serves")):
        if not values[field].strip():
            errors[field] = f"Enter {label}."
    phone = values["phone"]
    try:
        phone = phone_for_reading(values["phone"])
    except ContactInvalid as exc:
        errors["phone"] = str(exc)
    codes = [c.strip().lower() for c in values["languages"].split(",") if c.strip()]
    if not codes or not all(LANGUAGE_CODE.match(c) for c in codes):
        errors["languages"] = "Enter language codes separated by commas, like en, es."
    if not errors:
        try:
            directory.save_referral(
                session=session,
                by=staff.subject,
                name=values["name"].strip(),
                phone=phone,
                languages=codes,
                area_served=values["area_served"].strip(),
                active=values["active"],
                referral_id=provider.id if provider is not None else None,
            )
        except AnswerError as exc:
            errors["name"] = str(exc).capitalize() + "."
        else:
            done = "saved" if provider is not None else "added"
            return RedirectResponse(f"{HOME}?done={done}", status_code=303)
    return _form(request, staff, provider, values, errors, status_code=422)


@router.post("", response_model=None)
def add(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    name: Text = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    languages: Text = "",
    area_served: Text = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    values = {
        "name": name,
        "phone": phone,
        "languages": languages,
        "area_served": area_served,
        "active": active,
    }
    return _save(request, session, staff, None, values)


@router.post("/{referral_id}", response_model=None)
def edit(
    request: Request,
    referral_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    name: Text = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    languages: Text = "",
    area_served: Text = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    provider = get_or_404(session, ReferralProvider, referral_id, "referral provider")
    values = {
        "name": name,
        "phone": phone,
        "languages": languages,
        "area_served": area_served,
        "active": active,
    }
    return _save(request, session, staff, provider, values)
