"""The tools of one trial: built-in tools over a sandbox on the trial's fresh workspace,
filtered by the task's `tools` list, plus user tools named `package.module:attribute`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agentloop.eval.tasks import Task, TaskFileError
from tools import Tool


@dataclass(slots=True)
class ToolSet:
    """Tools for one trial, and what to close when it ends."""

    tools: list[Tool]
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        """Run the cleanups (last first)."""
        async with AsyncExitStack() as stack:
            for fn in self.cleanups:
                stack.push_async_callback(fn)


class ToolProvider(Protocol):
    """Builds the tools of one trial over its workspace."""

    async def __call__(self, task: Task, workspace: Path) -> ToolSet:
        """Tools for `task`, working in `workspace`."""

    async def prepare(self, tasks: Sequence[Task], source: str) -> None:
        """Check every task's tools before anything runs (raise `TaskFileError`)."""


def needs_workspace(provider: object) -> bool:
    """Whether a provider's tools work in the trial's workspace: a provider whose
    `needs_workspace` attribute is False gets none made for tasks without setup files
    (a provider that does not say gets one)."""
    return bool(getattr(provider, "needs_workspace", True))


def load_user_tools(spec: str) -> list[Tool]:
    """Import `package.module:attribute` as `agentloop.user_tools.load_user_tools` does
    (the same meaning as `--tools` of chat and run).

    Raises:
        ValueError: The module or attribute is missing, or is not a tool.
    """
    from agentloop.errors import ConfigError
    from agentloop.user_tools import load_user_tools as load

    try:
        return load(spec)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _builtin_factory() -> Callable[[Any], Sequence[Tool]]:
    try:
        from tools.builtin import default_tools
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(f"the built-in tools are not available: {exc}") from None
    return default_tools


class BuiltinTools:
    """The default provider: `tools.builtin.default_tools(Sandbox(workspace))`, narrowed to
    the task's list, plus its user tools.

    Args:
        allow_unsafe: Let the sandbox run without isolation when none is available.
    """

    needs_workspace = True

    def __init__(self, *, allow_unsafe: bool = False, mcp: Sequence[Any] = ()) -> None:
        self.allow_unsafe = allow_unsafe
        self.mcp = list(mcp)  # MCPServerConfigs for every trial (--mcp, --mcp-config)
        self._tier: Any = None

    async def __call__(self, task: Task, workspace: Path) -> ToolSet:
        from sandbox import Sandbox

        box = Sandbox(workspace, allow_unsafe=self.allow_unsafe, tier=self._tier)
        builtins = {t.name: t for t in _builtin_factory()(box)}
        wanted = task.tools if task.tools is not None else list(builtins)
        chosen: list[Tool] = []
        for name in wanted:
            chosen.extend(load_user_tools(name) if ":" in name else [builtins[name]])
        if not (task.mcp or self.mcp):
            return ToolSet(chosen, [box.aclose])
        from agentloop.eval.mcp_servers import start_trial_servers, task_configs

        try:
            configs = [*self.mcp, *task_configs(task.mcp)]
            extra, stop = await start_trial_servers(configs, taken={t.name for t in chosen})
        except Exception:
            await box.aclose()
            raise
        return ToolSet([*chosen, *extra], [box.aclose, stop])

    async def prepare(self, tasks: Sequence[Task], source: str) -> None:
        """Check every task's tool names and imports, and choose the sandbox tier once.

        Raises:
            TaskFileError: A task names an unknown built-in or a user tool that does not load.
        """
        needs_builtin = any(t.tools is None or any(":" not in n for n in t.tools) for t in tasks)
        names: set[str] = set()
        errors: list[str] = []
        if needs_builtin:
            from sandbox import Sandbox, SandboxUnavailable

            box = Sandbox.temporary(allow_unsafe=self.allow_unsafe)
            try:
                names = {t.name for t in _builtin_factory()(box)}
                self._tier = await box.ensure_ready()
            except (ValueError, SandboxUnavailable) as exc:
                raise TaskFileError([f"{source}: {exc}"]) from None
            finally:
                await box.aclose()
        errors = check_tool_names(tasks, source, names)
        if errors:
            raise TaskFileError(errors)


def check_tool_names(tasks: Sequence[Task], source: str, builtin: set[str]) -> list[str]:
    """One error line per task naming a tool that is neither built in nor importable."""
    errors: list[str] = []
    for task in tasks:
        for index, name in enumerate(task.tools or []):
            where = f"{source}:{task.line}: tools[{index}]"
            if ":" in name:
                try:
                    load_user_tools(name)
                except ValueError as exc:
                    errors.append(f"{where}: {exc}")
            elif name not in builtin:
                known = ", ".join(sorted(builtin)) or "none available"
                errors.append(f"{where}: unknown built-in tool {name!r} (known: {known})")
    return errors


class FixedTools:
    """A provider that gives every trial the same tools (tests, benchmarks, user suites
    whose tools need no workspace); the task's `tools` list narrows them by name."""

    needs_workspace = False

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.tools = list(tools)

    async def __call__(self, task: Task, workspace: Path) -> ToolSet:
        if task.tools is None:
            return ToolSet(list(self.tools))
        chosen = [t for t in self.tools if t.name in task.tools]
        for name in task.tools:
            if ":" in name:
                chosen.extend(load_user_tools(name))
        return ToolSet(chosen)

    async def prepare(self, tasks: Sequence[Task], source: str) -> None:
        """Check the task files' tool names against these tools."""
        errors = check_tool_names(tasks, source, {t.name for t in self.tools})
        if errors:
            raise TaskFileError(errors)
