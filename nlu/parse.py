"""`outreach nlu parse` backend (runs in .venv-rasa): one message per stdin line → one JSON per stdout line.

The model is loaded once; lines are parsed in order and flushed as they come, so it also works as a pipe.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description="Parse messages with the trained NLU model.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--ranking", action="store_true", help="also print the next 3 intents")
    args = parser.parse_args()
    # Results go to the real stdout; anything libraries print (Rasa's structlog, TensorFlow) to stderr.
    results = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.disable(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore")
    from rasa.core.agent import Agent

    agent = Agent.load(args.model)
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")

    async def run() -> None:
        for raw in stdin:
            text = raw.rstrip("\r\n")
            if not text.strip():
                result = {"text": text, "intent": None, "confidence": 0.0, "entities": []}
            else:
                parsed = await agent.parse_message(text)
                intent = parsed.get("intent") or {}
                result = {
                    "text": text,
                    "intent": intent.get("name"),
                    "confidence": round(float(intent.get("confidence") or 0.0), 4),
                    "entities": [
                        {"entity": e["entity"], "value": e["value"], "start": e["start"], "end": e["end"]}
                        for e in parsed.get("entities") or []
                    ],
                }
                if args.ranking:  # the runners-up, to see how sure the model is (off by default: the contract)
                    result["ranking"] = [
                        {"intent": r.get("name"), "confidence": round(float(r.get("confidence") or 0.0), 4)}
                        for r in (parsed.get("intent_ranking") or [])[1:4]
                    ]
            results.write(json.dumps(result, ensure_ascii=False) + "\n")
            results.flush()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
