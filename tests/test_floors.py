"""Floors that hold (../shared/ARCHITECTURE.md): no import runs up a floor, and no new import cycle appears.

Every ``import`` and ``from … import`` counts, at module level or inside a function (a late import is still a
dependency), and so does ``optional_import("pkg.mod")`` / ``import_module("pkg.mod")`` with a literal name.
A module importing its own package (``from courses import bp`` in ``courses/views.py``) is the blueprint pattern
and no edge. Within a floor the order is the one the architecture describes: ledger records facts about org's
people, courses may link an exam of quizzes, and the floor-4 readers read status through lms.training.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["lms", "courses", "quizzes", "certificates"]

# Package → rank. A module may import only modules of a lower rank or of its own package.
RANKS: dict[str, float] = {
    "lms.core": 1,
    "lms.org": 2,
    "lms.ledger": 2.5,  # records facts about org's people
    "quizzes": 3,
    "courses": 3.5,  # a lesson may link an exam of quizzes, never the reverse
    "lms.offline": 3.5,
    "lms.hazards": 3.5,
    "lms.training": 4,  # the one place every reader gets training status from
    "certificates": 4.5,
    "lms.culture": 4.5,
    "lms.permits": 4.6,  # reads certificates and status; adds its metrics to culture's registry
    "lms.oversight": 4.8,  # the regulator's view reads every reader below it (culture results, permits, hazards)
    "lms": 5,  # the top: lms.app, lms.cli, lms.commands, lms.demo, lms.api …
    "wsgi": 5,
}
TOP = {"lms", "wsgi"}

# Nothing is exempt: the last cycles (org's person page → the ledger, culture's report ↔ views, the question
# layouts ↔ importers) were removed in issue 19. A new one fails here.
KNOWN_MODULE_CYCLES: list[list[str]] = []
KNOWN_UP_IMPORTS: set[tuple[str, str]] = set()
KNOWN_PACKAGE_CYCLES: list[list[str]] = []

# Modules that may still import by name at run time (importlib, import_module, __import__, optional_import,
# find_spec), each with its reason. Anything else imports plainly (down a floor) or listens to a signal of
# lms/core/signals.py (up a floor), so that a reader can follow the call. This list only shrinks.
DYNAMIC_IMPORTS_ALLOWED: dict[str, str] = {}
DYNAMIC_CALLS = {"import_module", "optional_import", "__import__", "find_spec"}


def _modules() -> dict[str, Path]:
    found = {"wsgi": ROOT / "wsgi.py"}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            if {"translations", "static", "templates"} & set(rel.parts):
                continue
            name = ".".join(rel.parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _package(module: str) -> str:
    best = None
    for pkg in RANKS:
        if (module == pkg or module.startswith(pkg + ".")) and (best is None or len(pkg) > len(best)):
            best = pkg
    assert best is not None, f"{module} has no floor: add its package to RANKS (and to ARCHITECTURE.md)"
    return best


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(filter(None, (resolve(a.name) for a in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = name if path.name == "__init__.py" else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        parent = parent.rpartition(".")[0]
                    base = f"{parent}.{base}" if base else parent
                for alias in node.names:
                    found = resolve(f"{base}.{alias.name}") or resolve(base)
                    if found:
                        targets.add(found)
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("optional_import", "import_module") and isinstance(node.args[0].value, str):
                    found = resolve(node.args[0].value)
                    if found:
                        targets.add(found)
        # Importing one's own package (or itself) is no dependency: the package is imported first anyway.
        graph[name] = {t for t in targets if t != name and not name.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _dynamic_imports(path: Path) -> list[str]:
    """Where a module imports by name at run time: ``import importlib`` and calls of DYNAMIC_CALLS."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "importlib" for a in node.names):
            found.append(f"line {node.lineno}: import importlib")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "importlib":
            found.append(f"line {node.lineno}: from importlib import …")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in DYNAMIC_CALLS:
                found.append(f"line {node.lineno}: {called}(…)")
    return found


MODULES = _modules()
GRAPH = _imports(MODULES)


def test_no_import_runs_up_a_floor():
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        mine = _package(module)
        for target in sorted(targets):
            theirs = _package(target)
            if (module, target) in KNOWN_UP_IMPORTS:
                continue
            if theirs != mine and not (mine in TOP and theirs in TOP) and RANKS[theirs] >= RANKS[mine]:
                wrong.append(f"{module} (floor {RANKS[mine]}) imports {target} (floor {RANKS[theirs]})")
    assert wrong == [], "\n".join(wrong)


def test_no_new_module_cycle():
    new = [c for c in _cycles(GRAPH) if c not in KNOWN_MODULE_CYCLES]
    assert new == [], new


def test_no_new_package_cycle():
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        for target in targets:
            a, b = _package(module), _package(target)
            if a != b:
                packages.setdefault(a, set()).add(b)
    new = [c for c in _cycles(packages) if c not in KNOWN_PACKAGE_CYCLES]
    assert new == [], new


def test_no_import_by_name_outside_the_allowlist():
    """A cross-package call hidden behind importlib is one a reader cannot follow (issue 19)."""
    found = {name: _dynamic_imports(path) for name, path in sorted(MODULES.items())}
    wrong = [
        f"{name} {where}"
        for name, places in found.items()
        if name not in DYNAMIC_IMPORTS_ALLOWED
        for where in places
    ]
    assert wrong == [], "import plainly (down a floor) or listen to a signal (up a floor):\n" + "\n".join(
        wrong
    )
    stale = [name for name in DYNAMIC_IMPORTS_ALLOWED if not found.get(name)]
    assert stale == [], f"no longer imports by name: remove from DYNAMIC_IMPORTS_ALLOWED: {stale}"


def test_the_check_sees_what_it_must():
    """The graph holds the edges the floors are made of (a parse that found nothing would pass everything)."""
    assert "lms.org.models" in GRAPH["lms.ledger.models"]
    assert "lms.core.db" in GRAPH["courses.models"]
    assert "lms.commands" in GRAPH["lms.app"]  # a late import inside create_app counts
    assert "quizzes.models" in GRAPH["courses.views"]  # a lesson may link an exam of quizzes
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "lms.ledger.events" in GRAPH["lms.app"]  # the factory wires the listeners plainly


def test_an_import_by_name_is_seen(tmp_path):
    """Each way of importing by name is found (a check that saw none would pass everything)."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import importlib\nm = importlib.import_module('quizzes.models')\nn = __import__('pathlib')\n"
        "from importlib.util import find_spec\nfind_spec('x')\n"
    )
    assert len(_dynamic_imports(probe)) == 5  # both imports of importlib and the three calls


def test_an_import_by_name_is_still_an_edge(tmp_path):
    """``optional_import("pkg.mod")`` with a literal name is a dependency (no module of ours does it any more)."""
    probe = tmp_path / "probe.py"
    probe.write_text('from lms.core.imports import optional_import\nm = optional_import("quizzes.models")\n')
    graph = _imports({**MODULES, "courses.probe": probe})
    assert "quizzes.models" in graph["courses.probe"]
    assert _dynamic_imports(probe) == ["line 2: optional_import(…)"]
