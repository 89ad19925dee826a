"""The package's imports point down the layers of ARCHITECTURE.md, with no cycle.

Every ``import`` and ``from ... import`` of a textclf module is read with ``ast`` (the lazy ones inside
functions too): a module may import only from its own layer or a lower one, and the module graph has no
cycle. A new module must be given a layer here (and in ARCHITECTURE.md).
"""

import ast
from pathlib import Path

import pytest

import textclf

ROOT = Path(textclf.__file__).parent

# Lowest first. A name covers its submodules unless a longer name is listed (textclf.printable is a
# foundation though textclf.text is layer 2).
LAYERS = [
    ("foundations", ["textclf.errors", "textclf.config", "textclf.versions", "textclf.files", "textclf.devices",
                     "textclf.printable", "textclf.text_checks", "textclf.train_config", "textclf.progress",
                     "textclf.lesson_utils", "textclf.demos"]),
    ("data", ["textclf.data"]),
    ("text", ["textclf.text"]),
    ("tensors", ["textclf.glove", "textclf.batching", "textclf.tensor_cache"]),
    ("models", ["textclf.models"]),
    ("inference", ["textclf.inference", "textclf.metrics", "textclf.calibration", "textclf.baseline",
                   "textclf.figures"]),
    ("training", ["textclf.loop", "textclf.checkpoint", "textclf.training", "textclf.finetune", "textclf.batch_size",
                  "textclf.distributed", "textclf.zeroshot"]),
    ("bundle", ["textclf.model_card", "textclf.bundle"]),
    ("uses of a bundle", ["textclf.explain", "textclf.speed", "textclf.graphs", "textclf.behaviour"]),
    ("jobs and services", ["textclf.pipeline", "textclf.report", "textclf.serving", "textclf.data_report",
                           "textclf.distill"]),
    ("front doors", ["textclf.api", "textclf.cli", "textclf.__main__", "textclf.grading", "textclf"]),
]
LAYER_OF = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}


def module_names() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if "grading" in parts and parts[-1].startswith("test_"):
            continue  # the graded exercises' tests import the learner's file, not a layer of the package
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = module_names()


def layer(name: str) -> int:
    while name not in LAYER_OF:
        if "." not in name:
            raise KeyError(name)
        name = name.rsplit(".", 1)[0]
    return LAYER_OF[name]


