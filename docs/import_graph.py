"""The import graph of `rentalcoop/` between its top-level units, read with `ast`.

    .venv/bin/python docs/import_graph.py

prints which feature package imports which (module level, or only inside a function), the
imports that go from the foundation up into a feature, and every pair of feature packages that
import each other. `docs/architecture.md` shows the result; `tests/core/test_docs.py` checks
that no cycle found here is missing from that page. Imports under `if TYPE_CHECKING:` are not
counted: they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rentalcoop"

# The modules every feature may use; they import no feature (the exceptions are listed by
# `upward_imports`). `rentalcoop/__init__.py` (the application factory), `demo.py` and
# `invariants.py` sit above the features: they assemble or read all of them.
FOUNDATION = (
    "db",
    "extensions",
    "i18n",
    "errors",
    "security",
    "access",
    "forms",
    "input_guard",
    "mail",
    "spreadsheet",
    "safe_fetch",
    "cancellation_policy",
    "jobs",
    "outbox",
)
ABOVE = ("rentalcoop", "demo", "invariants")


@dataclass(frozen=True)
class Import:
    source: str  # the importing unit
    target: str  # the imported unit
    path: str  # the importing file, relative to the repository
    is_local: bool  # inside a function (run when called, not at import time)


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "rentalcoop":
        return None
    return parts[1] if len(parts) > 1 else "rentalcoop"


def _is_type_checking(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _is_local(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return True
    return False


def feature_packages() -> list[str]:
    return sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def imports() -> list[Import]:
    """Every import of one unit of `rentalcoop/` by another."""
    units = set(feature_packages()) | {p.stem for p in PACKAGE.glob("*.py")}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        source = _unit(module.removesuffix(".__init__"))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            if _is_type_checking(node, parents):
                continue
            targets = {_unit(name) for name in names} & units
            for target in sorted(targets - {source, "rentalcoop"}):
                found.append(
                    Import(source, target, str(path.relative_to(ROOT)), _is_local(node, parents))
                )
    return found


def feature_edges() -> dict[tuple[str, str], list[Import]]:
    """(importer, imported) between feature packages → the imports behind the edge."""
    features = set(feature_packages())
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for item in imports():
        if item.source in features and item.target in features:
            edges[(item.source, item.target)].append(item)
    return dict(edges)


def upward_imports() -> list[Import]:
    """Foundation modules that import a feature package."""
    features = set(feature_packages())
    return [i for i in imports() if i.source in FOUNDATION and i.target in features]


def mutual_pairs() -> list[tuple[str, str]]:
    """Feature packages that import each other (the shortest cycles), sorted."""
    edges = feature_edges()
    return sorted({tuple(sorted(pair)) for pair in edges if (pair[1], pair[0]) in edges})


def strongly_connected() -> list[list[str]]:
    """Groups of feature packages that reach each other through imports (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in feature_edges():
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in feature_packages():
        if node not in index:
            visit(node)
    return groups


def _kind(items: list[Import]) -> str:
    local = {i.is_local for i in items}
    return "module level" if local == {False} else "in functions" if local == {True} else "both"


def main() -> None:
    edges = feature_edges()
    print("feature package imports (importer -> imported: where):")
    for (a, b), items in sorted(edges.items()):
        print(f"  {a} -> {b}: {_kind(items)}")
    print("\nfoundation importing a feature:")
    for item in upward_imports():
        where = "in a function" if item.is_local else "module level"
        print(f"  {item.path} -> {item.target} ({where})")
    print("\nfeature packages importing each other:")
    for a, b in mutual_pairs():
        there = sorted({i.path for i in edges[(a, b)]})
        back = sorted({i.path for i in edges[(b, a)]})
        print(f"  {a} <-> {b}")
        print(f"    {a} -> {b}: {_kind(edges[(a, b)])}: {', '.join(there)}")
        print(f"    {b} -> {a}: {_kind(edges[(b, a)])}: {', '.join(back)}")
    print("\nstrongly connected groups:", strongly_connected())


if __name__ == "__main__":
    main()
