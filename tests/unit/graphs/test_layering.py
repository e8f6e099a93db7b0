"""The package layout's import rules (docs/extending.md, "Package layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GRAPHS = Path(__file__).resolve().parents[3] / "graphs"


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


MODULES = sorted(GRAPHS.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(GRAPHS)))
def test_graphs_never_imports_evals(path: Path) -> None:
    assert not {m for m in _imports(path) if m.startswith("crsagent.evals")}


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.parent.name == "nodes" and p.name != "__init__.py"], ids=lambda p: p.name
)
def test_nodes_do_not_import_nodes(path: Path) -> None:
    assert not {m for m in _imports(path) if m.startswith("crsagent.graphs.nodes")}


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent.name in ("dialogue", "ranking")], ids=lambda p: p.name)
def test_dialogue_and_ranking_do_not_import_the_wiring(path: Path) -> None:
    wiring = ("crsagent.graphs.nodes", "crsagent.graphs.builder", "crsagent.graphs.runner", "crsagent.graphs.routers")
    assert not {m for m in _imports(path) if m.startswith(wiring)}
