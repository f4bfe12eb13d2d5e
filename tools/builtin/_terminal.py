"""The ``terminal`` tool: a guarded shell command run in the sandbox."""

from __future__ import annotations

from sandbox import ExecResult, Sandbox, SandboxError
from tools import Tool, ToolError, ToolRefused, tool
from tools.builtin._policy import CommandPolicy


def terminal_tool(sandbox: Sandbox, policy: CommandPolicy | None = None) -> Tool:
    """Build the ``terminal`` tool.

    The command is parsed and checked against ``policy``; a refused command is reported
    with the reason and never reaches the sandbox. An accepted one runs with ``/bin/sh``
    in the sandbox, in the workspace, exactly as it was checked (re-rendered with every
    word quoted except wildcards).

    Args:
        sandbox: Where commands run.
        policy: Allowed programs, refusals, approval and timeout.
    """
    policy = policy or CommandPolicy()

    async def terminal(command: str) -> str:
        """Run a shell command in the workspace (no network, no sudo).

        Available: ls cat head tail wc grep find sort uniq cut diff echo mkdir touch cp mv
        python3 git make and similar, with pipes, &&, ; and > or >> into workspace files.
        Refused: deleting files, changing permissions, network tools, other shells, awk
        and sed, $-expansions and command substitution.

        Args:
            command: The command line to run.
        """
        try:
            tier = await sandbox.ensure_ready()
        except SandboxError as exc:
            raise ToolError(f"The terminal tool is unavailable: {exc}") from None
        verdict = policy.check(command, sandbox.inner_workspace)
        if not verdict.allowed:
            raise ToolRefused(
                f"Refused: {verdict.reason}. The command was not run. Do the task another "
                "way if one is allowed, or tell the user it was refused and why."
            )
        result = await sandbox.exec(["/bin/sh", "-c", verdict.command], timeout=policy.timeout)
        return render_exec_result(result, unsafe=tier == "none")

    return tool(terminal, approval=policy.approval, timeout=policy.timeout + 10.0)


def render_exec_result(result: ExecResult, *, unsafe: bool = False) -> str:
    """Concise text for the model: exit code, stdout, stderr, and why it was stopped."""
    lines = ["WARNING: this ran WITHOUT isolation (unsafe mode)"] if unsafe else []
    if result.timed_out:
        lines.append(f"timed out after {result.duration:.0f} s; the command was stopped")
    lines.append(f"exit code: {result.exit_code}")
    if result.stdout:
        lines.append(result.stdout.rstrip("\n"))
    stderr = result.stderr.replace(
        "[sandbox] WARNING: this ran WITHOUT isolation (unsafe mode)\n", ""
    )
    if stderr.strip():
        lines.append("stderr:\n" + stderr.rstrip("\n"))
    return "\n".join(lines)
