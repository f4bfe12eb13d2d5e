"""`agentloop doctor`: probe a server and say, one finding per line, what works and how to
fix what does not. Tool calling is the verdict: it must come back as structured calls.

The probes sample as a run would (the model's profile, tool-loop settings) within a token
budget; a reply cut off by that budget is reported as such, not as a parser problem."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sandbox
from agentloop.backend import ChatRequest, ModelReply, OpenAIBackend
from agentloop.config import AgentConfig
from agentloop.context import resolve_window
from agentloop.errors import BackendError
from agentloop.profiles import ServerKind, resolve_profile, wire_fields
from agentloop.recovery import recover_calls

Status = Literal["ok", "warn", "fail", "info"]

_ADD_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "a": {"type": "number", "description": "first addend"},
        "b": {"type": "number", "description": "second addend"},
    },
    "required": ["a", "b"],
}
_ADD: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "add_number",
        "description": "Add two numbers and return the sum.",
        "parameters": _ADD_PARAMETERS,
    },
}
_SCHEMAS = {"add_number": _ADD_PARAMETERS}
_SINGLE = "Use the add_number tool to add 2 and 3."
_PARALLEL = "What is 2 + 3 and what is 4 + 5? Call add_number for each sum, both in one reply."
_SMALL_CONTEXT = 16_384
DEFAULT_MAX_TOKENS = 1024

_KIND_NAMES: dict[ServerKind, str] = {
    "llama": "llama-server",
    "vllm": "vLLM",
    "openai": "other OpenAI-compatible server",
}
_TOOL_FIX: dict[ServerKind, str] = {
    "llama": "llama-server: start it with --jinja (and a chat template that supports tools, "
    "e.g. --chat-template-file for models whose own template does not)",
    "vllm": "vLLM: add --enable-auto-tool-choice --tool-call-parser glm47",
    "openai": "enable the server's tool-call parser (llama-server: --jinja; "
    "vLLM: --enable-auto-tool-choice --tool-call-parser glm47)",
}
_REASONING_FIX: dict[ServerKind, str] = {
    "llama": "llama-server: start it with --jinja --reasoning-format deepseek",
    "vllm": "vLLM: add --reasoning-parser glm45",
    "openai": "enable the server's reasoning parser (vLLM: --reasoning-parser glm45)",
}
_CONTEXT_FIX: dict[ServerKind, str] = {
    "llama": "llama-server: raise -c (e.g. -c 16384)",
    "vllm": "vLLM: raise --max-model-len (e.g. --max-model-len 32768)",
    "openai": "raise the server's context length",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report.

    Attributes:
        status: "ok", "warn" (works, could be better), "fail" (broken) or "info".
        topic: What was checked, e.g. "tool calls".
        message: What was found.
        fix: The exact change that fixes it ("" when nothing is to be done).
    """

    status: Status
    topic: str
    message: str
    fix: str = ""

    def line(self) -> str:
        """The finding as one printable line."""
        text = f"[{self.status}] {self.topic}: {self.message}"
        return f"{text} -> fix: {self.fix}" if self.fix else text


@dataclass(frozen=True, slots=True)
class Report:
    """Everything doctor found.

    Attributes:
        findings: In the order they were checked.
        tool_calls_work: True when a trivial call came back as structured `tool_calls`.
    """

    findings: tuple[Finding, ...]
    tool_calls_work: bool

    @property
    def exit_code(self) -> int:
        """0 only when tool calling works."""
        return 0 if self.tool_calls_work else 1


@dataclass(frozen=True, slots=True)
class _Probe:
    """One server under test and how to ask it."""

    backend: OpenAIBackend
    kind: ServerKind
    params: dict[str, Any]


async def diagnose(
    config: AgentConfig, mcp: Sequence[Any] = (), *, max_tokens: int = DEFAULT_MAX_TOKENS
) -> Report:
    """Probe the server at `config.base_url` (and `config.model`, when set) and report.

    Args:
        config: Server, model, profile and credentials.
        mcp: MCP servers to start and check too.
        max_tokens: The token budget of each probe reply.

    Never raises for server problems: they become findings.
    """
    findings: list[Finding] = []
    backend = OpenAIBackend(config.with_(max_retries=0))
    try:
        if not await _reachable(backend, findings, config.model):
            return Report(tuple(findings), tool_calls_work=False)
        kind = await backend.server_kind()
        findings.append(Finding("info", "server", _KIND_NAMES[kind]))
        findings.append(await _context(backend, kind, config.context_size))
        profile = resolve_profile(config.profile, await backend.model_id())
        params = wire_fields(profile.settings(in_tool_loop=True), kind)
        params.update(max_tokens=max_tokens, tool_choice="auto")
        works = await _tool_checks(_Probe(backend, kind, params), findings)
        if mcp:
            from agentloop.doctor_mcp import mcp_findings

            checked = await mcp_findings(backend, mcp)
            findings.extend(checked)
            works = works and all(f.status != "fail" for f in checked)
        findings.append(await _sandbox_finding())
        return Report(tuple(findings), tool_calls_work=works)
    finally:
        await backend.aclose()


async def _sandbox_finding() -> Finding:
    facts = await sandbox.enforcement()
    if facts.tier is None:
        return Finding("warn", "sandbox", facts.summary(), "apt-get install bubblewrap")
    fix = "run as root, or give this user a delegated cgroup" if facts.missing else ""
    return Finding("warn" if facts.missing else "ok", "sandbox", facts.summary(), fix)


