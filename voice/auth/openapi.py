"""The OpenAPI document states, for every operation, who may call it (from the matrix)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from voice.auth import matrix
from voice.errors import PROBLEM_JSON

SECURITY_SCHEMES: dict[str, Any] = {
    "machineClient": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "OAuth2 client-credentials JWT from the configured issuer; scopes "
        "events:write, webhooks:manage, cases:read.",
    },
    "victimSession": {
        "type": "http",
        "scheme": "bearer",
        "description": "A victim's session token (vss_...), from "
        "POST /api/v1/self-service/sign-in.",
    },
    "staffSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "voice_session",
        "description": "The portal's session cookie, set by OpenID Connect sign-in. Unsafe "
        "methods also need the X-CSRF-Token header (GET /api/v1/me returns it).",
    },
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "example": {"type": "about:blank", "title": "Forbidden", "status": 403},
}


def _security(grants: frozenset[str]) -> list[dict[str, list[str]]] | None:
    if matrix.PUBLIC in grants or matrix.ROUTE_CREDENTIAL in grants:
        return None
    options: list[dict[str, list[str]]] = []
    scopes = sorted(g[6:] for g in grants if g.startswith("scope:"))
    if scopes:
        options.append({"machineClient": scopes})
    if matrix.VICTIM in grants:
        options.append({"victimSession": []})
    if any(g.startswith("role:") for g in grants):
        options.append({"staffSession": []})
    return options


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
        components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem_ref = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                grants = matrix.allowed(method, path) or frozenset()
                operation["x-voice-allowed"] = sorted(grants)
                security = _security(grants)
                responses = operation.setdefault("responses", {})
                if security is not None:
                    operation["security"] = security
                    responses.setdefault("401", {"description": "not signed in"})
                    responses.setdefault("403", {"description": "not allowed for this caller"})
                for code, response in responses.items():
                    if code[0] in "45":
                        response["content"] = problem_ref
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
