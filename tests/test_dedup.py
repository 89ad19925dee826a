"""Duplicate detection: normalisation rules, first copy kept, conflicting labels dropped; properties."""

from hypothesis import given
from hypothesis import strategies as st

from textclf.data.dedup import deduplicate, normalize_text, shared_across


def test_normalisation_folds_case_and_white_space():
    assert normalize_text("  Great\tFILM\n\n ok ") == "great film ok"
    assert normalize_text("Straße") == normalize_text("STRASSE")  # casefold, not lower
    assert normalize_text("a-b") != normalize_text("a b")  # punctuation is kept


def test_first_copy_kept_conflicts_and_empties_dropped():
    records = [{"text": "A  b", "label": "x"}, {"text": "a b", "label": "x"}, {"text": "c", "label": "x"},
               {"text": "C", "label": "y"}, {"text": " \n", "label": "x"}, {"text": "d", "label": "y"}]
    kept, dropped = deduplicate(records)
    assert kept == [records[0], records[5]]
    assert sum(dropped.values()) == 4
    assert dropped["texts with conflicting labels dropped (every copy)"] == 2


def test_shared_across_names_the_groups():
    assert shared_across({"train": ["Hi there", "x"], "test": ["hi  there"], "valid": ["y"]}) == {
        "hi there": {"train", "test"}}


texts = st.text(alphabet=st.sampled_from("aAbB \t\n."), max_size=6)


@given(st.lists(st.tuples(texts, st.sampled_from("xy")), max_size=30))
def test_kept_texts_are_distinct_nonempty_and_unambiguous(pairs):
    records = [{"text": t, "label": y} for t, y in pairs]
    kept, dropped = deduplicate(records)
    keys = [normalize_text(r["text"]) for r in kept]
    assert len(keys) == len(set(keys)) and all(keys)
    labels = {}
    for r in records:
        labels.setdefault(normalize_text(r["text"]), set()).add(r["label"])
    assert all(len(labels[k]) == 1 for k in keys)
    assert len(kept) + sum(dropped.values()) == len(records)
    assert deduplicate(kept)[0] == kept  # idempotent