def resolve(target: str) -> str:
    """The textclf module an import names (``from textclf.data import DataError`` -> ``textclf.data``)."""
    while target not in MODULES:
        target = target.rsplit(".", 1)[0]
    return target


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "textclf":
            found |= {resolve(f"{node.module}.{alias.name}") for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {resolve(alias.name) for alias in node.names if alias.name.split(".")[0] == "textclf"}
    return found


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    missing = [name for name in MODULES if not any(name == k or name.startswith(k + ".") for k in LAYER_OF)]
    assert not missing, f"give these modules a layer in tests/test_architecture.py and ARCHITECTURE.md: {missing}"


def test_no_import_points_up():
    upward = [f"{a} ({LAYERS[layer(a)][0]}) imports {b} ({LAYERS[layer(b)][0]})"
              for a, targets in GRAPH.items() for b in targets if layer(b) > layer(a)]
    assert not upward, "imports that point up the layers:\n" + "\n".join(sorted(upward))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of names (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle():
    # a package's __init__ re-exporting its own submodules is not a cycle of concepts: drop package -> own child
    graph = {a: {b for b in targets if not b.startswith(a + ".")} for a, targets in GRAPH.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("graph,cycle", [({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
                                         ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, False)])
def test_the_cycle_finder_finds_cycles(graph, cycle):
    assert (find_cycle(graph) is not None) == cycle


def test_the_checks_see_lazy_and_upward_imports(tmp_path):
    """The parser reads imports inside functions too, and an upward one would be reported."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from textclf.pipeline import train_job\n    import textclf.cli\n")
    assert imports_of(source) == {"textclf.pipeline", "textclf.cli"}
    assert layer("textclf.pipeline") > layer("textclf.bundle") > layer("textclf.models.registry")


def test_bundle_config_is_read_only_in_the_bundle_module():
    """Nobody but textclf.bundle reads config.json by string keys (``config["..."]``, ``config.get("...")``)."""
    offenders = []
    for name, path in MODULES.items():
        if name == "textclf.bundle":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if 'config["' in line or 'config.get("' in line or "config['" in line or "config.get('" in line:
                offenders.append(f"{path.relative_to(ROOT.parent)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_nobody_writes_a_folder_to_get_a_trained_model_back():
    """train_job returns the Bundle: no lesson, benchmark or the facade loads a folder right after training."""
    project = ROOT.parent
    offenders = []
    for path in [*project.glob("lessons/*.py"), *project.glob("benchmarks/*.py"), ROOT / "api.py"]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "train_job(" in line and any("load_bundle(" in later for later in lines[number + 1: number + 8]):
                offenders.append(f"{path.relative_to(project)}:{number + 1}")
    assert not offenders, offenders



def folder_of(name: str, modules: dict[str, Path] = MODULES) -> str | None:
    """The package folder a module sits in (``textclf.speed.bench`` -> ``textclf.speed``); None at the top."""
    parts = name.split(".")
    if len(parts) < 2 or (len(parts) == 2 and modules[name].name != "__init__.py"):
        return None
    return ".".join(parts[:2])


def spanning_folders(layer_names: dict[str, str], modules: dict[str, Path] = MODULES) -> dict[str, list[str]]:
    """``{folder: its layers}`` for every folder whose modules sit in more than one layer."""
    layers_of: dict[str, set[str]] = {}
    for name, layer_name in layer_names.items():
        if (folder := folder_of(name, modules)) is not None:
            layers_of.setdefault(folder, set()).add(layer_name)
    return {folder: sorted(found) for folder, found in layers_of.items() if len(found) > 1}


def folders_both_ways(graph: dict[str, set[str]], modules: dict[str, Path] = MODULES) -> list[str]:
    """Pairs of folders (or top-level modules) that import each other."""
    arrows = {(folder_of(a, modules) or a, folder_of(b, modules) or b) for a, targets in graph.items() for b in targets}
    return sorted(f"{a} <-> {b}" for a, b in arrows if a < b and (b, a) in arrows)


def test_every_folder_is_one_layer():
    """A folder's modules all sit in one layer (a folder that spans layers is split): folders are layers."""
    spanning = spanning_folders({name: LAYERS[layer(name)][0] for name in MODULES})
    assert not spanning, f"folders whose modules sit in more than one layer: {spanning}"


def test_no_two_folders_import_each_other():
    assert not folders_both_ways(GRAPH), f"folders that import each other: {folders_both_ways(GRAPH)}"


def test_the_folder_checks_see_a_spanning_folder_and_folders_importing_each_other():
    modules = {"textclf.a": Path("a/__init__.py"), "textclf.a.x": Path("a/x.py"), "textclf.a.y": Path("a/y.py"),
               "textclf.b.z": Path("b/z.py"), "textclf.top": Path("top.py")}
    assert folder_of("textclf.a.x", modules) == "textclf.a" and folder_of("textclf.top", modules) is None
    assert spanning_folders({"textclf.a.x": "text", "textclf.a.y": "models", "textclf.b.z": "data"}, modules) == {
        "textclf.a": ["models", "text"]}
    assert spanning_folders({"textclf.a.x": "text", "textclf.a.y": "text"}, modules) == {}
    graph = {"textclf.a.x": {"textclf.b.z"}, "textclf.b.z": {"textclf.a.y"}, "textclf.top": {"textclf.a.x"}}
    assert folders_both_ways(graph, modules) == ["textclf.a <-> textclf.b"]
    assert folders_both_ways({"textclf.a.x": {"textclf.b.z"}}, modules) == []
