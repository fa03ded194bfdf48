"""A whitespace tokenizer whose tokens carry an accent-folded, lower-case lemma.

Residents often type without accents ("securite sociale", "a cote", "pret") or with wrong ones.
The count-vector featurizers read `token.lemma`, so "prime d'activité" and "prime d'activite" give the
same features; offsets and `token.text` are untouched, so entities keep the resident's own spelling.
"""

from __future__ import annotations

import unicodedata

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "’": "'", "ß": "ss"})


def fold(text: str) -> str:
    """Lower case, ligatures expanded, accents removed: 'Œuvre Sécurité' -> 'oeuvre securite'."""
    decomposed = unicodedata.normalize("NFD", text.lower().translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class FrenchTokenizer(WhitespaceTokenizer):
    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = fold(token.text)
        return tokens
