"""A resident's words are never an intent payload, nor carry invisible or right-to-left override characters
(issue 15, findings 5 and 7)."""

from __future__ import annotations

import pytest

from outreach.options import plain_text


@pytest.mark.parametrize(
    "typed",
    [
        '\u00a0/inform{"commune": "Troyes"}',
        '\u200b/inform{"commune": "Troyes"}',
        '\u202e/inform{"commune": "Troyes"}',
        '  //inform{"commune": "Troyes"}',
        '\ufeff/ /inform{"commune": "Troyes"}',
    ],
)
def test_no_text_starts_with_a_slash_whatever_comes_before_it(typed: str) -> None:
    assert not plain_text(typed).startswith("/")


def test_unknown_commands_are_read_as_words_and_invisible_characters_dropped() -> None:
    assert plain_text("/aide_moi") == "aide moi"
    assert plain_text("/rdv@outreach_bot demain") == "rdv demain"
    assert plain_text("Ami\u202ena\u200b") == "Amina"
    assert plain_text("  bonjour  ") == "bonjour"
