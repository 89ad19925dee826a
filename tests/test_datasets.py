"""The bundled datasets: counts and checksums agree with the datasheet; splits are fixed and stratified."""

import hashlib
import re

import pytest

from textclf.data import SPLITS, load_dataset, stratified_split
from textclf.data.datasets import BUNDLED_DIR
from textclf.data.dedup import normalize_text, shared_across

DATASHEET = (BUNDLED_DIR / "DATASHEET.md").read_text()


@pytest.mark.parametrize("name", ["rotten_tomatoes.jsonl.gz", "bbc_news.jsonl.gz", "glove.6B.50d.subset.txt.gz"])
def test_files_match_the_datasheet_sha256(name):
    digest = hashlib.sha256((BUNDLED_DIR / name).read_bytes()).hexdigest()
    assert re.search(rf"\| {re.escape(name)} \| `{digest}` \|", DATASHEET)


@pytest.mark.parametrize("name, labels, total", [
    ("rotten_tomatoes", ["negative", "positive"], 12751),
    ("bbc_news", ["business", "entertainment", "politics", "sport", "tech"], 2124),
])
def test_bundled_counts(name, labels, total):
    ds = load_dataset(name)
    assert ds.labels == labels
    assert sum(len(ds.split(s)) for s in SPLITS) == total
    for label in labels:  # every per-split count is the one the datasheet prints
        row = " | ".join(str(ds.counts()[s][label]) for s in SPLITS)
        assert f"| {label} | {row} |" in DATASHEET


@pytest.mark.parametrize("name", ["rotten_tomatoes", "bbc_news"])
def test_no_normalised_text_is_in_two_splits_or_twice(name):
    ds = load_dataset(name)
    assert shared_across({s: (ex.text for ex in ds.split(s)) for s in SPLITS}) == {}
    keys = [normalize_text(ex.text) for s in SPLITS for ex in ds.split(s)]
    assert len(keys) == len(set(keys))


def test_splits_are_disjoint_and_stratified():
    ds = load_dataset("rotten_tomatoes")
    texts = [{ex.text for ex in ds.split(s)} for s in SPLITS]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    share = [ds.counts()[s]["positive"] / len(ds.split(s)) for s in SPLITS]
    assert max(share) - min(share) < 0.01


def test_no_duplicate_reviews_and_no_plot_summaries():
    ds = load_dataset("rotten_tomatoes")
    texts = [ex.text for s in SPLITS for ex in ds.split(s)]
    assert len(texts) == len(set(texts))
    assert max(len(t) for t in texts) < 400  # review snippets, not plot summaries


def test_stratified_split_is_seeded_and_proportional():
    labels = ["a"] * 50 + ["b"] * 30
    first = stratified_split(labels, 0.2, 0.1, seed=3)
    assert first == stratified_split(labels, 0.2, 0.1, seed=3) != stratified_split(labels, 0.2, 0.1, seed=4)
    assert [first[:50].count(s) for s in SPLITS] == [35, 10, 5]
    with pytest.raises(ValueError):
        stratified_split(labels, 0.6, 0.5)


def test_user_csv_with_split_column_keeps_it(tmp_path):
    rows = ["text,label,split"] + [f"t{i},{'ab'[i % 2]},{['train', 'valid', 'test'][i % 3]}" for i in range(30)]
    (tmp_path / "d.csv").write_text("\n".join(rows))
    ds = load_dataset(tmp_path / "d.csv")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (10, 10, 10)


def test_subsample():
    small = load_dataset("bbc_news").subsample(20, seed=1)
    assert [len(small.split(s)) for s in SPLITS] == [20, 20, 20]
