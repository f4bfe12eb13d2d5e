"""The public surface: one list of names, and every public module importable on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import agentloop

ROOT = Path(__file__).resolve().parents[2]


def test_lazy_names_all_and_type_checking_imports_agree() -> None:
    tree = ast.parse((ROOT / "agentloop" / "__init__.py").read_text())
    typed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                typed.update(alias.asname or alias.name for alias in stmt.names)
    exports = agentloop._EXPORTS
    assert set(agentloop.__all__) == set(exports) == typed
    for name in agentloop.__all__:
        value = getattr(agentloop, name)
        assert value is not None
        owner = exports[name]
        assert getattr(sys.modules[owner], name) is value, f"{name} comes from {owner}"


def _public_modules() -> list[str]:
    names = []
    for package in ("agentloop", "tools", "sandbox"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if any(part.startswith("_") for part in parts) or parts[-1] == "__main__":
                continue
            names.append(".".join(parts))
    return names


def test_every_public_module_imports_on_its_own() -> None:
    """Each import starts from nothing of ours loaded, so an import cycle shows."""
    modules = _public_modules()
    assert "agentloop.transcript" in modules and "agentloop.loop" in modules
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] in "
        "('agentloop', 'tools', 'sandbox')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *modules],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout


def test_transcript_imports_alone_in_a_fresh_interpreter() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import agentloop.transcript as t; print(t.replay.__name__)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "replay", done.stderr
