"""Settings: issue defaults, start-up validation (CORS wildcard, weak keys, hard caps)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from ml_service.limits import MIB
from ml_service.settings import Settings


def test_defaults_are_the_issue_limits() -> None:
    settings = Settings()
    assert settings.max_body_bytes == 10 * MIB
    assert settings.max_dims == 1000
    assert settings.max_clusters == 100
    assert settings.max_batch_operations == 100
    assert settings.cors_origins == []


@pytest.mark.parametrize(
    "origins", ["*", "https://ok.example.com,*", "https://*.example.com", "null"]
)
def test_wildcard_or_malformed_cors_origin_is_rejected(
    origins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_SERVICE_CORS_ORIGINS", origins)
    with pytest.raises(ValidationError):
        Settings()


def test_cors_origins_parse_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_SERVICE_CORS_ORIGINS", "https://a.example.com, http://localhost:3000")
    assert Settings().cors_origins == ["https://a.example.com", "http://localhost:3000"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_dims", 1001),
        ("max_clusters", 101),
        ("max_batch_operations", 101),
        ("workers", 0),
        ("operation_timeout_seconds", 0),
        ("model_signing_key", "too-short"),
    ],
)
def test_out_of_range_settings_are_rejected(name: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})  # type: ignore[arg-type]


def test_limits_can_be_tightened_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_SERVICE_MAX_DIMS", "10")
    monkeypatch.setenv("ML_SERVICE_MAX_BODY_BYTES", "2048")
    settings = Settings()
    assert settings.limits().max_dims == 10
    assert settings.max_body_bytes == 2048


def test_service_refuses_to_start_with_wildcard_cors(tmp_path: object) -> None:
    secret = "a-secret-signing-key-that-must-not-leak-" + "x" * 8
    completed = subprocess.run(
        [sys.executable, "-m", "ml_service"],
        env={
            "PATH": "/usr/bin:/bin",
            "ML_SERVICE_CORS_ORIGINS": "*",
            "ML_SERVICE_MODEL_SIGNING_KEY": secret,
            "ML_SERVICE_PORT": "1",
        },
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert b"cors_origins" in completed.stderr
    assert secret.encode() not in completed.stderr


def test_api_keys_parse_from_env_and_short_keys_are_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ML_SERVICE_API_KEYS", f"{'a' * 32}, {'b' * 40}")
    keys = [key.get_secret_value() for key in Settings().api_keys]
    assert keys == ["a" * 32, "b" * 40]
    monkeypatch.setenv("ML_SERVICE_API_KEYS", "short-key")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert [error["loc"] for error in caught.value.errors()] == [("api_keys",)]


def test_upload_budget_must_hold_one_full_body() -> None:
    with pytest.raises(ValidationError):
        Settings(max_body_bytes=10 * MIB, max_upload_bytes_in_flight=5 * MIB)
