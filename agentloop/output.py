"""Typed final output: `run_agent(..., output_type=Model)` returns a validated `Model`.

It works on every server the same way: the model is given one more tool, `final_result`,
whose parameters are the output type's fields, and answers by calling it. Arguments are
validated by the output type itself (its validators included); a failure goes back to the
model as a tool error it can fix, a bounded number of times. A plain-text answer that is
valid JSON for the type is accepted too (small models often write the JSON instead of
calling the tool); any other text gets a nudge towards the tool.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from agentloop.errors import OutputInvalid
from agentloop.result import ToolCallRecord
from tools import Tool, ToolError, tool

FINAL_TOOL = "final_result"
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(?P<body>[\[{].*?[\]}])\s*```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an answer validated: the value, or what is wrong with it."""

    ok: bool
    value: Any = None
    problem: str = ""


class OutputSpec:
    """The output type of one run, its `final_result` tool and its retry budget.

    Args:
        output_type: A pydantic model (its fields become the tool's parameters) or any
            type pydantic validates (wrapped in one parameter, `response`).
        retries: Invalid answers sent back to the model before the run stops with
            "invalid_output".
    """

    def __init__(self, output_type: Any, *, retries: int = 2) -> None:
        self.output_type = output_type
        self.retries = retries
        self.failures = 0
        self._adapter: TypeAdapter[Any] = TypeAdapter(output_type)
        self._flat = isinstance(output_type, type) and issubclass(output_type, BaseModel)
        self._accepted: Any = None
        self._has_value = False
        self.tool: Tool = tool(self._function(), name=FINAL_TOOL)

    # -- the tool ----------------------------------------------------------------------

    def _function(self) -> Any:
        def final_result(**fields: Any) -> str:
            payload = fields if self._flat else fields["response"]
            try:
                value = self._adapter.validate_python(payload)
            except ValidationError as exc:
                raise ToolError(_problems(exc)) from None
            self._accepted, self._has_value = value, True
            return "Final answer received."

        params, annotations, docs = self._parameters()
        final_result.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        final_result.__annotations__ = {**annotations, "return": str}
        final_result.__doc__ = (
            "Give your final answer to the user by calling this tool with it, once, "
            "when the task is done.\n\nArgs:\n" + "\n".join(docs)
        )
        return final_result

    def _parameters(self) -> tuple[list[inspect.Parameter], dict[str, Any], list[str]]:
        if not self._flat:
            keyword = inspect.Parameter.KEYWORD_ONLY
            param = inspect.Parameter("response", keyword, annotation=self.output_type)
            return [param], {"response": self.output_type}, ["    response: The final answer."]
        params, annotations, docs = [], {}, []
        for name, field in self.output_type.model_fields.items():
            default = inspect.Parameter.empty if field.is_required() else field.get_default()
            params.append(
                inspect.Parameter(
                    name, inspect.Parameter.KEYWORD_ONLY, default=default,
                    annotation=field.annotation,
                )
            )
            annotations[name] = field.annotation
            docs.append(f"    {name}: {field.description or name}")
        return params, annotations, docs

    # -- judging answers ---------------------------------------------------------------

    def settle(self, records: list[ToolCallRecord]) -> Verdict | None:
        """After a reply's calls ran: the accepted value, a failed attempt, or None when
        the reply did not call `final_result`."""
        finals = [r for r in records if r.name == FINAL_TOOL]
        if not finals:
            return None
        if self._has_value:
            return Verdict(True, self._accepted)
        self.failures += 1
        return Verdict(False, problem=finals[-1].output)

    def from_text(self, text: str) -> Verdict:
        """A plain-text answer: valid when it is (or fences) JSON of the output type."""
        for candidate in _json_candidates(text):
            try:
                payload = json.loads(candidate)
            except ValueError:
                continue
            if not self._flat and isinstance(payload, dict) and set(payload) == {"response"}:
                payload = payload["response"]
            try:
                return Verdict(True, self._adapter.validate_python(payload))
            except ValidationError as exc:
                self.failures += 1
                return Verdict(False, problem=_problems(exc))
        self.failures += 1
        return Verdict(False, problem="the answer did not call final_result")

    def as_text(self, value: Any) -> str:
        """The accepted value as the run's text output (JSON)."""
        return self._adapter.dump_json(value).decode()

    def give_up(self) -> bool:
        """True once the invalid answers have used up the retries."""
        return self.failures > self.retries

    def nudge(self, problem: str) -> str:
        """What the model is told after a plain-text answer that did not validate."""
        return (
            f"Your answer was not accepted ({problem}). Call {FINAL_TOOL} with the final "
            "answer as its arguments."
        )

    def error(self, problem: str) -> OutputInvalid:
        """The run-ending error once retries are used up."""
        return OutputInvalid(
            f"the final output did not validate as {_type_name(self.output_type)} "
            f"after {self.failures} attempts: {problem}",
            hint="simplify the output type, give the model more turns, or use a larger model",
        )


def _json_candidates(text: str) -> list[str]:
    fenced = [m.group("body") for m in _JSON_BLOCK.finditer(text)]
    stripped = text.strip()
    return [*fenced, stripped] if stripped[:1] in "[{" or fenced else fenced


def _problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _type_name(output_type: Any) -> str:
    return getattr(output_type, "__name__", None) or repr(output_type)
