"""The package layout holds: no import circles, no upward imports, no Flask in the core.

Read from the source with ``ast`` (every import, also those inside functions), so the check needs no
import side effects and names the offending module.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPOSITORY

PACKAGE = REPOSITORY / "gateway"

# The request record and the operation layer's shared names are leaves every layer may use.
LEAVES = {"gateway.operation.context", "gateway.operation.names"}
BELOW_FACES = {
    "gateway.identity",
    "gateway.odata.service",
    "gateway.odata.write",
    "gateway.odata.read",
    "gateway.odata.model",
    "gateway.odata.http",
    "gateway.soql",
    "gateway.source",
}
# Which gateway packages each package may import (besides itself). Lower layers never import higher ones.
ALLOWED = {
    "gateway.operation.names": set(),
    "gateway.operation.context": set(),
    "gateway.operation.progress": {"gateway.localorg"},
    "gateway.soql": set(),
    "gateway.localorg": {"gateway.soql"},
    "gateway.source": {"gateway.soql", "gateway.localorg", "gateway.operation.progress", *LEAVES},
    "gateway.odata.http": {"gateway.soql", "gateway.source", *LEAVES},
    "gateway.odata.model": {"gateway.odata.http", "gateway.soql", "gateway.source", *LEAVES},
    "gateway.odata.read": {
        "gateway.odata.model",
        "gateway.odata.http",
        "gateway.soql",
        "gateway.source",
        *LEAVES,
    },
    "gateway.odata.write": {
        "gateway.odata.read",
        "gateway.odata.model",
        "gateway.odata.http",
        "gateway.soql",
        "gateway.source",
        *LEAVES,
    },
    "gateway.odata.service": {"gateway.odata.model", "gateway.odata.http", "gateway.source", *LEAVES},
    # Per-user identity: who a request is in the source org and the gateway it runs with (faces and the
    # operation layer ask it; it uses the service state, never a face).
    "gateway.identity": {
        "gateway.odata.service",
        "gateway.odata.model",
        "gateway.odata.http",
        "gateway.source",
        *LEAVES,
    },
    "gateway.odata.v4": {*BELOW_FACES, *LEAVES},  # never the other face
    "gateway.odata.v2": {*BELOW_FACES, *LEAVES},
    # The operation layer (health, metrics, request log, governor) wraps the faces from outside.
    "gateway.operation": {*BELOW_FACES, *LEAVES, "gateway.operation.progress", "gateway.localorg"},
}
CORE = ("gateway.soql", "gateway.source", "gateway.odata.model", "gateway.odata.read", "gateway.odata.write")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPOSITORY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from a import b`` counts ``a.b`` when it is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: {m for m in imports_of(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def layer_of(module: str) -> str | None:
    return max(
        (layer for layer in ALLOWED if module == layer or module.startswith(layer + ".")),
        key=len,
        default=None,
    )


def test_there_is_no_import_circle():
    # Tarjan's strongly connected components: any component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(GRAPH[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert circles == []


def test_no_package_imports_a_layer_above_it():
    upward = []
    for module, targets in GRAPH.items():
        layer = layer_of(module)
        if layer is None:
            continue  # gateway.app and gateway.cli compose everything
        for target in targets:
            target_layer = layer_of(target)
            if target_layer != layer and target_layer not in ALLOWED[layer]:
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_the_core_does_not_import_flask():
    offenders = [
        f"{module} imports {name}"
        for module, path in MODULES.items()
        if module.startswith(CORE)
        for name in imports_of(path)
        if name == "flask" or name.startswith("flask.")
    ]
    assert offenders == []


def test_the_checks_see_the_real_graph():
    # A check that cannot fail is no check: the graph has the modules and edges it must have.
    assert (
        "gateway.odata.v4.dispatch" in GRAPH
        and "gateway.odata.read.execute" in GRAPH["gateway.odata.v4.dispatch"]
    )
    assert layer_of("gateway.odata.read.bind") == "gateway.odata.read"
    assert "flask" in imports_of(MODULES["gateway.odata.v4.blueprint"])


def test_every_module_belongs_to_a_layer():
    # A new package must say where it sits (ALLOWED above); only the composition root stands outside.
    composition = ("gateway", "gateway.app", "gateway.odata", "gateway.cli")
    unplaced = [
        m for m in GRAPH if layer_of(m) is None and not (m in composition or m.startswith("gateway.cli."))
    ]
    assert unplaced == []
