"""The configuration module: environment first, then secrets files, then defaults."""

from __future__ import annotations

import pytest

from components import config
from components.api.contract import DEFAULT_BASE_URL


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder of our own (its .streamlit/secrets.toml is the first secrets file)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(config.API_KEY, raising=False)
    monkeypatch.delenv(config.BASE_URL, raising=False)
    (tmp_path / ".streamlit").mkdir()
    return tmp_path


def write_secrets(home, text: str) -> None:
    (home / ".streamlit" / "secrets.toml").write_text(text)


def test_defaults_without_environment_or_secrets(home):
    assert config.api_key() == (None, "none")
    assert config.base_url() == DEFAULT_BASE_URL.rstrip("/")


def test_secrets_give_the_key_and_the_base_url_configured_with_it(home):
    write_secrets(
        home, 'AIMLAPI_API_KEY = "sk-secret-1234"\nAIMLAPI_BASE_URL = "https://p.example/"\n'
    )
    assert config.api_key() == ("sk-secret-1234", "secrets")
    assert config.base_url() == "https://p.example"


def test_the_environment_wins_over_secrets(home, monkeypatch):
    write_secrets(
        home, 'AIMLAPI_API_KEY = "sk-secret-1234"\nAIMLAPI_BASE_URL = "https://p.example"\n'
    )
    monkeypatch.setenv(config.API_KEY, " sk-env-5678 ")
    monkeypatch.setenv(config.BASE_URL, "https://env.example//")
    assert config.api_key() == ("sk-env-5678", "environment")
    assert config.base_url() == "https://env.example"


def test_a_broken_secrets_file_counts_as_empty(home):
    write_secrets(home, "AIMLAPI_API_KEY = ")
    assert config.api_key() == (None, "none")


def test_numbers_fall_back_to_their_defaults(home, monkeypatch):
    monkeypatch.setenv(config.CONCURRENCY, "lots")
    assert config.concurrency() == config.DEFAULT_CONCURRENCY
    monkeypatch.setenv(config.CONCURRENCY, "0")
    assert config.concurrency() == 1
    monkeypatch.setenv(config.OFFLINE_LATENCY, "-3")
    assert config.offline_latency() == 0.0
