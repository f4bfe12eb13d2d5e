"""Item 1: the three packages, imports one way, and a clear error when a file shadows one."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> top-level names it must never import
FORBIDDEN = {
    "sandbox": {"tools", "agentloop", "openai", "pydantic", "structlog"},
    "tools": {"agentloop", "openai"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_only_the_backend_seam_imports_openai() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in ("agentloop", "tools", "sandbox")
        for path in (ROOT / package).rglob("*.py")
        if "openai" in _imports(path)
    )
    assert importers == ["agentloop/backend/client.py"]


@pytest.mark.parametrize("name", ["tools", "sandbox"])
def test_a_users_file_shadowing_a_package_fails_clearly(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "executed"
    (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / "script.py").write_text("import agentloop\n")
    proc = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    last_line = proc.stderr.strip().splitlines()[-1]
    assert "ShadowedModuleError" in last_line
    assert str(tmp_path / f"{name}.py") in last_line
    assert not marker.exists(), "the shadowing file must not be executed"


def test_openai_3_is_required_and_installed() -> None:
    from importlib.metadata import requires, version

    wanted = [r for r in requires("agentloop") or [] if r.startswith("openai")]
    assert wanted and ">=3" in wanted[0]
    assert int(version("openai").split(".")[0]) >= 3
