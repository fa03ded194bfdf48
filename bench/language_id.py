"""Language identification on the held-out set (tests/i18n/langid_set.yml): accuracy per language and time per
message of outreach.language_id, of py3langid alone (restricted to the same languages) and of lingua, when it is
installed (`.venv/bin/pip install lingua-language-detector==2.1.1`; not a dependency: 96 MB of models).

    .venv/bin/python -m bench.language_id
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml

from outreach import language_id

SET = Path(__file__).resolve().parent.parent / "tests" / "i18n" / "langid_set.yml"
SUPPORTED = {"fr", "en", "ar", "ar-latn", "tr", "pt"}
ALL = ["fr", "en", "ar", "tr", "pt", "es", "it", "de", "ro", "ru", "uk", "fa"]


def ours(text: str) -> str:
    return language_id.identify(text).code or "fr"


def py3langid_alone() -> Callable[[str], str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(ALL)
    return lambda text: str(model.classify(text)[0])


def lingua() -> Callable[[str], str] | None:
    try:
        from lingua import IsoCode639_1, LanguageDetectorBuilder
    except ImportError:
        return None
    languages = [getattr(IsoCode639_1, code.upper()) for code in ALL]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*languages).build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else "fr"

    return detect


def measure(name: str, decide: Callable[[str], str], messages: list[dict[str, str]]) -> None:
    right, total = Counter(), Counter()
    for item in messages[:60]:  # models loaded
        decide(item["text"])
    started = time.perf_counter()
    for item in messages:
        expected = "ar" if item["lang"] == "ar-latn" else item["lang"]
        total[item["lang"]] += 1
        right[item["lang"]] += decide(item["text"]) == expected
    elapsed = (time.perf_counter() - started) / len(messages) * 1000
    supported = sum(right[c] for c in SUPPORTED) / sum(total[c] for c in SUPPORTED)
    others = sum(right[c] for c in total if c not in SUPPORTED) / sum(total[c] for c in total if c not in SUPPORTED)
    per = " ".join(f"{c} {right[c]}/{total[c]}" for c in sorted(total))
    print(f"{name:>16}: supported {supported:.3f}, others {others:.3f}, {elapsed:.2f} ms/message | {per}")


def main() -> None:
    messages = yaml.safe_load(SET.read_text(encoding="utf-8"))["messages"]
    print(f"{len(messages)} messages, {sum(m['lang'] in SUPPORTED for m in messages)} in supported languages")
    language_id.warm()  # the three restricted models, loaded once at the service's start
    measure("outreach", ours, messages)
    measure("py3langid alone", py3langid_alone(), messages)
    detect = lingua()
    if detect is not None:
        measure("lingua", detect, messages)
    else:
        print("lingua: not installed")


if __name__ == "__main__":
    main()
