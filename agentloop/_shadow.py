"""Fail early, and clearly, when a user's own `tools.py` or `sandbox.py` hides ours.

agentloop ships three top-level packages (`agentloop`, `tools`, `sandbox`). A file named
`tools.py` beside a user's script comes first on `sys.path` and would be imported in
place of ours, with baffling errors later. `find_spec` locates without executing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from agentloop.errors import ShadowedModuleError

_SIBLINGS = ("tools", "sandbox")


def check_siblings() -> None:
    """Raise `ShadowedModuleError` if `tools` or `sandbox` resolve outside our install."""
    home = Path(__file__).resolve().parent.parent
    for name in _SIBLINGS:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin is None or Path(origin).resolve().parent.parent != home:
            where = origin or "a namespace package"
            raise ShadowedModuleError(
                f"agentloop cannot import its '{name}' package: {where} shadows it. "
                f"Rename that file or folder (it is on sys.path before agentloop's)."
            )
