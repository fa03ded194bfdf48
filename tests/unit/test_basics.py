"""Small pieces: text splitting, settings, log redaction, the layering rule."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from outreach.config import Settings
from outreach.logs import RedactingFilter, redact
from outreach.replies import split_text


class TestSplitText:
    def test_short_text_is_one_message(self) -> None:
        assert split_text("Bonjour") == ["Bonjour"]

    def test_long_text_is_split_at_paragraphs_under_the_limit(self) -> None:
        text = "\n\n".join(f"Paragraphe {i}. " + "mot " * 300 for i in range(10))
        chunks = split_text(text)
        assert all(len(chunk) <= 4096 for chunk in chunks)
        assert all(chunk.startswith("Paragraphe") for chunk in chunks)
        assert " ".join(chunks).split() == text.split()

    def test_text_without_spaces_is_cut_hard(self) -> None:
        assert [len(c) for c in split_text("x" * 9000)] == [4096, 4096, 808]


class TestSettings:
    def test_no_token_means_sandbox(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
        assert Settings().sandbox

    def test_malformed_token_is_refused_clearly(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not a token")
        with pytest.raises(ValidationError, match="does not look like a bot token"):
            Settings()

    def test_file_url_follows_the_api_base(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9999/bot")
        assert Settings().telegram_file_base_url == "http://127.0.0.1:9999/file/bot"

    @pytest.mark.parametrize("value", ["20h-9h", "25:00-09:00", "soir"])
    def test_bad_quiet_hours_are_refused(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        monkeypatch.setenv("OUTREACH_QUIET_HOURS", value)
        with pytest.raises(ValidationError, match="OUTREACH_QUIET_HOURS"):
            Settings()


def test_tokens_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456789:AAH-secret_token_value_0123456789abcd"
    assert token not in redact(f"POST https://api.telegram.org/bot{token}/getUpdates")
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("calling %s", f"http://x/bot{token}/sendMessage")
    assert token not in caplog.text and "<token>" in caplog.text
