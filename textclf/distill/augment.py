"""More texts for the teacher to label: the augmentation of Tang et al. (2019), on words.

A student copies its teacher best where it sees many texts; the training split is small (8,530 reviews), and
a teacher can label any text, gold label or not. Tang et al. ("Distilling task-specific knowledge from BERT
into simple neural networks") make new texts from each training text:

- **n-gram sampling**: with probability ``p_ngram`` the new text is one random n-gram of the original,
  n drawn from 1 to 5 (a fragment the teacher still has an opinion about: "a gorgeous mess");
- **word dropout**: otherwise each word is dropped with probability ``p_drop`` (at least one word stays).

(Their third, masking a word with [MASK], needs a mask both tokenizers keep; ours split "[MASK]" into
pieces, so dropping the word stands in for masking it.) A new text equal to a training text or to an earlier
new one is drawn again (a few tries), so the distillation set holds no duplicates.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

MAX_NGRAM = 5
TRIES = 5  # draws per new text before giving up on finding an unseen one


def ngram_sample(words: list[str], rng: random.Random, max_n: int = MAX_NGRAM) -> list[str]:
    """One contiguous run of ``n`` words, ``n`` uniform in 1..min(max_n, len(words))."""
    n = rng.randint(1, min(max_n, len(words)))
    start = rng.randint(0, len(words) - n)
    return words[start:start + n]


def word_dropout(words: list[str], rng: random.Random, p_drop: float) -> list[str]:
    """``words`` with each dropped with probability ``p_drop``, in order; never empty (one word stays)."""
    kept = [w for w in words if rng.random() >= p_drop]
    return kept or [words[rng.randrange(len(words))]]


def augment_one(words: list[str], rng: random.Random, p_ngram: float = 0.25, p_drop: float = 0.1) -> list[str]:
    """One new version of a text's words: an n-gram sample (probability ``p_ngram``), else word dropout."""
    if rng.random() < p_ngram:
        return ngram_sample(words, rng)
    return word_dropout(words, rng, p_drop)


def augment_texts(texts: Sequence[str], copies: int, *, p_ngram: float = 0.25, p_drop: float = 0.1,
                  seed: int = 0) -> list[tuple[int, str]]:
    """Up to ``copies`` new texts per text as ``(index of the text it came from, new text)``, in order: words
    split on white space and joined by one space, none blank, none equal to a given text or to another new one;
    the same ``seed`` gives the same texts."""
    rng = random.Random(seed)
    seen = {" ".join(t.split()) for t in texts}
    made = []
    for index, text in enumerate(texts):
        words = text.split()
        if not words:
            continue
        for _ in range(copies):
            for _ in range(TRIES):
                new = " ".join(augment_one(words, rng, p_ngram, p_drop))
                if new not in seen:
                    seen.add(new)
                    made.append((index, new))
                    break
    return made
