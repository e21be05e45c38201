"""The alert rules and the dashboard in deploy/monitoring use only metrics the service exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine

from voice import cli

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
# Every metric name /metrics serves (tests/test_metrics.py checks them there), plus the one
# `voice audit verify --metrics-file` writes for the textfile collector.
EXPORTED = {
    "voice_http_requests_total",
    "voice_http_request_duration_seconds_bucket",
    "voice_sends_total",
    "voice_send_retries_total",
    "voice_accounting_writer_queue",
    "voice_outbox_depth",
    "voice_outbox_oldest_age_seconds",
    "voice_guard_open_pauses",
    "voice_circuit_breaker_state",
    "voice_inquiries_past_service_level",
    "voice_feed_silent",
    "voice_audit_verify_ok",
}
_NAME = re.compile(r"\bvoice_[a-z_]+\b")


def test_alert_rules_cover_the_issues_cases_with_exported_metrics() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text(encoding="utf-8"))
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    for wanted in (
        "VoiceOutboxStale",
        "VoiceSendFailureRate",
        "VoiceAccountingChainFailing",
        "VoiceInquiryServiceLevelBreached",
        "VoiceFeedSilent",
    ):
        assert wanted in alerts
    assert "> 300" in alerts["VoiceOutboxStale"]["expr"]  # five minutes
    for rule in alerts.values():
        assert set(_NAME.findall(rule["expr"])) <= EXPORTED, rule["alert"]


def test_the_dashboard_is_grafana_json_over_exported_metrics() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            assert set(_NAME.findall(target["expr"])) <= EXPORTED, panel["title"]


@pytest.mark.usefixtures("voice_env")
def test_verify_writes_its_result_for_the_textfile_collector(
    committed_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    target = tmp_path / "voice.prom"
    assert cli.main(["audit", "verify", "--metrics-file", str(target)]) == 0
    assert "voice_audit_verify_ok 1" in target.read_text(encoding="utf-8")
