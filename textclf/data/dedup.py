"""Duplicate texts, found after normalisation, so that no text can sit in two splits.

Two texts are the same text when they are equal after folding case and
collapsing every run of white space (``"Great  film"`` and ``"great film\n"``
are one text). A duplicate in the test split of a text the model trained on
turns test accuracy into partly memorisation, so ``data/build_data.py`` keeps
one copy of each text before it splits, and drops every copy of a text that
appears with two different labels.

>>> deduplicate([{"text": "Great  film", "label": "pos"}, {"text": "great film", "label": "pos"},
...              {"text": "Meh", "label": "pos"}, {"text": "meh", "label": "neg"}])[0]
[{'text': 'Great  film', 'label': 'pos'}]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable


def normalize_text(text: str) -> str:
    """The key two texts are compared by: case folded, white space collapsed and trimmed."""
    return " ".join(text.split()).casefold()


def deduplicate(records: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Keep the first copy of each normalised text; drop empty texts and texts seen with two labels.

    ``records`` are dicts with ``text`` and ``label``; returns the kept records (in their
    order) and counts of what was dropped and why.
    """
    keys = [normalize_text(record["text"]) for record in records]
    labels_of: dict[str, set[str]] = defaultdict(set)
    for key, record in zip(keys, records):
        labels_of[key].add(record["label"])
    seen: set[str] = set()
    kept, dropped = [], Counter()
    for key, record in zip(keys, records):
        if not key:
            dropped["empty texts dropped"] += 1
        elif len(labels_of[key]) > 1:
            dropped["texts with conflicting labels dropped (every copy)"] += 1
        elif key in seen:
            dropped["duplicate texts dropped (same after case folding and white-space collapsing)"] += 1
        else:
            seen.add(key)
            kept.append(record)
    return kept, dict(dropped)


def shared_across(groups: dict[str, Iterable[str]]) -> dict[str, set[str]]:
    """Normalised texts that occur in more than one group (e.g. split), with the groups they occur in."""
    where: dict[str, set[str]] = defaultdict(set)
    for name, texts in groups.items():
        for text in texts:
            where[normalize_text(text)].add(name)
    return {key: names for key, names in where.items() if len(names) > 1}
