"""Label-preserving and directional edits of real texts, for invariance (INV) and directional (DIR) tests.

Each edit is ``edit(text, rng) -> str | None``: the edited text, or None where the edit does not apply (no
word long enough for a typo, no name to swap). ``rng`` is a seeded ``random.Random``: the same edits on every
run. ``make_edit`` builds one from a suite's declaration.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

Edit = Callable[[str, random.Random], "str | None"]
WORD = re.compile(r"[A-Za-z]+")


def typo(text: str, rng: random.Random) -> str | None:
    """Swap two neighbouring letters inside one word of at least four letters (never its first letter, and
    never two equal letters: the text must change)."""
    spots = [(m.start() + i) for m in WORD.finditer(text) if len(m.group()) >= 4
             for i in range(1, len(m.group()) - 1) if text[m.start() + i] != text[m.start() + i + 1]]
    if not spots:
        return None
    at = rng.choice(spots)
    return text[:at] + text[at + 1] + text[at] + text[at + 2:]


def punctuation(text: str, rng: random.Random) -> str | None:
    """Drop the final full stop, exclamation or question mark; or, if there is none, add a full stop."""
    stripped = text.rstrip()
    if not stripped:
        return None
    return stripped[:-1].rstrip() if stripped[-1] in ".!?" else stripped + "."


def with_case_of(word: str, model: str) -> str:
    """``word`` written like ``model``: all capitals, a capital first letter, or lower case."""
    if model.isupper() and len(model) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if model[:1].isupper() else word.lower()


def swap(words: list[str]) -> Edit:
    """An edit that replaces one occurrence of a word of ``words`` (a whole word, as written there or in
    capitals: "Mark" the name, not "mark" the verb) by another word of ``words``, written in the same case: a
    name for a name, a country for a country."""
    if len(set(w.lower() for w in words)) < 2:
        raise ValueError("a swap needs a lexicon of at least two different words")
    forms = {form for w in words for form in (w, w.upper())}
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(forms, key=len, reverse=True)) + r")\b")

    def edit(text: str, rng: random.Random) -> str | None:
        found = list(pattern.finditer(text))
        if not found:
            return None
        hit = rng.choice(found)
        other = rng.choice([w for w in words if w.lower() != hit.group().lower()])
        return text[:hit.start()] + with_case_of(other, hit.group()) + text[hit.end():]
    return edit


def append(phrase: str) -> Edit:
    """An edit that adds ``phrase`` after the text (a space between)."""
    return lambda text, rng: text.rstrip() + " " + phrase


def prepend(phrase: str) -> Edit:
    """An edit that puts ``phrase`` before the text (a space between)."""
    return lambda text, rng: phrase + " " + text.lstrip()


# A suite names an edit and what it needs: {"edit": "swap", "lexicon": "first_name"}, {"edit": "append",
# "phrase": "I loved it."}.
EDITS = {"typo": (), "punctuation": (), "swap": ("lexicon",), "append": ("phrase",), "prepend": ("phrase",)}


def make_edit(name: str, lexicons: dict[str, list[str]], lexicon: str | None = None,
              phrase: str | None = None) -> Edit:
    """The edit a suite declares (``EDITS`` says what each needs)."""
    if name == "typo":
        return typo
    if name == "punctuation":
        return punctuation
    if name == "swap":
        return swap(lexicons[lexicon])
    if name == "append":
        return append(phrase)
    if name == "prepend":
        return prepend(phrase)
    raise ValueError(f"unknown edit {name!r}; expected one of {', '.join(EDITS)}")