async def _reachable(backend: OpenAIBackend, findings: list[Finding], wanted: str | None) -> bool:
    started = time.perf_counter()
    try:
        models = await backend.list_models()
    except BackendError as exc:
        findings.append(
            Finding(
                "fail",
                "reachable",
                f"no answer from {backend.base_url}/models: {exc}",
                "start the server (`agentloop serve`, or `docker compose --profile llama up -d`)"
                " or pass the right --base-url",
            )
        )
        return False
    elapsed = (time.perf_counter() - started) * 1000
    findings.append(Finding("ok", "reachable", f"{backend.base_url} ({elapsed:.0f} ms)"))
    if not models:
        findings.append(
            Finding("fail", "model", "the server lists no models", "load a model on the server")
        )
        return False
    served = [str(m.get("id")) for m in models]
    if wanted is None:
        others = f" (the first of {', '.join(served)}; --model picks another)"
        findings.append(Finding("ok", "model", served[0] + (others if len(served) > 1 else "")))
    elif wanted in served:
        findings.append(Finding("ok", "model", wanted))
    else:
        findings.append(
            Finding(
                "warn",
                "model",
                f"{wanted!r} is not in the server's list ({', '.join(served)}); "
                "a single-model llama-server answers anyway, vLLM refuses",
                f"--model {served[0]}",
            )
        )
    return True


async def _context(backend: OpenAIBackend, kind: ServerKind, configured: int | None) -> Finding:
    size = await backend.context_size()
    if size is None:
        window = resolve_window(None, configured)
        return Finding(
            "info",
            "context",
            f"the server does not say its context size; requests are fitted to {window.describe()}",
            "" if configured else "pass --context-size (or set AGENTLOOP_CONTEXT_SIZE)",
        )
    if size < _SMALL_CONTEXT:
        return Finding(
            "warn",
            "context",
            f"{size:,} tokens: tool loops fill it quickly",
            _CONTEXT_FIX[kind],
        )
    return Finding("ok", "context", f"{size:,} tokens")


async def _ask(probe: _Probe, prompt: str, *, parallel: bool = False) -> ModelReply:
    params = dict(probe.params)
    if parallel:
        params["parallel_tool_calls"] = True
    request = ChatRequest(
        messages=[{"role": "user", "content": prompt}], tools=[_ADD], params=params, stream=False
    )
    return await probe.backend.complete(request)


async def _tool_checks(probe: _Probe, findings: list[Finding]) -> bool:
    kind = probe.kind
    try:
        reply = await _ask(probe, _SINGLE)
    except BackendError as exc:
        findings.append(
            Finding("fail", "tool calls", f"the request failed: {exc}", _TOOL_FIX[kind])
        )
        return False
    works = _judge_tool_call(reply, probe, findings)
    findings.append(_judge_reasoning(reply, kind))
    if works:
        findings.append(await _parallel(probe))
    return works


def _judge_tool_call(reply: ModelReply, probe: _Probe, findings: list[Finding]) -> bool:
    kind = probe.kind
    names = [call.name for call in reply.tool_calls]
    if "add_number" in names:
        findings.append(Finding("ok", "tool calls", "a trivial call came back as tool_calls"))
        return True
    if reply.finish_reason == "length":
        budget = probe.params["max_tokens"]
        thought = f" after {len(reply.reasoning):,} chars of reasoning" if reply.reasoning else ""
        findings.append(
            Finding(
                "fail",
                "tool calls",
                f"no verdict: the reply hit the {budget}-token budget{thought} before any call "
                "(the server's parser is not the problem)",
                f"give it room: agentloop doctor --max-tokens {max(4 * budget, 4096)}",
            )
        )
        return False
    recovered, _ = recover_calls(reply.content or reply.reasoning, _SCHEMAS)
    if recovered:
        message = (
            "the call came back as text in the reply, not as tool_calls "
            "(agentloop can recover it, but the server's parser is off)"
        )
    else:
        message = f"no tool call (finish_reason {reply.finish_reason or 'none'!r})"
    findings.append(Finding("fail", "tool calls", message, _TOOL_FIX[kind]))
    return False


def _judge_reasoning(reply: ModelReply, kind: ServerKind) -> Finding:
    if reply.reasoning_field:
        return Finding("ok", "reasoning", f"arrives in its own field ({reply.reasoning_field})")
    if reply.reasoning:
        return Finding(
            "warn",
            "reasoning",
            "arrives inside the content (<think>…</think>); agentloop splits it off",
            _REASONING_FIX[kind],
        )
    return Finding("info", "reasoning", "none seen (the model did not think aloud)")


async def _parallel(probe: _Probe) -> Finding:
    kind = probe.kind
    try:
        reply = await _ask(probe, _PARALLEL, parallel=True)
    except BackendError as exc:
        return Finding("warn", "parallel calls", f"the request failed: {exc}")
    count = len(reply.tool_calls)
    if count >= 2:
        return Finding("ok", "parallel calls", f"{count} calls in one reply")
    fix = (
        "vLLM: keep --enable-auto-tool-choice; a larger model may be needed"
        if kind == "vllm"
        else "a larger model or a template that renders several calls; agentloop still "
        "runs calls one reply at a time"
    )
    return Finding("warn", "parallel calls", f"{count} call(s) when asked for two", fix)


def render(findings: Sequence[Finding]) -> str:
    """All findings, one per line."""
    return "\n".join(finding.line() for finding in findings)
