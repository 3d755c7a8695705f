"""The import graph of the four packages: no circle, and no import up a floor.

Floors, top to bottom: ``vboard`` → ``bridge`` → ``peripherals`` → ``emulator``;
a module imports from its own floor or lower ones only. Inside ``emulator/`` the
sub-packages are floors too (``EMULATOR_FLOORS``; "" is the package's own top
modules). Every import counts: at module level, inside functions and under
``TYPE_CHECKING`` (a circle in the types is a circle in the design).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vboard", "bridge", "peripherals", "emulator")  # top floor first
EMULATOR_FLOORS = {"native": 0, "": 1, "net": 2, "bus": 3, "cpu": 4, "board": 5}  # bottom floor 0


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The repository modules ``name`` imports (an imported name that is a module counts as it)."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    modules = find_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

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
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def emulator_floor(module: str) -> int:
    """The floor of an ``emulator`` module's sub-package (-1: a sub-package with no floor)."""
    parts = module.split(".")
    in_sub_package = len(parts) > 2 or (len(parts) == 2 and (ROOT / "emulator" / parts[1]).is_dir())
    return EMULATOR_FLOORS.get(parts[1] if in_sub_package else "", -1)


def test_the_checker_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_circles(graph) == [["a", "b", "c"]]
    assert find_circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert len(graph) > 50
    assert any(t.startswith("emulator.") for t in graph["peripherals.lan9118"])


def test_no_import_circle() -> None:
    circles = find_circles(import_graph())
    assert not circles, "import circles: " + "; ".join(" ⇄ ".join(c) for c in circles)


def test_no_import_up_a_floor() -> None:
    upward = [f"{src} imports {dst}" for src, dsts in import_graph().items() for dst in sorted(dsts)
              if PACKAGES.index(dst.split(".")[0]) < PACKAGES.index(src.split(".")[0])]
    assert not upward, "imports up a floor (vboard → bridge → peripherals → emulator): " + "; ".join(upward)


def test_emulator_sub_packages_are_floors() -> None:
    graph = import_graph()
    emulator = {m: emulator_floor(m) for m in graph if m.split(".")[0] == "emulator"}
    unknown = sorted(m for m, f in emulator.items() if f < 0)
    assert not unknown, f"emulator sub-packages without a floor in EMULATOR_FLOORS: {unknown}"
    upward = [f"{src} imports {dst}" for src in sorted(emulator) for dst in sorted(graph[src])
              if dst in emulator and emulator[dst] > emulator[src]]
    floors = " → ".join(f"{sub}/" if sub else "emulator/*.py"
                        for sub in sorted(EMULATOR_FLOORS, key=EMULATOR_FLOORS.get, reverse=True))
    assert not upward, f"imports up a floor inside emulator/ ({floors}): " + "; ".join(upward)
