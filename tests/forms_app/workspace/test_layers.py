"""The workspace sits beside the marketer API, not on it: it validates through its own
forms and the services, never through an API module's serializers or constants."""

from __future__ import annotations

import ast
from pathlib import Path

import forms_app.workspace

API_PACKAGES = ("forms_app.api", "profiling.api")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_workspace_imports_no_api_module() -> None:
    root = Path(forms_app.workspace.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 10  # the walk sees the package (a wrong path would pass vacuously)
    offenders = {
        str(path.relative_to(root)): sorted(
            name for name in _imports(path) if name.startswith(API_PACKAGES)
        )
        for path in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}
