"""Eval task files: one JSON task per line, validated with pydantic before anything runs.

A bad line yields one readable error naming the file, the line and the field; a file with
any bad line is rejected as a whole (`TaskFileError` lists every bad line).
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentloop.errors import ConfigError

_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MODULE_TOOL = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerContains(_Check):
    """The final answer contains `value` (case-insensitive unless `case_sensitive`)."""

    type: Literal["answer_contains"]
    value: str = Field(min_length=1)
    case_sensitive: bool = False


class AnswerNotContains(_Check):
    """The final answer does not contain `value`."""

    type: Literal["answer_not_contains"]
    value: str = Field(min_length=1)
    case_sensitive: bool = False


class AnswerRegex(_Check):
    """The final answer matches the regular expression `pattern` (re.search)."""

    type: Literal["answer_regex"]
    pattern: str = Field(min_length=1)
    case_sensitive: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class AnswerNumber(_Check):
    """Some number in the final answer (or the last one, with `match: "last"`) equals
    `value` within `tolerance` (absolute)."""

    type: Literal["answer_number"]
    value: float
    tolerance: float = Field(default=1e-6, ge=0)
    match: Literal["any", "last"] = "any"


class ToolCalled(_Check):
    """The tool `name` was called at least `min_times` times without an error; when
    `arguments` is given, one such call's arguments include it (numbers compare by value)."""

    type: Literal["tool_called"]
    name: str = Field(min_length=1)
    arguments: dict[str, Any] | None = None
    min_times: int = Field(default=1, ge=1)


class ToolNotCalled(_Check):
    """The tool `name` was never called (not even with an error)."""

    type: Literal["tool_not_called"]
    name: str = Field(min_length=1)


class MaxToolCalls(_Check):
    """At most `value` calls were made (of the tool `name` only, when given)."""

    type: Literal["max_tool_calls"]
    value: int = Field(ge=0)
    name: str | None = None


class FileExists(_Check):
    """`path` (relative to the workspace) exists when the run ends."""

    type: Literal["file_exists"]
    path: str

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return _relative_path(value)


class FileContains(_Check):
    """The workspace file `path` exists and contains `value` when the run ends."""

    type: Literal["file_contains"]
    path: str
    value: str = Field(min_length=1)
    case_sensitive: bool = True

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return _relative_path(value)


class Refused(_Check):
    """A dangerous command was not executed: no successful call of `tool` (any tool when
    None) has arguments matching `pattern`, and every file in `paths` still exists with its
    `setup` content."""

    type: Literal["refused"]
    pattern: str | None = None
    tool: str | None = None
    paths: list[str] = Field(default_factory=list)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("paths")
    @classmethod
    def _relative(cls, value: list[str]) -> list[str]:
        return [_relative_path(p) for p in value]

    @model_validator(mode="after")
    def _something_to_check(self) -> Refused:
        if self.pattern is None and not self.paths:
            raise ValueError("give `pattern`, `paths` or both")
        return self


class BfclAst(_Check):
    """The first reply's calls pass BFCL's AST check for `category` against `ground_truth`
    (see `agentloop.eval.bfcl.checker`); `functions` are BFCL's function docs."""

    type: Literal["bfcl_ast"]
    category: str = Field(min_length=1)
    functions: list[dict[str, Any]] = Field(min_length=1)
    ground_truth: list[dict[str, Any]] = Field(default_factory=list)


Check = Annotated[
    AnswerContains
    | AnswerNotContains
    | AnswerRegex
    | AnswerNumber
    | ToolCalled
    | ToolNotCalled
    | MaxToolCalls
    | FileExists
    | FileContains
    | Refused
    | BfclAst,
    Field(discriminator="type"),
]
"""One check of a task; the `type` field says which."""

CHECK_TYPES = (
    "answer_contains",
    "answer_not_contains",
    "answer_regex",
    "answer_number",
    "tool_called",
    "tool_not_called",
    "max_tool_calls",
    "file_exists",
    "file_contains",
    "refused",
    "bfcl_ast",
)


def _relative_path(value: str) -> str:
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(f"{value!r} must be a relative path inside the workspace")
    return str(path)


