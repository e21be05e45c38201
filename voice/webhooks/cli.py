"""``voice webhooks``: partner endpoints and their deliveries, from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.pii import keyring
from voice.webhooks import catalogue, service
from voice.webhooks.models import EndpointCreate, EndpointPublic, EndpointUpdate, WebhookDelivery

USAGE_ERROR = 2


def _fail(message: str) -> int:
    print(f"voice webhooks: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _endpoint(row: Any) -> str:
    return EndpointPublic.model_validate(row, from_attributes=True).model_dump_json()


def cmd_webhooks(args: argparse.Namespace) -> int:
    if args.action == "replay" and (args.delivery is None) == (args.failed_since is None):
        return _fail("replay needs exactly one of --delivery ID or --failed-since TIME")
    settings = get_settings()
    keyring.configure(settings)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            return _run(args, session, settings)
    except service.WebhookError as exc:
        return _fail(str(exc))
    except service.NotFound as exc:
        print(f"voice webhooks: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, session: Any, settings: Any) -> int:
    action = args.action
    if action == "add":
        endpoint, secret = service.create_endpoint(
            session=session,
            endpoint_in=EndpointCreate(
                url=args.url,
                partner_name=args.partner,
                partner_contact=args.contact,
                event_types=args.event_types,
            ),
            settings=settings,
        )
        print(json.dumps({"endpoint": json.loads(_endpoint(endpoint)), "secret": secret}))
    elif action == "list":
        for endpoint in service.list_endpoints(session=session):
            print(_endpoint(endpoint))
    elif action == "rotate":
        endpoint = service.get_endpoint(session=session, endpoint_id=args.endpoint_id)
        secret, until = service.rotate_secret(session=session, endpoint=endpoint, settings=settings)
        old = until.isoformat() if until else None
        print(json.dumps({"secret": secret, "previous_secret_expires_at": old}))
    elif action in ("disable", "enable"):
        endpoint = service.get_endpoint(session=session, endpoint_id=args.endpoint_id)
        status = "disabled" if action == "disable" else "active"
        reason = getattr(args, "reason", None)
        changes = EndpointUpdate.model_validate({"status": status, "disabled_reason": reason})
        service.update_endpoint(
            session=session, endpoint=endpoint, changes=changes, settings=settings
        )
        print(_endpoint(endpoint))
    elif action == "deliveries":
        service.get_endpoint(session=session, endpoint_id=args.endpoint_id)
        for d in service.list_deliveries(
            session=session, endpoint_id=args.endpoint_id, status=args.status, limit=args.limit
        ):
            print(json.dumps(_delivery(d)))
    elif action == "replay":
        return _replay(args, session)
    return 0


def _replay(args: argparse.Namespace, session: Any) -> int:
    service.get_endpoint(session=session, endpoint_id=args.endpoint_id)
    if args.delivery is not None:
        delivery = session.get(WebhookDelivery, args.delivery)
        if delivery is None or delivery.endpoint_id != args.endpoint_id:
            raise service.NotFound("no such delivery for this endpoint")
        service.replay(session=session, delivery=delivery)
        print(json.dumps({"replayed": 1}))
        return 0
    count = service.replay_failed_since(
        session=session, endpoint_id=args.endpoint_id, since=args.failed_since
    )
    print(json.dumps({"replayed": count}))
    return 0


def _delivery(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_type": d.event_type,
        "case_id": d.case_id,
        "message_id": d.message_id,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.isoformat(),
        "created_at": d.created_at.isoformat(),
    }


def _aware(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its offset, e.g. 2026-11-02T09:00Z")
    return parsed


def _event_type(value: str) -> str:
    if value not in catalogue.NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown event type {value!r}; one of: {', '.join(sorted(catalogue.NAMES))}"
        )
    return value


def register(subparsers: Any) -> None:
    """Add ``voice webhooks …`` to the ``voice`` command's subparsers."""
    webhooks = subparsers.add_parser(
        "webhooks",
        help="partner webhook endpoints: add, list, rotate, disable, enable, deliveries, replay",
        description="Manage partner webhook endpoints and their deliveries. Output is JSON lines.",
    )
    actions = webhooks.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="what to do"
    )
    add = actions.add_parser("add", help="register an endpoint; prints its secret, shown once")
    add.add_argument("url", help="the partner's URL (https outside development)")
    add.add_argument("--partner", required=True, help="the partner's name")
    add.add_argument("--contact", required=True, help="the partner's contact (never logged)")
    add.add_argument(
        "--event-type",
        dest="event_types",
        action="append",
        required=True,
        type=_event_type,
        help="an event type to subscribe to; repeat for more (see docs/webhooks.md)",
    )
    actions.add_parser("list", help="every endpoint, one JSON line each")
    for name, text in (
        ("rotate", "a new secret; the old one keeps signing for VOICE_WEBHOOK_SECRET_OVERLAP"),
        ("disable", "stop deliveries to an endpoint (they wait until it is enabled)"),
        ("enable", "resume deliveries to an endpoint"),
        ("deliveries", "an endpoint's latest deliveries, newest first"),
        ("replay", "send again one delivery (--delivery) or all failed since --failed-since"),
    ):
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("endpoint_id", type=int, help="the endpoint's id (see list)")
        if name == "disable":
            sub.add_argument(
                "--reason",
                default="by admin",
                help="recorded with the endpoint (default: %(default)s)",
            )
        if name == "deliveries":
            sub.add_argument("--status", help="only deliveries in this status")
            sub.add_argument(
                "--limit", type=int, default=50, help="at most this many (default: %(default)s)"
            )
        if name == "replay":
            sub.add_argument("--delivery", type=int, help="the delivery's id")
            sub.add_argument(
                "--failed-since", type=_aware, help="replay failed deliveries created since"
            )
    webhooks.set_defaults(func=cmd_webhooks)
