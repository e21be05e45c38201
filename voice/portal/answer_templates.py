"""Answer templates in the portal, for supervisors: list, add and edit the reusable answers in
English and Spanish, with the placeholders a text may use shown beside it.

A template is known by its key and language, so editing changes its title, text and whether it
is offered, never which key it is. Saved through the same service as the API's ``/templates``.
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
from voice.inquiries.answers import CASE_PLACEHOLDERS, OTHER_PLACEHOLDERS, AnswerError
from voice.inquiries.models import AnswerTemplate
from voice.portal.layout import render

router = APIRouter(prefix="/portal/inquiries/templates", include_in_schema=False)

HOME = "/portal/inquiries/templates"
KEY = re.compile(r"^[a-z0-9_]{1,64}$")
LANGUAGES = [("en", "English"), ("es", "Spanish")]
DONE = {"added": "The template is added.", "saved": "The template is saved."}
# What fills each placeholder, in words for the supervisor writing a template.
MEANINGS = {
    "case_number": "the case number",
    "custody_status": "the custody status, worded in the answer's language",
    "release_type": "the kind of release, worded in the answer's language",
    "facility": "the name of the facility holding the person",
    "facility_city": "the facility's city",
    "facility_state": "the facility's state",
    "proceedings_stage": "the stage the immigration proceedings are at",
    "hearing_date": "the date of the next hearing (year-month-day)",
    "hearing_court": "the court of the next hearing",
    "removed_to_country": "the country the person was removed to",
    "office_contact": "the office's own contact line",
    "referral_name": "the name of the provider chosen from the referral directory",
    "referral_phone": "the phone number of that provider",
}


def placeholder_help() -> list[tuple[str, str]]:
    """Every placeholder a template may use, and what fills it."""
    names = [*CASE_PLACEHOLDERS, *OTHER_PLACEHOLDERS]
    return [(name, MEANINGS.get(name, name.replace("_", " "))) for name in names]


def _form(
    request: Request,
    staff: Principal,
    template: AnswerTemplate | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    heading = (
        f"Edit template {template.key} ({template.language})"
        if template is not None
        else "Add an answer template"
    )
    context = {
        "staff": staff,
        "template": template,
        "heading": heading,
        "values": values,
        "errors": errors or {},
        "language_options": LANGUAGES,
        "placeholders": placeholder_help(),
    }
    return render(request, "answer_template_form.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse)
def listing(
    request: Request, session: SessionDep, staff: CurrentStaff, done: str = ""
) -> HTMLResponse:
    context = {
        "staff": staff,
        "templates": directory.every_template(session=session),
        "done": DONE.get(done),
    }
    return render(request, "answer_templates.html", context)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, staff: CurrentStaff) -> HTMLResponse:
    values = {"key": "", "language": "en", "title": "", "body": "", "active": True}
    return _form(request, staff, None, values)


@router.get("/{template_id}", response_class=HTMLResponse)
def edit_form(
    request: Request, template_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> HTMLResponse:
    template = get_or_404(session, AnswerTemplate, template_id, "answer template")
    values = {
        "key": template.key,
        "language": template.language,
        "title": template.title,
        "body": template.body,
        "active": template.active,
    }
    return _form(request, staff, template, values)


def _save(
    request: Request,
    session: SessionDep,
    staff: Principal,
    template: AnswerTemplate | None,
    values: dict[str, Any],
) -> Response:
    errors: dict[str, str] = {}
    if not KEY.match(values["key"]):
        errors["key"] = "Enter a key of lower-case letters, digits and underscores."
    if values["language"] not in dict(LANGUAGES):
        errors["language"] = "Choose English or Spanish."
    if not values["title"].strip():
        errors["title"] = "Enter a title staff choose the template by."
    if not values["body"].strip():
        errors["body"] = "Enter the text of the answer."
    if not errors:
        try:
            directory.save_template(
                session=session,
                key=values["key"],
                language=values["language"],
                title=values["title"].strip(),
                body=values["body"],
                by=staff.subject,
                active=values["active"],
                replace=template is not None,
            )
        except directory.TemplateExists as exc:
            errors["key"] = str(exc).capitalize() + "."
        except AnswerError as exc:
            errors["body"] = str(exc).capitalize() + "."
        else:
            done = "saved" if template is not None else "added"
            return RedirectResponse(f"{HOME}?done={done}", status_code=303)
    return _form(request, staff, template, values, errors, status_code=422)


Title = Annotated[str, Form(max_length=200)]
Body = Annotated[str, Form(max_length=5_000)]


@router.post("", response_model=None)
def add(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    key: Annotated[str, Form(max_length=64)] = "",
    language: Annotated[str, Form(max_length=8)] = "en",
    title: Title = "",
    body: Body = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    values = {
        "key": key.strip(),
        "language": language,
        "title": title,
        "body": body,
        "active": active,
    }
    return _save(request, session, staff, None, values)


@router.post("/{template_id}", response_model=None)
def edit(
    request: Request,
    template_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    title: Title = "",
    body: Body = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    template = get_or_404(session, AnswerTemplate, template_id, "answer template")
    values = {
        "key": template.key,
        "language": template.language,
        "title": title,
        "body": body,
        "active": active,
    }
    return _save(request, session, staff, template, values)
