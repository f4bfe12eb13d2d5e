"""BFCL entries as eval tasks: one turn per question, the entry's functions as tools that
are offered but never run, and a `bfcl_ast` check that scores the first reply's calls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from agentloop.eval.bfcl.data import Category, Entry, load_category
from agentloop.eval.bfcl.schema import to_openai_tool
from agentloop.eval.tasks import BfclAst, Task, TaskFileError
from agentloop.eval.toolsets import ToolSet
from tools import Tool, ToolDefinition
from tools._schema import ArgsModel

NOT_RUN = "(not executed: BFCL scores the call, not its result)"


class _AnyArguments(ArgsModel):
    # BFCL scores the arguments as the model wrote them, so nothing is rejected here.
    model_config = ConfigDict(extra="allow")


async def _not_run() -> str:
    return NOT_RUN


def offered_tool(function: dict[str, Any]) -> Tool:
    """A BFCL function as a tool the model sees like BFCL's OpenAI handler sends it."""
    spec = to_openai_tool(function)["function"]
    definition = ToolDefinition(
        name=spec["name"], description=spec["description"], parameters=spec["parameters"]
    )
    return Tool(definition=definition, function=_not_run, args_model=_AnyArguments)


def entry_task(entry: Entry) -> Task:
    """One BFCL entry as a one-turn task."""
    check = BfclAst(
        type="bfcl_ast",
        category=entry.category,
        functions=entry.functions,
        ground_truth=entry.ground_truth,
    )
    return Task(
        id=entry.id,
        category=entry.category,
        messages=entry.messages,
        max_turns=1,
        checks=[check],
    )


def load_suite(
    data: Path, categories: Iterable[Category], limit: int | None = None
) -> tuple[list[Task], BfclTools]:
    """The tasks of these categories (the first `limit` of each) and their tool provider."""
    tasks: list[Task] = []
    tools: dict[str, list[Tool]] = {}
    for category in categories:
        for entry in load_category(data, category, limit):
            tasks.append(entry_task(entry))
            tools[entry.id] = [offered_tool(f) for f in entry.functions]
    return tasks, BfclTools(tools)


class BfclTools:
    """The tool provider of a BFCL run: each task gets its own entry's functions."""

    needs_workspace = False

    def __init__(self, tools: dict[str, list[Tool]]) -> None:
        self.tools = tools

    async def __call__(self, task: Task, workspace: Path) -> ToolSet:
        return ToolSet(list(self.tools[task.id]))

    async def prepare(self, tasks: Sequence[Task], source: str) -> None:
        """Every task must be one this provider has tools for.

        Raises:
            TaskFileError: A task is not a BFCL entry of this suite.
        """
        unknown = [t.id for t in tasks if t.id not in self.tools]
        if unknown:
            raise TaskFileError([f"{source}: not BFCL entries: {', '.join(unknown[:5])}"])
