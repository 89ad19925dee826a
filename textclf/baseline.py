"""The linear baseline every model is compared with: TF-IDF over word 1-2 grams + a linear SVM.

Sublinear tf and C=1 were the strongest setting ``benchmarks/accuracy.py`` found. A neural model that
does not beat this in the same table has not earned its cost. Used by ``train_job`` (the numbers go into
``metrics.json`` and the model card) and by ``textclf report``.
"""

from __future__ import annotations

import torch

from textclf.data import TextDataset
from textclf.metrics import classification_metrics

NAME = "TF-IDF 1-2 grams + linear SVM"


def linear_baseline(ds: TextDataset) -> dict[str, float]:
    """``{"accuracy", "f1"}`` of the baseline trained on ``ds.train`` and scored on ``ds.test``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LinearSVC(C=1.0, max_iter=20_000).fit(vectorizer.fit_transform([e.text for e in ds.train]),
                                                        [e.label for e in ds.train])
    predicted = classifier.predict(vectorizer.transform([e.text for e in ds.test]))
    index = {y: i for i, y in enumerate(ds.labels)}
    targets = torch.tensor([index[e.label] for e in ds.test])
    guesses = torch.tensor([index[y] for y in predicted])
    return classification_metrics(targets, guesses, len(ds.labels))
