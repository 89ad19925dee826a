"""Zero-shot classification: no training, only similarity.

Embed the text and a short description of every label with the pretrained
MiniLM (mean-pooled, unit-length vectors — what the sentence-transformers
model was trained to compare), and pick the label whose description is most
similar to the text. The similarities, divided by a temperature and
softmaxed, give probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from textclf.inference import run_batched
from textclf.models.bert import BertClassifier
from textclf.text.wordpiece import WordPiece

DESCRIPTIONS = {  # label -> descriptions (their embeddings are averaged)
    "rotten_tomatoes": {"negative": ["a negative movie review", "this movie was bad, boring and disappointing"],
                        "positive": ["a positive movie review", "this movie was good, moving and entertaining"]},
    "bbc_news": {"business": ["business news about companies, markets and the economy"],
                 "entertainment": ["entertainment news about films, music, television and celebrities"],
                 "politics": ["political news about the government, elections and parliament"],
                 "sport": ["sports news about football, tennis, rugby and athletics"],
                 "tech": ["technology news about computers, the internet, software and phones"]},
}


def embed(model: BertClassifier, tokenizer: WordPiece, texts: Sequence[str], batch_size: int = 64,
          max_len: int = 256) -> torch.Tensor:
    """Unit-length sentence embeddings ``[len(texts), hidden]``, through the one inference seam."""
    model.eval()
    encoded = [torch.tensor(tokenizer.encode(t, max_len)) for t in texts]
    vectors = run_batched(model.sentence_embedding, encoded, tokenizer.vocab.pad_index,
                          batch_size=batch_size)  # [n, hidden]
    return F.normalize(vectors, dim=-1)


class ZeroShot:
    """``ZeroShot(model, tokenizer, {"positive": ["a positive review"], ...})(texts)`` -> ``[{label: p}]``."""

    def __init__(self, model: BertClassifier, tokenizer: WordPiece, descriptions: dict[str, str | Sequence[str]],
                 temperature: float = 0.05):
        if len(descriptions) < 2:
            raise ValueError("zero-shot classification needs at least two labels")
        self.model, self.tokenizer, self.temperature = model, tokenizer, temperature
        self.labels = list(descriptions)
        rows = []
        for label in self.labels:
            texts = [descriptions[label]] if isinstance(descriptions[label], str) else list(descriptions[label])
            rows.append(F.normalize(embed(model, tokenizer, texts).mean(dim=0), dim=0))
        self.label_vectors = torch.stack(rows)  # [labels, hidden]

    def scores(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Cosine similarities ``[len(texts), labels]``."""
        return embed(self.model, self.tokenizer, texts, batch_size) @ self.label_vectors.T

    def __call__(self, texts: Sequence[str], batch_size: int = 64) -> list[dict[str, float]]:
        probabilities = (self.scores(texts, batch_size) / self.temperature).softmax(dim=-1)
        return [dict(zip(self.labels, map(float, row))) for row in probabilities]

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[str]:
        return [self.labels[i] for i in self.scores(texts, batch_size).argmax(dim=-1).tolist()]
