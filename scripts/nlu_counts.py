"""Written training examples per intent (nlu/data/nlu), and examples that appear under two intents.

    .venv/bin/python scripts/nlu_counts.py [--min 150]
Exits 1 when an intent of ARCHITECTURE.md has fewer than --min examples or an example has two intents."""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = (
    "greet goodbye thanks affirm deny help check_rights find_job housing_help health_cover money_trouble childcare "
    "mobility digital_help language_help book_appointment cancel_appointment reschedule_appointment my_appointments "
    "talk_to_human stop_messages delete_data out_of_scope"
).split()


def examples(folder: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = collections.defaultdict(list)
    for path in sorted(folder.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
            if "intent" in block:
                for line in str(block.get("examples", "")).splitlines():
                    if line.strip().startswith("- "):
                        found[block["intent"]].append(line.strip()[2:].strip())
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--min", type=int, default=150)
    parser.add_argument("--data", type=Path, default=ROOT / "nlu" / "data" / "nlu")
    args = parser.parse_args()
    found = examples(args.data)
    owners: dict[str, set[str]] = collections.defaultdict(set)
    for intent, texts in found.items():
        for text in texts:
            owners[text.lower()].add(intent)
    failed = False
    for intent in CONTRACT:
        count = len(found.get(intent, []))
        flag = "" if count >= args.min else f"   < {args.min}"
        failed |= bool(flag)
        print(f"{intent:<24}{count:>5}{flag}")
    for intent in sorted(set(found) - set(CONTRACT)):
        print(f"{intent:<24}{len(found[intent]):>5}   (not a contract intent)")
    clashes = {text: intents for text, intents in owners.items() if len(intents) > 1}
    for text, intents in sorted(clashes.items()):
        print(f"two intents {sorted(intents)}: {text}")
    return 1 if failed or clashes else 0


if __name__ == "__main__":
    sys.exit(main())
