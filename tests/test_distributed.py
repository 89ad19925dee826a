"""Scale-out: the sharded sampler's properties, and real torchrun runs on 2 CPU processes (gloo).

N processes x batch b must train exactly what 1 process x batch N*b trains; a killed worker is restarted
by torchrun and the job resumes from its last checkpoint; SIGTERM leaves a resumable checkpoint.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from textclf.batching import BucketBatchSampler
from textclf.distributed import ShardedBatches

HELPERS = Path(__file__).parent / "helpers"
STEPS_PER_EPOCH = 96 // 16


@settings(max_examples=80, deadline=None)
@given(lengths=st.lists(st.integers(1, 50), min_size=1, max_size=300), batch_size=st.integers(1, 9),
       world=st.integers(1, 4), seed=st.integers(0, 5), epoch=st.integers(0, 3))
def test_every_rank_gets_its_weighted_slice_of_the_single_process_batches(lengths, batch_size, world, seed, epoch):
    ranks = [ShardedBatches(lengths, batch_size, world, r, seed) for r in range(world)]
    for sampler in ranks:
        sampler.set_epoch(epoch)
    per_rank = [list(sampler) for sampler in ranks]
    assert len({len(batches) for batches in per_rank}) == 1  # no rank waits in an all-reduce the others skip
    assert len(per_rank[0]) == len(ranks[0])
    single = BucketBatchSampler(lengths, batch_size * world, seed=seed)
    single.set_epoch(epoch)
    for step, batch in zip(zip(*per_rank), single.batches()):
        real = [s for s in step if s.counted]
        assert sum(real, []) == batch  # the slices are exactly one process's batch of batch_size * world
        assert max(map(len, real)) - min(map(len, real)) <= 1  # as equal as they can be
        assert sum(s.weight for s in step) == pytest.approx(world)  # DDP's average = the mean over the batch
        assert all(len(s) == 1 and s.weight == 0 for s in step if not s.counted)  # stand-ins add nothing
    seen = [i for step in zip(*per_rank) for s in step if s.counted for i in s]
    assert sorted(seen) == list(range(len(lengths)))  # every text exactly once: none dropped


def test_a_rank_outside_the_world_is_refused():
    with pytest.raises(ValueError, match="rank 2 is not in 0..1"):
        ShardedBatches([3, 4], 2, world_size=2, rank=2)


# ---- real torchrun runs -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """96 train / 16 valid / 16 test short reviews: the train split divides into batches of 16 exactly."""
    rng = random.Random(0)
    words = {"pos": ["great", "moving", "superb", "fine", "lovely"], "neg": ["dull", "awful", "boring", "flat", "bad"]}
    lines = []
    for split, n in (("train", 96), ("valid", 16), ("test", 16)):
        for i in range(n):
            label = "pos" if i % 2 else "neg"
            text = " ".join(rng.choice(words[label] + ["film", "plot", "the", "a"]) for _ in range(rng.randint(2, 9)))
            lines.append(json.dumps({"text": text, "label": label, "split": split}))
    path = tmp_path_factory.mktemp("ddp") / "reviews.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def train_args(dataset: Path, out: Path, batch_size: int, epochs: int = 3) -> list[str]:
    return ["train", "--dataset", str(dataset), "--model", "nbow", "--dropout", "0", "--embeddings", "random",
            "--min-freq", "1", "--epochs", str(epochs), "--patience", str(epochs), "--lr", "0.01", "--quiet",
            "--batch-size", str(batch_size), "--out", str(out), "--device", "cpu"]  # gloo, exact on every machine


def torchrun(*args: str, nproc: int = 2, extra: tuple[str, ...] = (), env: dict | None = None,
             timeout: int = 300, program: tuple[str, ...] = ("-m", "textclf")) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               *extra, *program, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def single(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "textclf", *args], capture_output=True, text=True, timeout=300)


def assert_same_weights(a: Path, b: Path, tolerance: float = 1e-5) -> None:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.allclose(wa[key], wb[key], atol=tolerance), (key, (wa[key] - wb[key]).abs().max())


def test_two_processes_train_what_one_process_with_the_doubled_batch_trains(dataset, tmp_path):
    two = torchrun(*train_args(dataset, tmp_path / "two", batch_size=8))
    assert two.returncode == 0, two.stdout + two.stderr
    assert "distributed: 2 processes (2 on this node), backend gloo" in two.stdout
    assert two.stdout.count("bundle written to") == 1  # only rank 0 talks and writes
    one = single(*train_args(dataset, tmp_path / "one", batch_size=16))
    assert one.returncode == 0, one.stderr
    assert_same_weights(tmp_path / "two", tmp_path / "one")
    m2, m1 = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("two", "one"))
    assert m2["test_accuracy"] == m1["test_accuracy"]
    for e2, e1 in zip(m2["history"], m1["history"]):  # the train loss is summed over every process's texts
        assert e2["train_loss"] == pytest.approx(e1["train_loss"], abs=1e-6)
        assert e2["valid_loss"] == pytest.approx(e1["valid_loss"], abs=1e-6)
    assert not (tmp_path / "two" / "checkpoint.pt").exists()


def test_two_processes_match_one_on_the_bundled_reviews_with_glove(tmp_path):
    """The bundled Rotten Tomatoes reviews (10,200 training texts: the last global batch of each pool is short
    and odd-sized) with GloVe: 2 x 32 and 1 x 64 end with the same weights (they differed by 1.75e-2 when
    each rank's slice was trimmed to equal sizes)."""
    args = ["train", "--dataset", "rotten_tomatoes", "--model", "nbow", "--dropout", "0", "--epochs", "2",
            "--patience", "2", "--seed", "3", "--quiet", "--no-baseline", "--device", "cpu"]
    two = torchrun(*args, "--batch-size", "32", "--out", str(tmp_path / "two"), timeout=600)
    assert two.returncode == 0, two.stdout + two.stderr
    one = single(*args, "--batch-size", "64", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    assert_same_weights(tmp_path / "two", tmp_path / "one", tolerance=1e-4)


def test_a_killed_worker_is_restarted_and_the_job_resumes(dataset, tmp_path):
    out = tmp_path / "restarted"
    result = torchrun(*train_args(dataset, out, batch_size=8, epochs=3), extra=("--max-restarts=1",),
                      program=(str(HELPERS / "flaky_train.py"),),
                      env={"DIE_AT_STEP": str(STEPS_PER_EPOCH + 3)})  # the 3rd step of epoch 2
    assert result.returncode == 0, result.stdout + result.stderr
    assert "restart 1: resuming from" in result.stdout and "resumed from" in result.stdout
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [e["epoch"] for e in history] == [1, 2, 3]
    clean = single(*train_args(dataset, tmp_path / "clean", batch_size=16))
    assert clean.returncode == 0
    assert_same_weights(out, tmp_path / "clean")  # resuming lost nothing: the same weights as no failure


def test_sigterm_stops_every_rank_and_leaves_a_resumable_checkpoint(dataset, tmp_path):
    out = tmp_path / "stopped"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "textclf",
               *train_args(dataset, out, batch_size=8, epochs=5000)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "checkpoint.pt").exists():
        time.sleep(0.2)
    time.sleep(1.5)  # some epochs in
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    payload = torch.load(out / "checkpoint.pt", weights_only=True)
    assert payload["epoch"] >= 1
    other_batch = single(*train_args(dataset, out, batch_size=16, epochs=payload["epoch"] + 1), "--resume")
    assert other_batch.returncode == 2 and "batch_size: 8 in the checkpoint, 16 now" in other_batch.stderr
    finished = torchrun(*train_args(dataset, out, batch_size=8, epochs=payload["epoch"] + 1), "--resume")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"resumed from {out / 'checkpoint.pt'} after epoch {payload['epoch']}" in finished.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_on_localhost(dataset, tmp_path):
    """Two torchrun 'nodes' (one process each) meeting at a c10d rendezvous on 127.0.0.1."""
    port = free_port()
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
               "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=textclf-test",
               "-m", "textclf", *train_args(dataset, tmp_path / "nodes", batch_size=8)]
    nodes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert all(node.returncode == 0 for node in nodes), outputs
    assert any("distributed: 2 processes (1 on this node)" in out for out, _ in outputs)
    single_run = single(*train_args(dataset, tmp_path / "one", batch_size=16))
    assert single_run.returncode == 0
    assert_same_weights(tmp_path / "nodes", tmp_path / "one")
