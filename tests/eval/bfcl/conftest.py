"""Fixtures for the BFCL tests: the pinned wheel's data and BFCL's own AST checker, loaded
from the wheel's files (the package itself is never installed)."""

from __future__ import annotations

import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentloop.errors import ConfigError
from tests._require import missing

FC_MODEL = "gpt-4o-2024-11-20-FC"
"""A BFCL model entry that is function-calling and writes `.` as `_`, like agentloop."""


@pytest.fixture(scope="session")
def bfcl_wheel() -> Path:
    """The pinned bfcl-eval wheel in the cache (downloaded once from PyPI)."""
    from agentloop.eval.bfcl.data import fetch_wheel
    from agentloop.server import cache_dir_from_env

    try:
        return fetch_wheel(cache_dir_from_env())
    except ConfigError as exc:
        missing(str(exc))


@pytest.fixture(scope="session")
def bfcl_data(bfcl_wheel: Path) -> Path:
    """The wheel's data directory, unpacked into the cache."""
    from agentloop.eval.bfcl.data import data_dir
    from agentloop.server import cache_dir_from_env

    return data_dir(cache_dir_from_env())


def _stub(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module


@pytest.fixture(scope="session")
def bfcl_reference(
    bfcl_wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[types.SimpleNamespace]:
    """BFCL's `ast_checker` and output-format helpers, imported from the unpacked wheel.

    Two imports are stubbed: `model_config` (it imports every vendor SDK; the checker only
    reads `underscore_to_dot`, set as for OpenAI FC models) and `filelock` (used by
    `bfcl_eval.utils` for result files, never by the helpers called here).
    """
    root = tmp_path_factory.mktemp("bfcl-wheel")
    with zipfile.ZipFile(bfcl_wheel) as wheel:
        members = [n for n in wheel.namelist() if n.startswith("bfcl_eval/") and n.endswith(".py")]
        wheel.extractall(root, members)
    saved = dict(sys.modules)
    sys.path.insert(0, str(root))
    config = types.SimpleNamespace(underscore_to_dot=True)
    sys.modules["bfcl_eval.constants.model_config"] = _stub(
        "bfcl_eval.constants.model_config", MODEL_CONFIG_MAPPING={FC_MODEL: config}
    )
    if "filelock" not in sys.modules:
        sys.modules["filelock"] = _stub("filelock", FileLock=object)
    try:
        from bfcl_eval import utils  # type: ignore[import-not-found]
        from bfcl_eval.constants.enums import Language  # type: ignore[import-not-found]
        from bfcl_eval.eval_checker.ast_eval import ast_checker  # type: ignore[import-not-found]

        yield types.SimpleNamespace(
            ast_checker=ast_checker.ast_checker,
            python=Language.PYTHON,
            call_format=utils.is_function_calling_format_output,
            is_empty=utils.is_empty_output,
        )
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - set(saved):
            del sys.modules[name]
