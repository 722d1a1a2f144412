"""Every library liveai imports is declared in pyproject.toml, in its dependencies or an
extra: a wheel's Requires-Dist is made from them (tests/integration/test_wheel.py
checks that), so an undeclared import would break an install elsewhere."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]


def imported() -> set[str]:
    """The top-level modules liveai's code imports, but for the standard library's."""
    names: set[str] = set()
    for path in (ROOT / "liveai").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("liveai", "__future__")}


def distribution_of(module: str) -> str | None:
    found = metadata.packages_distributions().get(module)
    if found:
        return canonicalize_name(found[0])
    for dist in metadata.distributions():  # an extension module alone (packages_distributions misses it)
        if any(f.parts[0].split(".")[0] == module and f.suffix == ".so" for f in dist.files or ()):
            return canonicalize_name(dist.metadata["Name"])
    return None


def test_every_library_liveai_imports_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    declared = {canonicalize_name(Requirement(r).name) for r in requirements}
    undeclared = {m: distribution_of(m) for m in imported() if distribution_of(m) not in declared}
    assert not undeclared, f"imported but not in pyproject.toml (module: its distribution): {undeclared}"
