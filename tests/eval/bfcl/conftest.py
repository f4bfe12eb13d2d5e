"""Fixtures for the BFCL tests: the pinned wheel's data and BFCL's own AST checker, loaded
from the wheel's files (the package itself is never installed)."""

from __future__ import annotations

import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

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

    Some imports are stubbed: `model_config` (it imports every vendor SDK; the checker only
    reads `underscore_to_dot`, set as for OpenAI FC models), `filelock` (result files) and
    `tree_sitter*` (Java/JS parsers): imported at load time, never used by what is called.
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
    for name in ("filelock", "tree_sitter", "tree_sitter_java", "tree_sitter_javascript"):
        if name not in sys.modules:  # imported at load, unused by what the tests call
            sys.modules[name] = MagicMock(name=name)
    try:
        from bfcl_eval import utils  # type: ignore[import-not-found]
        from bfcl_eval.constants.enums import Language, ModelStyle  # type: ignore[import-not-found]
        from bfcl_eval.eval_checker.ast_eval import ast_checker  # type: ignore[import-not-found]
        from bfcl_eval.model_handler import utils as handler_utils  # type: ignore[import-not-found]

        yield types.SimpleNamespace(
            ast_checker=ast_checker.ast_checker,
            python=Language.PYTHON,
            call_format=utils.is_function_calling_format_output,
            is_empty=utils.is_empty_output,
            add_hint=utils._func_doc_language_specific_pre_processing,
            convert_to_tool=lambda functions: handler_utils.convert_to_tool(
                functions, handler_utils.GORILLA_TO_OPENAPI, ModelStyle.OPENAI_COMPLETIONS
            ),
        )
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - set(saved):
            del sys.modules[name]
