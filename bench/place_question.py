"""What residents write at the place question, and what the bot makes of it (actions/place.py).

    .venv/bin/python -m bench.place_question [--messages bench/place_question.yml] [--concurrency 8]

The messages (bench/place_question.yml) were written by someone who had not seen the code or the training data:
what a resident might type when asked "dans quel quartier de Dijon habitez-vous ?" (or the commune question),
each with the kind of thing it says: a place, a time, thanks or ok, facts about the household, a question, a place
the bot cannot know. Each message is sent by a new resident of the sandbox (`outreach run`, sandbox mode) after
the consent, "je voudrais un rdv" and, for the quartier question, the "Dijon" button; the bot's replies to it are
read until it is quiet, and classified:

- place: the form went on (the topic, the quartier question after a commune, "Pas de souci", outside the territories);
- time_kept: "C'est noté, je chercherai d'abord un créneau à ce moment-là.";
- acknowledged: "Avec plaisir." or "Merci. Vous pourrez en parler…";
- not_found: "Je ne trouve pas ce quartier / cette commune";
- answered: another answer (a question's, the form's help);
- asked_again: only the question again.

Right handling per kind: place → place; time → time_kept; smalltalk and facts → anything but not_found; question →
answered; unknown_place → not_found (or outside the territories). Prints one JSON object: the rate per kind, the
misses with what the bot said."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from sandbox.client import ChatUser, EmulatorClient
from sandbox.launch import launch_outreach

HERE = Path(__file__).resolve().parent
QUIET = 3.0  # seconds without a message after which the bot's answer is complete

RIGHT = {
    "place": {"place"},
    "time": {"time_kept"},
    "smalltalk": {"asked_again", "acknowledged", "answered", "place", "time_kept"},
    "facts": {"asked_again", "acknowledged", "answered", "place", "time_kept"},
    "question": {"answered"},
    "unknown_place": {"not_found", "place"},
}


def classify(texts: list[str], question: str) -> str:
    if any(t.startswith("Je ne trouve pas") for t in texts):
        return "not_found"
    if any(t == "C'est à quel sujet ?" or t.startswith(("Pas de souci", "Nos adultes-relais sont à")) for t in texts):
        return "place"
    if texts and texts[-1].startswith("Question 2 sur 2") and (question == "commune" or "de Dijon" not in texts[-1]):
        return "place"  # a commune understood: its quartier is asked (at the quartier question: another commune's)
    if any(t.startswith("C'est noté, je chercherai") for t in texts):
        return "time_kept"
    if any(t in ("Avec plaisir.",) or t.startswith("Merci. Vous pourrez en parler") for t in texts):
        return "acknowledged"
    if all(t.startswith("Question ") for t in texts):
        return "asked_again"
    return "answered"


async def _replies(user: ChatUser) -> list[str]:
    texts = []
    while True:
        try:
            message = await user.next_message(timeout=QUIET)
        except (AssertionError, TimeoutError):
            return texts
        if not message.edited:
            texts.append(message.text)


async def one(client: EmulatorClient, user_id: int, item: dict[str, str]) -> dict[str, Any]:
    user = await client.user(user_id, "Habitant")
    await user.send("bonjour")
    consent = await user.wait_for(lambda m: "J'accepte" in " ".join(m.buttons), timeout=30)
    await user.press("✅ J'accepte", message=consent)
    await user.wait_for(lambda m: not m.edited and "Prendre rendez-vous" in m.buttons, timeout=30)
    await user.send("je voudrais un rdv")
    first = await user.wait_for(lambda m: not m.edited and m.text.startswith("Question 1 sur 2"), timeout=30)
    if item.get("question", "quartier") == "quartier":
        await user.press("Dijon", message=first)
        await user.wait_for(lambda m: not m.edited and m.text.startswith("Question 2 sur 2"), timeout=30)
    await _replies(user)  # nothing else pending
    await user.send(item["text"])
    said = await _replies(user)
    outcome = classify(said, item.get("question", "quartier"))
    return {**item, "outcome": outcome, "right": outcome in RIGHT[item["kind"]], "said": said}


async def run(messages: list[dict[str, str]], concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir, launch_outreach(Path(workdir)) as launched:
        assert launched.sandbox_url is not None
        async with EmulatorClient(launched.sandbox_url) as client:
            gate = asyncio.Semaphore(concurrency)

            async def limited(number: int, item: dict[str, str]) -> dict[str, Any]:
                async with gate:
                    return await one(client, 900_000 + number, item)

            results = await asyncio.gather(*(limited(n, item) for n, item in enumerate(messages)))
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for result in results:
        per_kind[result["kind"]]["right" if result["right"] else "wrong"] += 1
    rates = {
        kind: {"right": c["right"], "of": c.total(), "rate": round(c["right"] / c.total(), 3)}
        for kind, c in sorted(per_kind.items())
    }
    right = sum(r["right"] for r in results)
    return {
        "messages": len(results),
        "right": right,
        "rate": round(right / len(results), 3),
        "per_kind": rates,
        "outcomes": dict(Counter(r["outcome"] for r in results)),
        "misses": [
            {"text": r["text"], "kind": r["kind"], "outcome": r["outcome"], "said": [t[:120] for t in r["said"]]}
            for r in results
            if not r["right"]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=Path, default=HERE / "place_question.yml")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    messages = yaml.safe_load(args.messages.read_text())["messages"]
    print(json.dumps(asyncio.run(run(messages, args.concurrency)), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
