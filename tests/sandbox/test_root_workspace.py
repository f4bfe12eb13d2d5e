"""As root, sandboxed code runs as an unprivileged uid: a workspace it cannot reach is
refused with a message that says why and what to do, not a bubblewrap error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox import Sandbox, SandboxUnavailable

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root (it is about dropping to a uid)"
)


async def test_workspace_behind_a_private_folder_is_refused_clearly(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    private = Path(tmp_path_factory.mktemp("home"))
    private.chmod(0o700)
    workspace = private / "workspace"
    workspace.mkdir()
    box = Sandbox(workspace)
    try:
        with pytest.raises(
            SandboxUnavailable, match=r"cannot reach the workspace .*closed to others \(mode 700\)"
        ):
            await box.exec(["true"])
    finally:
        await box.aclose()
