"""VENOM_ROUTING_MODE as a pure policy (services/routing.py) and the sensitive-data detector it relies on
(services/sensitive.py): every mode, every kind of data with its near-misses, OLLAMA_NO_CLOUD and llm_off."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from venom_mcp.config import Settings
from venom_mcp.services import routing, sensitive
from venom_mcp.services.routing import RouteFacts, decide

BOTH_KEYS = frozenset({"openai", "google"})


def facts(**values: Any) -> RouteFacts:
    """Ollama (llama3.2:1b, 8k context) active, both cloud keys set, light profile: override what a test needs."""
    base: dict[str, Any] = {"active_runtime": "ollama", "active_model": "llama3.2:1b", "cloud_ready": BOTH_KEYS,
                            "models": {"ollama": "llama3.2:1b"}, "local_context_length": 8192}
    return RouteFacts(**{**base, **values})


# ---- the detector ---------------------------------------------------------------------------------------------

MATCHES = [
    ("api_key", "my key is sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv please"),
    ("api_key", "sk-ant-api03-Xy7Zq2Wv9Ut4Sr1Qp8On5Ml3Kj6Ih0Gf"),
    ("api_key", "GOOGLE_API_KEY=AIzaSyD-abcdefghijklmnopqrstuvwxyz01234"),
    ("api_key", "token ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("api_key", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("api_key", "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("api_key", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("api_key", "HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"),
    ("api_key", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
                "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----"),
    ("private_key", "-----BEGIN PGP PRIVATE KEY BLOCK-----"),
    ("email", "write to jan.kowalski@gmail.com tomorrow"),
    ("email", "Kontakt: ANNA+praca@firma.com.pl."),
    ("payment_card", "Visa 4111 1111 1111 1111, exp 12/27"),
    ("payment_card", "card 4111 1111 1111 1111 12/27"),
    ("payment_card", "mastercard 5555-5555-5555-4444"),
    ("payment_card", "amex 378282246310005"),
    ("payment_card", "card:5555555555554444"),
    ("iban", "przelew na PL61 1090 1014 0000 0712 1981 2874 do piątku"),
    ("iban", "IBAN: DE89370400440532013000 EUR"),
    ("iban", "GB29 NWBK 6016 1331 9268 19"),
    ("pesel", "PESEL 44051401359"),
    ("pesel", "PESEL:44051401359"),
    ("pesel", "urodzony w 2002: 02210308123"),
    ("us_ssn", "SSN 123-45-6789 on file"),
]

NEAR_MISSES = [
    ("api_key", "pip install sk-learn; see task-Ab3dEf6hIj9kLm2nOp5qRs8tUv and sk-some-long-descriptive-name-here"),
    ("api_key", "AIzaShortValue and ghp_short and github_pat_x"),
    ("api_key", "AKIA1234 and akiaiosfodnn7example and XAKIAIOSFODNN7EXAMPLE"),
    ("api_key", "hf_hub_download_with_a_long_function_name(repo_id)"),
    ("api_key", "jwt header only: eyJhbGciOiJIUzI1NiJ9"),
    ("private_key", "-----BEGIN PUBLIC KEY----- and -----BEGIN CERTIFICATE----- and 'private key' in prose"),
    ("email", "user@example.com, admin@mail.example.org, dev@host.test, icon@2x.png, logo@3x.webp"),
    ("email", "git@github.com:org/repo.git, lodash@4.17.21, @property, name@localhost, a@b"),
    ("payment_card", "4111 1111 1111 1112 (Luhn fails), 1234567890123452 (no card network)"),
    ("payment_card", "ts 1700000000000, order 9000000000000001, pi 3.1415926535897932384, 2024-01-15 12:30:45"),
    ("payment_card", "uuid 123e4567-e89b-12d3-a456-426614174000, sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"),
    ("iban", "PL61 1090 1014 0000 0712 1981 2875 (check digits wrong), DE00 1234 5678 9012 3456 78"),
    ("iban", "ISO8601 and AB12CDEF and GB29NWBK6016133192681 (one short)"),
    ("pesel", "44051401358 (checksum), 44131401350 (month 13), phone 600123456, 123456789012"),
    ("us_ssn", "000-12-3456, 666-12-3456, 912-34-5678, 123-00-4567, 123-45-0000"),
    ("us_ssn", "phone 555-123-4567, date 2023-11-05, part 12-345-6789, 1123-45-6789"),
]


@pytest.mark.parametrize(("kind", "text"), MATCHES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(MATCHES)])
def test_detector_finds_each_kind(kind: str, text: str) -> None:
    assert sensitive.scan(text) == [kind]


@pytest.mark.parametrize(("kind", "text"), NEAR_MISSES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(NEAR_MISSES)])
def test_detector_leaves_near_misses_alone(kind: str, text: str) -> None:
    assert sensitive.scan(text) == []


def test_detector_gives_kinds_only_in_a_fixed_order() -> None:
    texts = ["ssn 123-45-6789", "mail jan.kowalski@gmail.com", "key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv", ""]
    found = sensitive.scan(texts)
    assert found == ["api_key", "email", "us_ssn"]
    assert sensitive.describe(found) == "an API key or token, an email address and a US social security number"
    ordinary = ("Translate the release notes of version 2.4.1 (build 20251201, commit 9f86d08) into Polish. "
                "Call +48 600 123 456 or visit https://example.com/a?b=1. Total: 1,234,567.89 PLN.")
    assert sensitive.scan(ordinary) == []


def test_check_digit_helpers() -> None:
    assert sensitive.luhn("4111111111111111") and not sensitive.luhn("4111111111111112")
    assert sensitive.iban_valid("GB82 WEST 1234 5698 7654 32") and not sensitive.iban_valid("GB82WEST12345698765433")
    assert sensitive.pesel_valid("44051401359") and not sensitive.pesel_valid("4405140135")


# ---- modes ------------------------------------------------------------------------------------------------------

def test_unset_mode_keeps_todays_order() -> None:
    decision = decide(None, facts(fallback_order=("openai", "nope", "vllm")))
    assert decision.candidates == ["ollama", "openai"]
    assert decision.reason == "ollama is the runtime asked for; then openai (VENOM_FALLBACK_ORDER)"
    assert "nope: not a runtime (VENOM_FALLBACK_ORDER)" in decision.skipped
    assert any(s.startswith("VENOM_RUNTIME_PROFILE=light does not allow requests on vllm") for s in decision.skipped)
    # The detector does not change today's behaviour: only the explicit flag does.
    assert decide(None, facts(fallback_order=("openai",), findings=("email",))).candidates == ["ollama", "openai"]


def test_unset_mode_sensitive_flag_stays_local() -> None:
    decision = decide(None, facts(active_runtime="openai", active_model="gpt-4o-mini", sensitive=True))
    assert decision.candidates == ["ollama"]
    assert decision.reason == "stays local: the request is marked sensitive"


def test_local_mode_skips_cloud_fallback() -> None:
    decision = decide("local", facts(fallback_order=("openai", "google")))
    assert decision.candidates == ["ollama"]
    assert decision.reason == "local: cloud fallback skipped (VENOM_ROUTING_MODE=local)"
    assert decision.skipped == ["openai: cloud fallback skipped (VENOM_ROUTING_MODE=local)",
                                "google: cloud fallback skipped (VENOM_ROUTING_MODE=local)"]
    assert decide("local", facts()).reason == "local: stays on this machine (VENOM_ROUTING_MODE=local)"


def test_local_mode_keeps_a_cloud_runtime_the_user_made_active() -> None:
    decision = decide("local", facts(active_runtime="openai", active_model="gpt-4o-mini",
                                     fallback_order=("google", "ollama")))
    assert decision.candidates == ["openai", "ollama"]
    assert decision.reason == "local: cloud fallback skipped (VENOM_ROUTING_MODE=local)"
    alone = decide("local", facts(active_runtime="openai", active_model="gpt-4o-mini"))
    assert alone.candidates == ["openai"] and "the user chose" in alone.reason


def test_local_mode_counts_ollama_cloud_models_as_cloud() -> None:
    decision = decide("local", facts(profile="full", active_runtime="vllm", active_model="org/m",
                                     fallback_order=("ollama",), models={"ollama": "gpt-oss:120b-cloud"}))
    assert decision.candidates == ["vllm"]
    assert routing.is_ollama_cloud_model("glm-4.6:cloud") and routing.is_ollama_cloud_model("qwen3-coder:480b-cloud")
    assert not routing.is_ollama_cloud_model("cloudy:latest") and not routing.is_ollama_cloud_model("cloud")


def test_cloud_mode_puts_cloud_first_and_local_last() -> None:
    decision = decide("cloud", facts(fallback_order=("google",)))
    assert decision.candidates == ["google", "openai", "ollama"]
    assert decision.reason == "cloud: google first (VENOM_ROUTING_MODE=cloud)"
    without_keys = decide("cloud", facts(cloud_ready=frozenset()))
    assert without_keys.candidates == ["ollama"] and "no cloud runtime has a key" in without_keys.reason
    sensitive_one = decide("cloud", facts(sensitive=True))
    assert sensitive_one.candidates == ["ollama"]
    assert sensitive_one.reason == "cloud: stays local: the request is marked sensitive"


def test_hybrid_stays_local_by_default_with_cloud_as_fallback() -> None:
    decision = decide("hybrid", facts())
    assert decision.candidates == ["ollama"]
    assert decision.reason == "hybrid: stays local: no rule sends it to the cloud"
    assert decide("hybrid", facts(fallback_order=("openai",))).candidates == ["ollama", "openai"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"token_estimate": 9000},
     "hybrid: cloud: the request needs ~9000 tokens, more than llama3.2:1b's context of 8192"),
    ({"tools_requested": True, "local_function_calling": False},
     "hybrid: cloud: tools were requested and llama3.2:1b has no function calling"),
    ({"quality": "high"}, "hybrid: cloud: quality=high was asked"),
])
def test_hybrid_rules_that_send_a_request_to_the_cloud(change: dict[str, Any], reason: str) -> None:
    decision = decide("hybrid", facts(**change))
    assert decision.candidates == ["openai", "google", "ollama"]
    assert decision.reason == reason
    # The cloud runtimes of VENOM_FALLBACK_ORDER come first.
    assert decide("hybrid", facts(fallback_order=("google",), **change)).candidates[0] == "google"


@pytest.mark.parametrize("change", [
    {"token_estimate": 8192}, {"token_estimate": 9000, "local_context_length": None},
    {"tools_requested": True, "local_function_calling": True}, {"tools_requested": True},
    {"quality": "default"},
])
def test_hybrid_rules_near_misses_stay_local(change: dict[str, Any]) -> None:
    assert decide("hybrid", facts(**change)).candidates == ["ollama"]


@pytest.mark.parametrize(("kind", "text"), MATCHES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(MATCHES)])
def test_hybrid_keeps_each_kind_of_sensitive_data_local(kind: str, text: str) -> None:
    decision = decide("hybrid", facts(quality="high", fallback_order=("openai",),
                                      findings=tuple(sensitive.scan(text))))
    assert decision.candidates == ["ollama"]
    assert decision.reason == f"hybrid: stays local: the prompt holds {sensitive.DESCRIPTIONS[kind]}"


@pytest.mark.parametrize(("kind", "text"), NEAR_MISSES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(NEAR_MISSES)])
def test_hybrid_near_misses_may_go_to_the_cloud(kind: str, text: str) -> None:
    decision = decide("hybrid", facts(quality="high", findings=tuple(sensitive.scan(text))))
    assert decision.candidates[0] == "openai" and decision.reason == "hybrid: cloud: quality=high was asked"


def test_hybrid_sensitive_flag_and_active_cloud() -> None:
    marked = decide("hybrid", facts(token_estimate=100_000, sensitive=True, fallback_order=("openai",)))
    assert marked.candidates == ["ollama"] and marked.reason == "hybrid: stays local: the request is marked sensitive"
    assert "openai: the request is marked sensitive" in marked.skipped
    chosen = facts(active_runtime="openai", active_model="gpt-4o-mini", models={"ollama": "llama3.2:1b"})
    assert decide("hybrid", chosen).candidates == ["openai"]
    assert decide("hybrid", chosen).reason == "hybrid: openai is the runtime the user chose"
    moved = decide("hybrid", replace(chosen, findings=("email",)))
    assert moved.candidates == ["ollama"] and moved.reason == "hybrid: stays local: the prompt holds an email address"
    nowhere = decide("hybrid", replace(chosen, findings=("iban",), models={}))
    assert nowhere.candidates == [] and "no local runtime can take it" in nowhere.reason


def test_hybrid_pinned_models() -> None:
    local_pin = decide("hybrid", facts(requested_runtime="ollama", requested_model="qwen3:8b", quality="high"))
    assert local_pin.candidates == ["ollama"] and local_pin.reason == "hybrid: stays local: the request names its model"
    cloud_pin = facts(requested_runtime="openai", requested_model="gpt-4o", findings=("payment_card",))
    refused = decide("hybrid", cloud_pin)
    assert refused.candidates == []
    assert refused.reason == ("hybrid: refused: the prompt holds a payment card number, and the model asked for runs "
                              "in the cloud (openai); ask a local model")
    assert decide("hybrid", replace(cloud_pin, findings=())).candidates == ["openai"]


def test_hybrid_without_cloud_keys_stays_local() -> None:
    decision = decide("hybrid", facts(quality="high", cloud_ready=frozenset()))
    assert decision.candidates == ["ollama"]
    assert decision.reason == ("hybrid: stays local: quality=high was asked, but no cloud runtime has a key "
                               "(OPENAI_API_KEY or GOOGLE_API_KEY)")


def test_ollama_no_cloud_never_sends_to_the_cloud() -> None:
    unset = decide(None, facts(active_runtime="openai", active_model="gpt-4o-mini", fallback_order=("ollama",),
                               no_cloud=True))
    assert unset.candidates == ["ollama"]
    assert "openai: OLLAMA_NO_CLOUD=1 keeps requests off the cloud" in unset.skipped
    assert unset.reason == "openai left out: OLLAMA_NO_CLOUD=1 keeps requests off the cloud; ollama takes the request"
    hybrid = decide("hybrid", facts(quality="high", no_cloud=True, fallback_order=("openai",)))
    assert hybrid.candidates == ["ollama"]
    assert hybrid.reason == "hybrid: stays local: quality=high was asked, but OLLAMA_NO_CLOUD=1"
    cloud = decide("cloud", facts(no_cloud=True))
    assert cloud.candidates == ["ollama"]
    assert cloud.reason == ("cloud: openai left out: OLLAMA_NO_CLOUD=1 keeps requests off the cloud; "
                            "ollama takes the request")
    ollama_cloud = decide("local", facts(active_model="gpt-oss:120b-cloud", no_cloud=True))
    assert ollama_cloud.candidates == []
    assert ollama_cloud.reason.startswith("local: refused: OLLAMA_NO_CLOUD=1 keeps requests off the cloud")


def test_llm_off_profile_is_cloud_only() -> None:
    cloud_only = facts(profile="llm_off", active_runtime="openai", active_model="gpt-4o-mini",
                       fallback_order=("ollama", "google"))
    unset = decide(None, cloud_only)
    assert unset.candidates == ["openai", "google"]
    assert any(s.startswith("VENOM_RUNTIME_PROFILE=llm_off does not allow requests on ollama") for s in unset.skipped)
    assert decide("hybrid", replace(cloud_only, quality="high")).candidates == ["openai", "google"]
    refused = decide("hybrid", replace(cloud_only, sensitive=True))
    assert refused.candidates == []
    assert refused.reason == ("hybrid: refused: VENOM_RUNTIME_PROFILE=llm_off allows only cloud runtimes, and the "
                              "request is marked sensitive; choose another VENOM_RUNTIME_PROFILE")
    local = decide("local", replace(cloud_only, active_runtime=None, active_model=None, fallback_order=("ollama",)))
    assert local.candidates == [] and "VENOM_ROUTING_MODE=local keeps requests on this machine" in local.reason
    both = decide(None, replace(cloud_only, no_cloud=True))
    assert both.candidates == [] and "llm_off allows only cloud runtimes, and OLLAMA_NO_CLOUD=1" in both.reason


def test_nothing_active_is_refused_with_a_reason() -> None:
    decision = decide(None, facts(active_runtime=None, active_model=None))
    assert decision.candidates == [] and "no runtime is active" in decision.reason


def test_facts_from_settings(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, venom_home=tmp_path, openai_api_key="sk-x", google_api_key=None,  # type: ignore[call-arg]
                        fallback_order="gpt, ollama", runtime_profile="full", ollama_no_cloud=True,
                        routing_mode="hybrid")
    built = routing.facts_from(
        settings, active=("ollama", "llama3.2:1b"), texts=["hi", "mail jan.kowalski@gmail.com"], quality="high",
        token_estimate=routing.estimate_tokens(["abcd" * 10], 16))
    assert built.fallback_order == ("openai", "ollama") and built.cloud_ready == frozenset({"openai"})
    assert built.findings == ("email",) and built.no_cloud and built.profile == "full" and built.token_estimate == 26
    assert decide(settings.routing_mode, built).reason == "hybrid: stays local: the prompt holds an email address"


@pytest.mark.parametrize(("raw", "mode"), [("", None), ("HYBRID", "hybrid"), (" local ", "local")])
def test_routing_mode_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str, mode: str | None) -> None:
    monkeypatch.setenv("VENOM_ROUTING_MODE", raw)
    monkeypatch.setenv("OLLAMA_NO_CLOUD", "1" if mode else "")
    settings = Settings(_env_file=None, venom_home=tmp_path)  # type: ignore[call-arg]
    assert settings.routing_mode == mode and settings.ollama_no_cloud is bool(mode)
