"""Who may call what: every route of the service, and the callers it admits.

This is the one place access is decided. ``voice.auth.access.authorize`` runs before every
route and checks the caller against this table; a route missing from it is refused (and the
app will not even start with one). ``tests/auth/test_matrix.py`` walks every cell.

Grants: ``public`` (anyone), ``route-credential`` (the route checks a credential of its own),
``victim`` (a signed-in victim: their own data only, enforced by
the route), ``role:<staff role>`` and ``scope:<machine-client scope>``.
"""

from __future__ import annotations

from voice.auth.principals import Role, Scope

PUBLIC = "public"
VICTIM = "victim"
# Callers with no identity here who prove themselves to the route itself (a provider's request
# signature, the bounce mailbox's token): let through, and refused by the route without it.
ROUTE_CREDENTIAL = "route-credential"


def _roles(*roles: Role) -> frozenset[str]:
    return frozenset(f"role:{r.value}" for r in roles)


def _scope(scope: Scope) -> frozenset[str]:
    return frozenset({f"scope:{scope.value}"})


ANYONE = frozenset({PUBLIC})
OWN_CREDENTIAL = frozenset({ROUTE_CREDENTIAL})
ALL_STAFF = _roles(*Role)
# Case and registrant work: the liaison desk and its supervisors.
CASEWORK = _roles(Role.LIAISON, Role.SUPERVISOR)
CASE_READERS = _roles(Role.LIAISON, Role.SUPERVISOR, Role.PRIVACY_OFFICER)
SUPERVISORS = _roles(Role.SUPERVISOR)
# Delivery history: casework plus the auditors who check it.
DELIVERY_READERS = _roles(Role.LIAISON, Role.SUPERVISOR, Role.AUDITOR)
# The accounting of disclosures (Privacy Act 552a(c)).
ACCOUNTING_READERS = _roles(Role.PRIVACY_OFFICER, Role.AUDITOR, Role.SUPERVISOR)
# The privacy officer's pages: the accounting, its chain and the access log.
PRIVACY = _roles(Role.PRIVACY_OFFICER, Role.AUDITOR)
SECURITY = _roles(Role.SECURITY)
ADMINS = _roles(Role.ADMIN)

MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # Operations and the published contract.
    ("GET", "/healthz"): ANYONE,
    ("GET", "/readyz"): ANYONE,
    ("GET", "/api/v1/contract/event.schema.json"): ANYONE,
    # Machine clients.
    ("POST", "/api/v1/events"): _scope(Scope.EVENTS_WRITE),
    ("GET", "/api/v1/partner/cases/{case_id}"): _scope(Scope.CASES_READ),
    # Victim self-service.
    ("POST", "/api/v1/self-service/sign-in"): ANYONE,
    ("POST", "/api/v1/self-service/sign-in-link"): ANYONE,
    ("POST", "/api/v1/self-service/sign-in-link/redeem"): ANYONE,
    ("GET", "/self-service/sign-in-link"): ANYONE,
    ("POST", "/self-service/sign-in-link"): ANYONE,
    # The victims' web pages: sign-in is public (each form checks its CSRF token); the pages
    # behind it check their own credential, the self-service session cookie, and send anyone
    # without a live session to sign in (voice/selfservice/web_session.py).
    ("GET", "/self-service"): ANYONE,
    ("GET", "/self-service/sign-in"): ANYONE,
    ("POST", "/self-service/sign-in"): ANYONE,
    ("POST", "/self-service/sign-in-link/request"): ANYONE,
    ("POST", "/self-service/sign-out"): ANYONE,
    ("GET", "/self-service/cases"): OWN_CREDENTIAL,
    ("GET", "/self-service/notices"): OWN_CREDENTIAL,
    ("POST", "/self-service/notices/{event_id}/confirm"): OWN_CREDENTIAL,
    ("GET", "/self-service/preferences"): OWN_CREDENTIAL,
    ("POST", "/self-service/preferences"): OWN_CREDENTIAL,
    ("POST", "/self-service/preferences/cases/{case_id}"): OWN_CREDENTIAL,
    ("GET", "/self-service/questions"): OWN_CREDENTIAL,
    ("POST", "/self-service/questions"): OWN_CREDENTIAL,
    ("GET", "/self-service/my-questions"): OWN_CREDENTIAL,
    ("POST", "/self-service/preferences/email"): OWN_CREDENTIAL,
    ("POST", "/self-service/preferences/phone"): OWN_CREDENTIAL,
    ("GET", "/self-service/preferences/phone"): OWN_CREDENTIAL,
    ("POST", "/self-service/preferences/phone/code"): OWN_CREDENTIAL,
    ("POST", "/self-service/preferences/phone/resend"): OWN_CREDENTIAL,
    ("GET", "/api/v1/self-service/cases"): frozenset({VICTIM}),
    ("GET", "/api/v1/self-service/notices"): frozenset({VICTIM}),
    ("POST", "/api/v1/self-service/notices/{event_id}/acknowledge"): frozenset({VICTIM}),
    ("GET", "/api/v1/self-service/inquiries"): frozenset({VICTIM}),
    ("POST", "/api/v1/self-service/inquiries"): frozenset({VICTIM}),
    # Provider callbacks: each route checks its own credential (Twilio's signature, the bounce
    # mailbox's token) and answers 403 without it.
    ("POST", "/callbacks/sms/status"): OWN_CREDENTIAL,
    ("POST", "/callbacks/sms/inbound"): OWN_CREDENTIAL,
    ("POST", "/callbacks/email/bounce"): OWN_CREDENTIAL,
    # Inbound email: Mailgun's HMAC signature, or the SendGrid parse URL's password.
    ("POST", "/callbacks/email/inbound/mailgun"): OWN_CREDENTIAL,
    ("POST", "/callbacks/email/inbound/sendgrid"): OWN_CREDENTIAL,
    ("GET", "/metrics"): OWN_CREDENTIAL,
    # Acknowledgement links in emails: the signed link is the credential; a bad one is a 404.
    ("GET", "/ack/{token}"): ANYONE,
    ("POST", "/ack/{token}"): ANYONE,
    ("POST", "/api/v1/self-service/sign-out"): frozenset({VICTIM}),
    # Proving contact points: the emailed link is the credential; the texted code is typed by
    # the signed-in victim.
    ("GET", "/self-service/confirm-email"): ANYONE,
    ("POST", "/self-service/confirm-email"): ANYONE,
    ("POST", "/api/v1/self-service/confirm-email"): ANYONE,
    ("POST", "/api/v1/self-service/contact-points/phone/confirm"): frozenset({VICTIM}),
    # Anyone signed in may ask who they are.
    ("GET", "/api/v1/me"): ALL_STAFF | {VICTIM} | {f"scope:{s.value}" for s in Scope},
    # Staff portal. Sign-in pages are public; the development sign-in refuses itself outside
    # development.
    ("GET", "/portal/sign-in"): ANYONE,
    ("GET", "/portal/auth/callback"): ANYONE,
    ("GET", "/portal/dev-sign-in"): ANYONE,
    ("POST", "/portal/dev-sign-in"): ANYONE,
    ("POST", "/portal/sign-out"): ALL_STAFF,
    ("GET", "/portal/me"): ALL_STAFF,
    # The work queue is every staff member's home; what it lists follows the role.
    ("GET", "/portal"): ALL_STAFF,
    # The same home typed with a trailing slash: a redirect to it, nothing more.
    ("GET", "/portal/"): ANYONE,
    ("POST", "/portal/tasks/{task_id}/claim"): CASEWORK,
    ("POST", "/portal/tasks/{task_id}/close"): CASEWORK,
    ("GET", "/portal/search"): CASE_READERS,
    ("GET", "/portal/cases"): CASE_READERS,
    ("GET", "/portal/cases/{case_id}"): CASE_READERS,
    # Safety holds in the portal, as in the API: any caseworker sets one, a supervisor lifts.
    ("POST", "/portal/cases/{case_id}/holds"): CASEWORK,
    ("POST", "/portal/holds/{hold_id}/lift"): SUPERVISORS,
    # Registrants in the portal: casework, like the victims API.
    ("GET", "/portal/registrants/new"): CASEWORK,
    ("POST", "/portal/registrants"): CASEWORK,
    ("GET", "/portal/registrants/{victim_id}"): CASEWORK,
    ("GET", "/portal/registrants/{victim_id}/edit"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/edit"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/verify"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/reset-pin"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/deactivate"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/opt-out"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/opt-in"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/contact/{kind}/send"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/contact/{kind}/attest"): CASEWORK,
    ("GET", "/portal/registrants/{victim_id}/link"): CASEWORK,
    ("POST", "/portal/registrants/{victim_id}/links"): CASEWORK,
    ("POST", "/portal/links/{link_id}/verify"): CASEWORK,
    # Portal operations: staff messages and their review, manual status entry, the mass-event
    # guard, the privacy officer's and security staff's pages, partner webhooks.
    ("GET", "/portal/messages/new"): CASEWORK,
    ("POST", "/portal/messages"): CASEWORK,
    ("GET", "/portal/messages/review"): SUPERVISORS,
    ("GET", "/portal/messages/{message_id}"): CASEWORK,
    ("POST", "/portal/messages/{message_id}/approve"): SUPERVISORS,
    ("POST", "/portal/messages/{message_id}/reject"): SUPERVISORS,
    ("GET", "/portal/status-entry"): SUPERVISORS,
    ("POST", "/portal/status-entry"): SUPERVISORS,
    ("GET", "/portal/guard"): SUPERVISORS,
    ("GET", "/portal/guard/{pause_id}"): SUPERVISORS,
    ("POST", "/portal/guard/{pause_id}/release"): SUPERVISORS,
    ("POST", "/portal/guard/{pause_id}/cancel"): SUPERVISORS,
    ("GET", "/portal/privacy"): PRIVACY,
    ("GET", "/portal/privacy/disclosures.csv"): PRIVACY,
    ("GET", "/portal/privacy/chain"): PRIVACY,
    ("GET", "/portal/privacy/access-log"): PRIVACY,
    ("GET", "/portal/security"): SECURITY,
    ("POST", "/portal/security/quarantine/{quarantine_id}/purge"): SECURITY,
    ("GET", "/portal/webhooks"): ADMINS,
    ("POST", "/portal/webhooks"): ADMINS,
    ("GET", "/portal/webhooks/{endpoint_id}"): ADMINS,
    ("POST", "/portal/webhooks/{endpoint_id}/status"): ADMINS,
    ("POST", "/portal/webhooks/{endpoint_id}/rotate-secret"): ADMINS,
    ("POST", "/portal/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"): ADMINS,
    ("POST", "/portal/webhooks/{endpoint_id}/replay"): ADMINS,
    ("GET", "/portal/inquiries"): CASEWORK,
    ("GET", "/portal/inquiries/{inquiry_id}"): CASEWORK,
    ("POST", "/portal/inquiries/{inquiry_id}/assign"): CASEWORK,
    ("POST", "/portal/inquiries/{inquiry_id}/triage"): CASEWORK,
    ("POST", "/portal/inquiries/{inquiry_id}/notes"): CASEWORK,
    ("POST", "/portal/inquiries/{inquiry_id}/answers"): CASEWORK,
    ("POST", "/portal/inquiries/{inquiry_id}/close"): CASEWORK,
    ("POST", "/portal/inquiries/answers/{answer_id}/review"): SUPERVISORS,
    # Logging a phone call, and the referral directory: the liaison desk keeps both, as the
    # API lets it. Answer templates are the office's words: supervisors write them.
    ("GET", "/portal/inquiries/calls/new"): CASEWORK,
    ("POST", "/portal/inquiries/calls"): CASEWORK,
    ("GET", "/portal/inquiries/directory"): CASEWORK,
    ("GET", "/portal/inquiries/directory/new"): CASEWORK,
    ("POST", "/portal/inquiries/directory"): CASEWORK,
    ("GET", "/portal/inquiries/directory/{referral_id}"): CASEWORK,
    ("POST", "/portal/inquiries/directory/{referral_id}"): CASEWORK,
    ("GET", "/portal/inquiries/templates"): SUPERVISORS,
    ("GET", "/portal/inquiries/templates/new"): SUPERVISORS,
    ("POST", "/portal/inquiries/templates"): SUPERVISORS,
    ("GET", "/portal/inquiries/templates/{template_id}"): SUPERVISORS,
    ("POST", "/portal/inquiries/templates/{template_id}"): SUPERVISORS,
    # Liaison API: subjects and cases.
    ("GET", "/api/v1/subjects"): CASE_READERS,
    ("GET", "/api/v1/cases"): CASE_READERS,
    ("GET", "/api/v1/cases/{case_id}"): CASE_READERS,
    # Victims.
    ("POST", "/api/v1/victims"): CASEWORK,
    ("GET", "/api/v1/victims"): CASEWORK,
    ("GET", "/api/v1/victims/{victim_id}"): CASEWORK,
    ("PATCH", "/api/v1/victims/{victim_id}"): CASEWORK,
    ("POST", "/api/v1/victims/{victim_id}/verify"): CASEWORK,
    ("POST", "/api/v1/victims/{victim_id}/deactivate"): CASEWORK,
    ("POST", "/api/v1/victims/{victim_id}/reset-pin"): CASEWORK,
    # A victim's PIN back-off: the liaison on the phone with them sees and lifts it.
    ("GET", "/api/v1/victims/{victim_id}/sign-in-lock"): CASEWORK,
    ("DELETE", "/api/v1/victims/{victim_id}/sign-in-lock"): CASEWORK,
    # Contact points: proving them (a liaison's attestation), and resending a link or code.
    ("GET", "/api/v1/victims/{victim_id}/contact-points"): CASEWORK,
    ("POST", "/api/v1/victims/{victim_id}/contact-points/{kind}/attest"): CASEWORK,
    ("POST", "/api/v1/victims/{victim_id}/contact-points/{kind}/send-verification"): CASEWORK,
    # Links between victims and cases.
    ("GET", "/api/v1/victims/{victim_id}/links"): CASEWORK,
    ("POST", "/api/v1/victims/{victim_id}/links"): CASEWORK,
    ("PATCH", "/api/v1/links/{link_id}"): CASEWORK,
    ("POST", "/api/v1/links/{link_id}/verify"): CASEWORK,
    # Notification history.
    ("GET", "/api/v1/victims/{victim_id}/notifications"): DELIVERY_READERS,
    ("GET", "/api/v1/cases/{case_id}/notifications"): DELIVERY_READERS,
    # Safety holds: any caseworker may set one (safety first); only a supervisor lifts one.
    ("GET", "/api/v1/cases/{case_id}/holds"): CASE_READERS,
    ("POST", "/api/v1/cases/{case_id}/holds"): CASEWORK,
    ("POST", "/api/v1/holds/{hold_id}/lift"): SUPERVISORS,
    # Liaison tasks: the desk and its supervisors take them on and close them.
    ("GET", "/api/v1/tasks"): CASEWORK,
    ("POST", "/api/v1/tasks/{task_id}/claim"): CASEWORK,
    ("POST", "/api/v1/tasks/{task_id}/close"): CASEWORK,
    # Inquiries: the liaison desk works the queue; only a supervisor lets a held answer go.
    ("GET", "/api/v1/inquiries"): CASEWORK,
    ("GET", "/api/v1/inquiries/categories"): CASEWORK,
    ("POST", "/api/v1/inquiries/calls"): CASEWORK,
    ("GET", "/api/v1/inquiries/{inquiry_id}"): CASEWORK,
    ("PATCH", "/api/v1/inquiries/{inquiry_id}"): CASEWORK,
    ("POST", "/api/v1/inquiries/{inquiry_id}/assign"): CASEWORK,
    ("POST", "/api/v1/inquiries/{inquiry_id}/notes"): CASEWORK,
    ("POST", "/api/v1/inquiries/{inquiry_id}/answers"): CASEWORK,
    ("POST", "/api/v1/inquiries/{inquiry_id}/close"): CASEWORK,
    ("POST", "/api/v1/inquiries/answers/{answer_id}/approve"): SUPERVISORS,
    ("POST", "/api/v1/inquiries/answers/{answer_id}/reject"): SUPERVISORS,
    ("GET", "/api/v1/inquiries/templates"): CASEWORK,
    # Templates are the office's words, written by supervisors here as in the portal.
    ("POST", "/api/v1/inquiries/templates"): SUPERVISORS,
    ("GET", "/api/v1/inquiries/referrals"): CASEWORK,
    ("POST", "/api/v1/inquiries/referrals"): CASEWORK,
    ("PUT", "/api/v1/inquiries/referrals/{referral_id}"): CASEWORK,
    # The accounting of disclosures.
    ("GET", "/api/v1/disclosures"): ACCOUNTING_READERS,
    ("GET", "/api/v1/cases/{case_id}/disclosures"): ACCOUNTING_READERS,
    # Administration: how much personal data is still under each encryption key.
    ("GET", "/api/v1/admin/pii-keys"): _roles(Role.ADMIN),
    # Partner webhooks: the catalogue is published; endpoints are an admin's to manage.
    ("GET", "/api/v1/webhooks/event-types"): ANYONE,
    ("POST", "/api/v1/webhook-endpoints"): _roles(Role.ADMIN),
    ("GET", "/api/v1/webhook-endpoints"): _roles(Role.ADMIN),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): _roles(Role.ADMIN),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): _roles(Role.ADMIN),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): _roles(Role.ADMIN),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): _roles(Role.ADMIN),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay"): _roles(
        Role.ADMIN
    ),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/replay"): _roles(Role.ADMIN),
    # The API's own description.
    ("GET", "/openapi.json"): ANYONE,
    ("GET", "/docs"): ANYONE,
}


def allowed(method: str, path: str) -> frozenset[str] | None:
    """The grants that admit a route, or None when the route is not in the matrix."""
    return MATRIX.get((method.upper(), path))
