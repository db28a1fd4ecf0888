"""The package's import architecture: which modules stay torch-free, and no import circle.

(a) each listed module is imported in a fresh interpreter and ``sys.modules`` is checked for the
heavy libraries; (b) the import graph of the package (module- and function-level imports, parsed
with ``ast``; ``if TYPE_CHECKING:`` blocks excluded) has no cycle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from cliprobust import paths

PACKAGE = "cliprobust"
ROOT = paths.REPO_ROOT / "lib" / PACKAGE
HEAVY = ("torch", "open_clip", "timm")

#: Modules that reading, listing and the published profile need: they must never import torch.
TORCH_FREE: tuple[str, ...] = (
    "cliprobust", "cliprobust.paths", "cliprobust.fetch", "cliprobust.cache", "cliprobust.outputs",
    "cliprobust.prompts", "cliprobust.published", "cliprobust.zoo", "cliprobust.datasets", "cliprobust.cli",
    "cliprobust.executors", "cliprobust.keys", "cliprobust.model_entries", "cliprobust.runs", "cliprobust.verdicts",
    "cliprobust.simulate", "cliprobust.simulate.targets", "cliprobust.simulate.model_plan",
    "cliprobust.simulate.files", "cliprobust.simulate.draws", "cliprobust.simulate.writer",
    "cliprobust.inference", "cliprobust.inference.entries", "cliprobust.inference.config",
    "cliprobust.inference.heads",
    "cliprobust.metrics", "cliprobust.metrics.calibration", "cliprobust.metrics.factors",
    "cliprobust.metrics.features", "cliprobust.metrics.ood", "cliprobust.metrics.robustness",
    "cliprobust.metrics.shape_bias", "cliprobust.metrics.stats",
    "cliprobust.sections", "cliprobust.sections.claims", "cliprobust.sections.calibration",
    "cliprobust.sections.effective_robustness", "cliprobust.sections.ood_detection",
    "cliprobust.sections.outlier_features", "cliprobust.sections.shape_bias",
    "cliprobust.sections.prompt_sensitivity", "cliprobust.sections.visual_factors",
    "cliprobust.sections.zoo_and_data",
)
#: Engine modules that run models: torch is their job.
TORCH_ALLOWED = ("cliprobust.inference.models", "cliprobust.inference.runner", "cliprobust.inference.images",
                 "cliprobust.inference.decoded")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Import statements anywhere in the tree (functions too), except under ``if TYPE_CHECKING:``."""
    out: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The package modules one import statement loads (``from . import x``: the submodule x if it is one)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    found = {f"{prefix}.{a.name}" for a in node.names if f"{prefix}.{a.name}" in known}
    if prefix in known and (len(found) < len(node.names)):
        found.add(prefix)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (directly; parents of a submodule are not added)."""
    mods = package_modules()
    known = set(mods)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set().union(*(_targets(name, path.name == "__init__.py", n, known) for n in _imports(tree)))
        graph[name] = {t for t in edges if t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _heavy_after_import(modules: list[str]) -> list[str]:
    """The heavy libraries in ``sys.modules`` after importing ``modules`` in one fresh interpreter."""
    code = (f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _culprits(modules: list[str]) -> dict[str, list[str]]:
    """Per-module check (one interpreter each): only run to name the modules when the joint check fails."""
    return {m: h for m in modules if (h := _heavy_after_import([m]))}


def _torch_free_present() -> list[str]:
    present = set(package_modules())
    return [m for m in TORCH_FREE if m in present]  # a listed name may be added or renamed by another change


def test_torch_free_modules_import_no_torch():
    """Every module of :data:`TORCH_FREE`, imported together in one fresh interpreter, leaves
    torch / open_clip / timm out (if the union is free, each one is)."""
    mods = list(_torch_free_present())
    assert len(mods) > 20
    if _heavy_after_import(mods):
        assert _culprits(mods) == {}


def test_every_module_is_classified():
    """A module not listed anywhere must be torch-free too (listed as model-running otherwise)."""
    # a ``__main__`` module runs its program when imported (``python -m cliprobust.simulate``): its
    # imports are its package's, checked there
    unlisted = sorted(m for m in set(package_modules()) - set(TORCH_FREE) - set(TORCH_ALLOWED)
                      if not m.endswith(".__main__"))
    if unlisted and _heavy_after_import(unlisted):
        assert _culprits(unlisted) == {}, "torch-importing modules missing from TORCH_ALLOWED"


def test_engine_modules_do_import_torch():
    """The check can fail: a model-running module is seen importing torch, open_clip and timm."""
    assert sorted(_heavy_after_import(["cliprobust.inference.models"])) == sorted(HEAVY)


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert graph["cliprobust.outputs"] >= {"cliprobust.cache", "cliprobust.keys"}  # the parser sees edges
    assert "cliprobust.inference.models" in graph["cliprobust.inference.runner"]
    assert find_cycles(graph) == []


#: Floors: each group of modules (left) must never reach, directly or through other modules, a module
#: named by a prefix on the right. ``runs`` and ``verdicts`` (the shared types) import nothing of the
#: package, so ``plots``, ``claim_figures`` and every section stand above them; the cache keys
#: (``keys``, ``model_entries``) sit below both the one reader and the engine; the reader never climbs
#: to the engine; plotting never reaches a section.
FLOORS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("cliprobust.runs", "cliprobust.verdicts"), ("cliprobust",)),
    (("cliprobust.keys", "cliprobust.model_entries"),
     ("cliprobust.outputs", "cliprobust.inference", "cliprobust.simulate", "cliprobust.sections", "cliprobust.plots",
      "cliprobust.claim_figures")),
    (("cliprobust.outputs", "cliprobust.cache", "cliprobust.datasets"),
     ("cliprobust.inference", "cliprobust.simulate", "cliprobust.sections", "cliprobust.plots")),
    (("cliprobust.plots", "cliprobust.claim_figures"), ("cliprobust.sections",)),
)


def reachable(graph: dict[str, set[str]], module: str) -> set[str]:
    """Every package module ``module`` imports, directly or through others."""
    seen: set[str] = set()
    stack = [module]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def floor_violations(graph: dict[str, set[str]]) -> list[str]:
    """``low -> high`` for every module of :data:`FLOORS` that reaches a module it must stay below
    (the package's own ``__init__`` counts for ``cliprobust`` only when it is the named prefix)."""
    out = []
    for lows, highs in FLOORS:
        for low in lows:
            for high in sorted(reachable(graph, low)):
                if any(_under(high, h) for h in highs) and high != low:
                    out.append(f"{low} -> {high}")
    return out


def test_floors_keys_below_reader_and_engine_types_below_plots_and_sections():
    graph = import_graph()
    assert {"cliprobust.keys", "cliprobust.model_entries"} <= reachable(graph, "cliprobust.outputs")
    assert "cliprobust.keys" in reachable(graph, "cliprobust.inference.runner")  # the engine uses the keys too
    assert "cliprobust.keys" in reachable(graph, "cliprobust.simulate.writer")  # and the simulator
    assert floor_violations(graph) == []


def test_floor_check_can_fail():
    """A reader that imports the engine, and a types module that imports a section, are both caught."""
    graph = {"cliprobust.outputs": {"cliprobust.keys"}, "cliprobust.keys": {"cliprobust.inference.config"},
             "cliprobust.runs": {"cliprobust.sections._base"}, "cliprobust.plots": set()}
    assert floor_violations(graph) == ["cliprobust.runs -> cliprobust.sections._base",
                                       "cliprobust.keys -> cliprobust.inference.config",
                                       "cliprobust.outputs -> cliprobust.inference.config"]


def test_cycle_finder_finds_a_function_level_circle():
    """The old circle (cache -> lookup -> runner -> cache, via a function-level import) is caught."""
    graph = {"a.cache": {"a.lookup"}, "a.lookup": {"a.runner"}, "a.runner": {"a.cache", "a.x"}, "a.x": set()}
    assert find_cycles(graph) == [["a.cache", "a.lookup", "a.runner"]]
    src = "def load():\n    from .inference import lookup\n"
    nodes = _imports(ast.parse(src))
    assert _targets("cliprobust.cache", False, nodes[0], {"cliprobust.inference", "cliprobust.inference.lookup"}) \
        == {"cliprobust.inference.lookup"}
    typed = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import models\n"
    assert [n for n in _imports(ast.parse(typed)) if isinstance(n, ast.ImportFrom) and n.level] == []
