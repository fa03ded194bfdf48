"""Seeded, deterministic augmentation of the written training examples, done at training time.

Residents write "jsuis", "jai", "qqn", "rdv", drop an apostrophe or a letter, double another. For a share of the
written examples (SHARE), one variant is added under the same intent, made by one or two of these operations:
SMS abbreviations, missing apostrophes, a dropped or doubled letter, no capitals or punctuation. Accents need no
variant: the tokenizer folds them for training and parsing alike (nlu/components/french.py).

The written examples stay as they are and come first; a variant that folds to the same text as any written
example (of any intent) or another variant is dropped, so augmentation never adds a clash between intents.
Variants are written to a separate file of the training data copy (`build`), never to nlu/data.
"""

from __future__ import annotations

import random
import re
import shutil
import unicodedata
from pathlib import Path

import yaml

SEED = 42
SHARE = 0.5  # the share of written examples that get a variant
ENTITY = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)|\[([^\]]+)\]\{[^}]+\}")

# Phrase → SMS forms residents use (applied on whole words, lower case).
SMS: dict[str, tuple[str, ...]] = {
    "je suis": ("jsuis", "chui", "jsui"),
    "j'ai": ("jai", "g", "j ai"),
    "c'est": ("cest", "c", "sé"),
    "quelqu'un": ("qqn", "qq1", "quelquun"),
    "rendez-vous": ("rdv", "rendez vous", "rendezvous"),
    "pourquoi": ("pk", "pq", "pourkoi"),
    "s'il vous plaît": ("svp", "stp"),
    "s'il vous plait": ("svp", "stp"),
    "beaucoup": ("bcp",),
    "aujourd'hui": ("ajd", "aujourdhui", "ojd"),
    "je ne sais pas": ("jsp", "je sais pas", "chais pas"),
    "je sais pas": ("jsp", "chais pas"),
    "bonjour": ("bjr", "bonjours", "bjour"),
    "salut": ("slt",),
    "merci": ("mrc", "mercii", "mci"),
    "avec": ("avc",),
    "dans": ("ds",),
    "pour": ("pr",),
    "vous": ("vs", "vou"),
    "quoi": ("koi",),
    "que": ("ke",),
    "qu'est-ce que": ("keske", "kesk", "qu'est ce que"),
    "est-ce que": ("esk", "est ce que", "eske"),
    "je veux": ("jveux", "je ve", "jvx"),
    "je voudrais": ("jvoudrais", "je voudré"),
    "d'accord": ("dac", "daccord", "dacc"),
    "maintenant": ("mtn", "mnt"),
    "toujours": ("tjrs", "tjs"),
    "quand": ("qd", "kan"),
    "comment": ("cmt", "commen"),
    "travail": ("taf", "travaille"),
    "il y a": ("ya", "y a", "il ya"),
    "je peux": ("jpeux", "je peu"),
    "je n'ai pas": ("jai pas", "g pas"),
    "je ne comprends pas": ("jcomprends pas", "je comprend pas"),
    "enfants": ("enfant", "enfents"),
    "problème": ("probleme", "prob", "pb"),
}
_APOSTROPHE = re.compile(r"\b([jlcdmtsnq]u?)['’](\w)", re.IGNORECASE)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("’", "'"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _sms(text: str, rng: random.Random) -> str:
    lowered = text.lower()
    found = [phrase for phrase in SMS if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered)]
    if not found:
        return text
    phrase = rng.choice(sorted(found))
    return re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", rng.choice(SMS[phrase]), lowered, count=1)


def _no_apostrophe(text: str, rng: random.Random) -> str:
    return _APOSTROPHE.sub(lambda m: m.group(1) + m.group(2), text)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, word in enumerate(words) if len(word) >= 5 and word.isalpha()]
    if not candidates:
        return text
    index = rng.choice(candidates)
    word = words[index]
    at = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        words[index] = word[:at] + word[at + 1 :]  # a dropped letter
    else:
        words[index] = word[:at] + word[at] + word[at:]  # a doubled letter
    return " ".join(words)


def _plain(text: str, rng: random.Random) -> str:
    return re.sub(r"[?!.,;]+", "", text.lower()).strip()


OPERATIONS = (_sms, _sms, _no_apostrophe, _typo, _typo, _plain)


def variant(text: str, rng: random.Random) -> str:
    """One or two operations on an example (entity annotations are dropped: the variant has plain text)."""
    plain = ENTITY.sub(lambda m: m.group(1) or m.group(2), text)
    result = plain
    for operation in rng.sample(OPERATIONS, k=rng.choice((1, 2))):
        result = operation(result, rng)
    return " ".join(result.split())


def _examples(block: dict) -> list[str]:
    lines = (line.strip() for line in str(block.get("examples", "")).splitlines())
    return [line[2:].strip() for line in lines if line.startswith("- ")]


def augmented(data_dir: Path) -> dict[str, list[str]]:
    """Intent → the variants to add, deterministic for the same written data."""
    blocks = []
    for path in sorted(data_dir.rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block and "/" not in block["intent"]:  # retrieval intents (faq/…) are left as written
                blocks.append(block)
    seen = {
        _fold(ENTITY.sub(lambda m: m.group(1) or m.group(2), text)) for block in blocks for text in _examples(block)
    }
    rng = random.Random(SEED)
    added: dict[str, list[str]] = {}
    for block in blocks:
        for text in _examples(block):
            if rng.random() >= SHARE:
                continue
            new = variant(text, rng)
            key = _fold(new)
            if not key or key in seen or new[:1] in "{[*&!%@`>#|-":
                continue
            seen.add(key)
            added.setdefault(block["intent"], []).append(new)
    return added


def build(data_dir: Path, out_dir: Path) -> Path:
    """A copy of the written training data with the variants in `augmented.yml`; returns `out_dir`."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(data_dir, out_dir)
    nlu = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
        for intent, texts in augmented(data_dir).items()
    ]
    header = "# Generated at training time by outreach/augment.py (seeded): never edit, never commit.\n"
    body = yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False, width=10_000)
    (out_dir / "augmented.yml").write_text(header + body, encoding="utf-8")
    return out_dir