class Task(BaseModel):
    """One eval task.

    Attributes:
        id: Unique within the file (letters, digits, `_`, `.`, `-`).
        category: Groups tasks in the summary and report.
        prompt: The user's message (give this or `messages`).
        messages: A whole conversation to continue, in OpenAI format.
        system: A system prompt.
        tools: Built-in tool names and/or `package.module:attribute` user tools; None means
            every built-in tool, `[]` means none.
        mcp: MCP servers whose tools are added (commands, URLs or `mcpServers`-style
            objects with a "name"); each trial starts its own.
        profile: Sampling profile for this task.
        max_turns: Turn limit for this task.
        timeout: Seconds one trial may take; the runner's default when None.
        setup: Files (relative path -> text) written into the workspace before the run.
        checks: What must hold for a trial to pass (all of them).
        line: The line of the task file this task came from (set by the loader).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    category: str = Field(min_length=1)
    prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
    system: str | None = None
    tools: list[str] | None = None
    mcp: list[str | dict[str, Any]] = Field(default_factory=list)
    profile: str | None = None
    max_turns: int | None = Field(default=None, ge=1)
    timeout: float | None = Field(default=None, gt=0)
    setup: dict[str, str] = Field(default_factory=dict)
    checks: list[Check] = Field(min_length=1)
    line: int = Field(default=0, exclude=True)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID_PATTERN.match(value):
            raise ValueError("use letters, digits, '_', '.' and '-' (starting with a letter/digit)")
        return value

    @field_validator("tools")
    @classmethod
    def _tool_names(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if ":" in name and not _MODULE_TOOL.match(name):
                raise ValueError(f"{name!r}: user tools are written 'package.module:attribute'")
        return value

    @field_validator("setup")
    @classmethod
    def _setup_paths(cls, value: dict[str, str]) -> dict[str, str]:
        return {_relative_path(k): v for k, v in value.items()}

    @field_validator("messages")
    @classmethod
    def _message_shape(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for i, message in enumerate(value or []):
            if message.get("role") not in ("system", "user", "assistant", "tool"):
                raise ValueError(f"message {i} needs a role of system, user, assistant or tool")
        return value

    @model_validator(mode="after")
    def _one_input(self) -> Task:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` and `messages`")
        if self.messages is not None and not self.messages:
            raise ValueError("`messages` is empty")
        return self


class TaskFileError(ConfigError):
    """A task file has bad lines; `errors` holds one readable line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _format_location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif i > 0 and loc[i - 1] != "checks" and item in CHECK_TYPES:
            continue  # the discriminator tag pydantic inserts after a list index
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(task)"


def _validation_message(prefix: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = _format_location(tuple(first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "union_tag_invalid":
        where += ".type" if where != "(task)" else "type"
        message = f"unknown check type {first['ctx']['tag']!r} (known: {', '.join(CHECK_TYPES)})"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{prefix}: {where}: {message}{suffix}"


def parse_task_line(text: str, *, path: str, line: int) -> Task:
    """Parse and validate one line of a task file.

    Raises:
        TaskFileError: The line is not JSON or not a valid task (one error line).
    """
    prefix = f"{path}:{line}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFileError([f"{prefix}: invalid JSON: {exc.msg} (column {exc.colno})"]) from None
    if not isinstance(data, dict):
        raise TaskFileError([f"{prefix}: a task must be a JSON object"])
    if "line" in data:
        raise TaskFileError([f"{prefix}: line: this field is reserved"])
    try:
        return Task.model_validate({**data, "line": line})
    except ValidationError as exc:
        raise TaskFileError([_validation_message(prefix, exc)]) from None


def load_tasks(path: str | Path) -> list[Task]:
    """Read and validate a JSONL task file; blank lines and lines starting with `#` or `//`
    are skipped.

    Raises:
        TaskFileError: Any line is bad, an id repeats, or the file has no tasks; every
            problem is listed and no task is returned.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError([f"{file}: cannot read: {exc.strerror or exc}"]) from None
    tasks: list[Task] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(("#", "//")):
            continue
        try:
            task = parse_task_line(stripped, path=str(file), line=number)
        except TaskFileError as exc:
            errors.extend(exc.errors)
            continue
        if task.id in first_line:
            first = first_line[task.id]
            errors.append(f"{file}:{number}: id: duplicate id {task.id!r} (first on line {first})")
            continue
        first_line[task.id] = number
        tasks.append(task)
    if not errors and not tasks:
        errors.append(f"{file}: no tasks in the file")
    if errors:
        raise TaskFileError(errors)
    return tasks
