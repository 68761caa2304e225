"""The dependency direction of DESIGN.md, checked on every import statement of the four packages."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("synth", "dataset_gen", "inverse", "specmask", "webapp")
ALLOWED = {
    "synth": set(),
    "dataset_gen": {"synth"},
    "inverse": {"synth", "dataset_gen", "webapp.cli"},  # webapp.cli: the `inverse app` launcher, nothing else
    "specmask": {"synth", "dataset_gen", "inverse.backbone", "inverse.config", "inverse.model",
                 "inverse.checkpoint", "inverse.runs"},
    "webapp": {"synth", "dataset_gen", "inverse", "specmask"},  # the web app sits on top of everything
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from inverse import checkpoint`
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_what_the_design_allows(package):
    offending = []
    for path in sorted((REPO / package).rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top not in PACKAGES or top == package:
                continue
            if not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED[package]):
                # `from inverse import checkpoint` also yields the bare module "inverse": judged by its members
                if name != top:
                    offending.append(f"{path.relative_to(REPO)}: {name}")
    assert not offending, offending
