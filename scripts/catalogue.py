"""The message catalogue: `extract` (outreach/locale/messages.pot from the code and Rasa's domain),
`update` (merge it into every language's .po), `check` (what `make lint` and the tests run: the .pot is up to
date, every language translates every message with the same placeholders, and no French text a resident
reads escapes the catalogue)."""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach import i18n  # noqa: E402

POT = i18n.LOCALE_DIR / "messages.pot"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}

# Modules only staff read (the console, the CLI, the cluster's operator, the seed data): French, never translated.
STAFF_ONLY = (
    "outreach/console/", "outreach/cli/", "outreach/cluster/", "outreach/seed.py", "outreach/stats.py", "sandbox/",
)
# Modules that hold no text anyone reads (matching words, training data tools).
NOT_READ = ("outreach/options.py", "outreach/augment.py", "outreach/nlu_cv.py", "outreach/i18n.py",
            "outreach/i18n_extract.py", "outreach/dates.py", "outreach/screening/prefill.py")  # fmt: skip
FRENCH_WORD = re.compile(
    r"[àâçéèêëîïôûùœ]|\b(?:vous|votre|vos|le|la|les|des|une|pour|avec|est|sont|pas|plus|de|du|et|ou)\b", re.I
)
IGNORE = "# i18n: ignore"  # on the line of a string nobody reads as a message (matching words, patterns)
CALLS_THAT_ACCOUNT = {"_", "N_", "ngettext", "staff"}
CALLS_NOT_READ = {"debug", "info", "warning", "error", "exception", "critical", "getLogger", "compile", "search",
                  "match", "fullmatch", "sub", "findall", "finditer", "split", "startswith", "endswith", "replace",
                  "get", "pop", "setdefault", "removeprefix", "removesuffix", "execute", "text"}  # fmt: skip


def extracted() -> Catalog:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    catalog = Catalog(project="outreach", charset="utf-8", fuzzy=False)
    for _filename, _lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(message, None, [], auto_comments=comments, context=context)
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, omit_header=True, no_location=True, sort_output=True, width=120)
    return out.getvalue()


def extract() -> None:
    POT.parent.mkdir(parents=True, exist_ok=True)
    POT.write_bytes(_po_bytes(extracted()))
    print(f"{POT.relative_to(ROOT)}: {len(extracted())} messages")


def _po_path(code: str) -> Path:
    return i18n.LOCALE_DIR / code / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def update() -> None:
    template = extracted()
    for code in i18n.TRANSLATED:
        path = _po_path(code)
        if path.exists():
            with path.open("rb") as po:
                catalog = read_po(po, locale=code)
        else:
            catalog = Catalog(locale=code, project="outreach", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_po_bytes(catalog))
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def untranslated() -> list[str]:
    """What is missing: per language, a msgid with no translation, a fuzzy one, or other placeholders."""
    problems = []
    template = extracted()
    for code in i18n.TRANSLATED:
        path = _po_path(code)
        if not path.exists():
            problems.append(f"{code}: no catalogue ({path.relative_to(ROOT)})")
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=code)
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id)
            strings = (found.string if found else None) or ""
            strings = strings if isinstance(strings, tuple) else (strings,)
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            short = str(ids[0])[:70].replace("\n", " ")
            if found is None or not all(strings) or found.fuzzy:
                problems.append(f"{code}: not translated: {short!r}")
            elif set(PLACEHOLDER.findall(ids[0])) != set(PLACEHOLDER.findall(strings[0])):
                problems.append(f"{code}: placeholders differ: {short!r}")
    return problems


def _resident_modules() -> list[Path]:
    found = []
    for folder in ("bot", "actions", "outreach"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(STAFF_ONLY) and relative not in NOT_READ:
                found.append(path)
    return found


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def escaped_french() -> list[str]:
    """French strings in modules residents read that are in no `_`, `N_`, `ngettext` or `staff` call."""
    problems = []
    for path in _resident_modules():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    skip.add(id(body[0].value))
            if hasattr(node, "lineno") and IGNORE in lines[node.lineno - 1]:
                skip.add(id(node))
            name = _call_name(node) if isinstance(node, ast.Call) else ""
            if name in CALLS_THAT_ACCOUNT or name in CALLS_NOT_READ or isinstance(node, ast.Raise):
                for inner in ast.walk(node):
                    skip.add(id(inner))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and id(node) not in skip:
                parts = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if " " in parts.strip() and FRENCH_WORD.search(parts):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {parts[:60]!r}")
                for inner in ast.walk(node):
                    skip.add(id(inner))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                text = node.value
                if " " in text.strip() and FRENCH_WORD.search(text):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]!r}")
    return problems


def stale_template() -> list[str]:
    current = POT.read_bytes() if POT.exists() else b""
    if current == _po_bytes(extracted()):
        return []
    return [f"{POT.relative_to(ROOT)} is stale: run scripts/catalogue.py extract"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["extract", "update", "check"])
    command = parser.parse_args().command
    if command == "extract":
        extract()
        return 0
    if command == "update":
        extract()
        update()
        return 0
    problems = escaped_french() + stale_template() + untranslated()
    for problem in problems[:200]:
        print(problem)
    if len(problems) > 200:
        print(f"… and {len(problems) - 200} more")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
