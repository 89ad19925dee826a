import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import f1_score as sk_f1

from textclf.metrics import accuracy, confusion_matrix, f1_score

pairs = st.integers(2, 5).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=60)))


@given(pairs)
def test_metrics_match_scikit_learn(case):
    k, rows = case
    y, p = [a for a, _ in rows], [b for _, b in rows]
    assert accuracy(y, p) == accuracy_score(y, p)
    expected = sk_f1(y, p, average="binary" if k == 2 else "macro", labels=list(range(k)), zero_division=0)
    assert abs(f1_score(y, p, k) - expected) < 1e-9
    assert confusion_matrix(y, p, k).tolist() == sk_confusion(y, p, labels=list(range(k))).tolist()


def test_whole_split_not_batch_average():
    y = torch.tensor([1, 1, 1, 0])
    p = torch.tensor([1, 1, 0, 1])
    batch_mean = (accuracy(y[:3], p[:3]) + accuracy(y[3:], p[3:])) / 2  # what averaging batches would give
    assert accuracy(y, p) == 0.5 != batch_mean
