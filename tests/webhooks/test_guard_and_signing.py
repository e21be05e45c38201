"""The SSRF guard, Standard Webhooks signatures, answer judging and the catalogue (no database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator
from standardwebhooks.webhooks import Webhook

from voice.disclosure.audiences import Audience
from voice.disclosure.policy import Policy
from voice.webhooks import catalogue, sender, signing, ssrf

NONE = ssrf.AllowList.parse([])


def _resolve(url: str, allowed: ssrf.AllowList = NONE, **names: list[str]) -> ssrf.Target:
    async def resolver(host: str, _port: int) -> list[str]:
        return names[host.replace(".", "_")]

    return asyncio.run(
        ssrf.resolve_target(url, allow_http=False, allowed=allowed, resolver=resolver)
    )


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_private_and_reserved_addresses_are_refused(address: str) -> None:
    with pytest.raises(ssrf.UrlRefused):
        _resolve("https://partner.example/hook", partner_example=[address])
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(ssrf.UrlRefused):
        _resolve(f"https://{literal}/hook")


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(ssrf.UrlRefused):
        _resolve("https://partner.example/", partner_example=["93.184.216.34", "10.0.0.5"])


def test_a_public_address_is_the_one_connected_to_with_the_name_kept() -> None:
    target = _resolve("https://partner.example:8443/in?x=1", partner_example=["93.184.216.34"])
    assert target.connect_url() == "https://93.184.216.34:8443/in?x=1"
    assert target.host_header() == "partner.example:8443"
    assert target.host == "partner.example"


def test_the_allow_list_admits_networks_and_hosts() -> None:
    allowed = ssrf.AllowList.parse(["10.0.0.0/8", "receiver.internal"])
    assert _resolve("https://a.example/", allowed, a_example=["10.9.9.9"]).address == "10.9.9.9"
    assert _resolve("https://[::ffff:10.0.0.1]/", allowed).address == "10.0.0.1"
    got = _resolve("https://receiver.internal/", allowed, receiver_internal=["192.168.0.2"])
    assert got.address == "192.168.0.2"
    with pytest.raises(ssrf.UrlRefused):
        _resolve("https://b.example/", allowed, b_example=["192.168.0.2"])


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example/",
        "ftp://partner.example/",
        "https://u:p@partner.example/",
        "https:///x",
    ],
)
def test_https_is_required_outside_development(url: str) -> None:
    with pytest.raises(ssrf.UrlRefused):
        ssrf.check_url_form(url, allow_http=False)


def test_signatures_verify_with_the_standardwebhooks_library() -> None:
    secret = signing.generate_secret()
    other = signing.generate_secret()
    body = b'{"type":"custody.booked"}'
    now = datetime.now(UTC)
    headers = signing.headers(
        secrets_in_force=[secret, other], message_id="msg_1", at=now, body=body
    )
    assert headers["webhook-signature"].count("v1,") == 2
    assert Webhook(secret).verify(body, headers) == {"type": "custody.booked"}
    assert Webhook(other).verify(body, headers) == {"type": "custody.booked"}
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(signing.generate_secret()).verify(body, headers)
    with pytest.raises(signing.BadSecret):
        signing.secret_key("not-a-secret")


def test_answers_are_judged_as_documented() -> None:
    assert sender.judge(200) is sender.Verdict.DELIVERED
    assert sender.judge(299) is sender.Verdict.DELIVERED
    assert sender.judge(410) is sender.Verdict.GONE
    for code in (429, 500, 502, 503):
        assert sender.judge(code) is sender.Verdict.RETRY
    for code in (301, 302, 400, 401, 403, 404, 422):
        assert sender.judge(code) is sender.Verdict.FAILED


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert sender.parse_retry_after("30", now=now) == timedelta(seconds=30)
    assert sender.parse_retry_after("Mon, 02 Nov 2026 09:05:00 GMT", now=now) == timedelta(
        minutes=5
    )
    assert sender.parse_retry_after("soon", now=now) is None
    assert sender.parse_retry_after("99999999", now=now) == sender.MAX_RETRY_AFTER
    assert sender.parse_retry_after("Mon, 02 Nov 2026 08:00:00 GMT", now=now) == timedelta(0)


def test_the_catalogue_offers_exactly_what_the_policy_can_release_to_partners(
    policy: Policy,
) -> None:
    releasable = set()
    for plans in policy.plans.by_field[Audience.PARTNER.value]:
        releasable |= {name for name, plan in plans.items() if plan[0] is None}
    assert set(catalogue.PARTNER_FIELDS) == releasable
    assert "removal.scheduled" not in catalogue.NAMES
    for entry in catalogue.published():
        Draft202012Validator.check_schema(entry["schema"])


def test_the_value_sets_are_the_contracts() -> None:
    from voice.ingest.validation import contract_schema

    case = contract_schema()["properties"]["case"]["properties"]
    for name in ("custody_status", "proceedings_stage", "release_type"):
        assert catalogue.PARTNER_FIELDS[f"case.{name}"]["enum"] == case[name]["enum"]
    upstream = set(contract_schema()["properties"]["event_type"]["enum"])
    assert upstream - {"removal.scheduled"} == catalogue.NAMES
