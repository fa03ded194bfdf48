"""K-fold cross-validation of the NLU on its own written training data, done the way the model is trained.

Each intent's written examples are split into K folds (seeded, stratified). For each fold: the other folds plus
their seeded variants (outreach/augment.py: variants of the fold under test are never in its training) train an
NLU model with nlu/config.yml (`rasa train nlu`), and the fold's written examples are parsed by it (`rasa test
nlu`). The folds' pipeline leaves out what does not decide the intent (the ResponseSelector of the FAQ answers and
its featurizers). Printed and returned: accuracy and macro-F1 over the intents of ARCHITECTURE.md per fold and
overall, and the training time of a fold.

    .venv/bin/python -m outreach.nlu_cv [--folds 5] [--only 1] [--config nlu/config.yml]

Used by tests/nlu/test_cross_validation.py (make test) and to tune nlu/config.yml (never the stranger set).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from outreach import PROJECT_ROOT, augment
from outreach.rasa_model import rasa_env, rasa_executable

DATA = PROJECT_ROOT / "nlu" / "data" / "nlu"
CONFIG = PROJECT_ROOT / "nlu" / "config.yml"
SEED = 42
CONTRACT = (
    "greet goodbye thanks affirm deny help check_rights find_job housing_help health_cover money_trouble childcare "
    "mobility digital_help language_help book_appointment cancel_appointment reschedule_appointment my_appointments "
    "talk_to_human stop_messages delete_data out_of_scope"
).split()


def _split(folds: int) -> list[tuple[list[dict], dict[str, list[str]]]]:
    """Per fold: (training NLU blocks, test examples per intent). Lookups, synonyms and regexes always train."""
    blocks: list[dict] = []
    for path in sorted(DATA.glob("*.yml")):
        blocks += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", [])
    by_intent: dict[str, list[str]] = {}
    others = [block for block in blocks if "intent" not in block]
    for block in blocks:
        if "intent" in block:
            lines = (line.strip() for line in str(block["examples"]).splitlines())
            by_intent.setdefault(block["intent"], []).extend(line[2:] for line in lines if line.startswith("- "))
    rng = random.Random(SEED)  # noqa: S311 - reproducible folds, not a secret
    assignment = {}
    for intent, texts in by_intent.items():
        order = list(range(len(texts)))
        rng.shuffle(order)
        assignment[intent] = {index: position % folds for position, index in enumerate(order)}
    result = []
    for fold in range(folds):
        train_blocks = list(others)
        test: dict[str, list[str]] = {}
        for intent, texts in by_intent.items():
            kept = [t for i, t in enumerate(texts) if assignment[intent][i] != fold]
            held = [t for i, t in enumerate(texts) if assignment[intent][i] == fold]
            train_blocks.append({"intent": intent, "examples": "".join(f"- {t}\n" for t in kept)})
            if intent in CONTRACT:
                test[intent] = held
        result.append((train_blocks, test))
    return result


def _write(path: Path, blocks: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False,
                                   width=10_000), encoding="utf-8")


# Components that do not decide the intent (FAQ answers and their own features): left out of the folds' models.
NOT_INTENT = (
    "ResponseSelector",
    "components.faq.FaqResponseSelector",
    "CountVectorsFeaturizer",
    "components.faq.FaqCountVectorsFeaturizer",
)


def intent_config(config: Path, work: Path) -> Path:
    """The pipeline without the components that do not decide the intent (the folds train in seconds)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["pipeline"] = [c for c in data["pipeline"] if c["name"] not in NOT_INTENT]
    data.pop("policies", None)
    path = work / "config.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_fold(train_blocks: list[dict], test: dict[str, list[str]], work: Path, config: Path) -> dict:
    config = intent_config(config, work)
    written = work / "written"
    _write(written / "nlu.yml", train_blocks)
    data = augment.build(written, work / "train")
    test_file = work / "test" / "nlu.yml"
    _write(test_file, [{"intent": i, "examples": "".join(f"- {t}\n" for t in texts)} for i, texts in test.items()])
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - fixed argv: the Rasa venv's own executable
        [str(rasa_executable()), "train", "nlu", "--config", str(config), "--nlu", str(data), "--out", str(work),
         "--fixed-model-name", "fold"],
        cwd=work, env=rasa_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    trained = time.monotonic() - started
    subprocess.run(  # noqa: S603 - fixed argv: the Rasa venv's own executable
        [str(rasa_executable()), "test", "nlu", "--nlu", str(test_file), "--model", str(work / "fold.tar.gz"),
         "--out", str(work / "report"), "--no-plot"],
        cwd=work, env=rasa_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    report = json.loads((work / "report" / "intent_report.json").read_text())
    f1s = [report[i]["f1-score"] for i in CONTRACT if i in report]
    return {"accuracy": report["accuracy"], "macro_f1": sum(f1s) / len(f1s), "train_s": round(trained, 1),
            "n": sum(len(t) for t in test.values())}


def cross_validate(folds: int = 5, only: int | None = None, config: Path = CONFIG) -> dict:
    results = []
    for fold, (train_blocks, test) in enumerate(_split(folds)):
        if only is not None and fold >= only:
            break
        work = Path(tempfile.mkdtemp(prefix=f"nlu-cv-{fold}-"))
        try:
            results.append(run_fold(train_blocks, test, work, config))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        scores = results[-1]
        scores["line"] = (f"fold {fold + 1}/{folds}: accuracy {scores['accuracy']:.3f}, macro-F1 "
                          f"{scores['macro_f1']:.3f}, n={scores['n']}, NLU training {scores['train_s']} s")
        print(scores["line"], flush=True)
    total = sum(r["n"] for r in results)
    accuracy = sum(r["accuracy"] * r["n"] for r in results) / total
    macro_f1 = sum(r["macro_f1"] for r in results) / len(results)
    line = f"{len(results)} of {folds} folds: accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f}"
    print(line)
    return {"folds": results, "accuracy": accuracy, "macro_f1": macro_f1, "line": line}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", type=int, default=None, help="run only the first N folds (tuning)")
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args()
    cross_validate(args.folds, args.only, args.config)


if __name__ == "__main__":
    main()
