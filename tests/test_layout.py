"""The shape of the code: small modules, and no import cycle between the project's modules."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 420
SOURCES = sorted(
    [p for p in ROOT.glob("*.py")]
    + [p for p in (ROOT / "models").glob("*.py")]
    + [p for p in (ROOT / "blueprints").glob("*.py")]
)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by concern"


def imports_of(name: str, path: Path) -> set[str]:
    """Project modules imported at module level (function-local imports run later and are not edges)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            # a module's own package is always imported first, whatever the module says: not an edge
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def test_no_import_cycle():
    graph = {name: imports_of(name, path) for name, path in MODULES.items()}
    # A package's __init__ only re-exports its modules: importing "models" means importing them.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_mailer_imports_the_schema_only():
    assert imports_of("mailer", MODULES["mailer"]) & {m for m in MODULES if m.startswith("models")} == {"models.schema"}
