"""The layering contracts in pyproject.toml hold, and a wrong-way import breaks them.

`make lint` runs `lint-imports`; this test shows the contract has teeth: the same
check over a copy of the tree with one import pointing up (the service layer
importing the read side) fails and names it.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("entrypoints", "api", "bootstrap", "projections", "service", "domain")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_tree_keeps_its_import_contracts(tmp_path: Path) -> None:
    result = lint_imports(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_service_module_importing_the_read_side_breaks_the_layers(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    module = tree / "service" / "settings.py"
    module.write_text("import projections.queries  # noqa\n" + module.read_text())
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "service.settings -> projections.queries" in result.stdout


def test_the_domain_importing_a_web_library_breaks_its_purity(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    module = tree / "domain" / "merkle.py"
    module.write_text("import flask  # noqa\n" + module.read_text())
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "domain.merkle -> flask" in result.stdout
