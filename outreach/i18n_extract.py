"""Babel extraction of Rasa's responses (nlu/domain/*.yml): every response text and button title is a msgid
(the channel renders them by key, outreach/i18n.localize). Referenced from babel.cfg."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml


def extract_rasa_domain(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    domain = yaml.safe_load(fileobj.read().decode("utf-8")) or {}
    for name, variations in sorted((domain.get("responses") or {}).items()):
        for variation in variations or []:
            if variation.get("text"):
                yield 0, None, str(variation["text"]), [name]
            for button in variation.get("buttons") or []:
                if button.get("title"):
                    yield 0, None, str(button["title"]), [f"{name} (bouton)"]
