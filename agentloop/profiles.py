"""Sampling profiles: named presets of sampling settings, matched by model id.

A profile gives ordinary-turn settings and, optionally, other settings for turns inside
the tool loop (the turns that follow tool results). Fields a server does not share with
OpenAI (`min_p`, `top_k`, the repetition penalty) are sent under each server's own name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from agentloop.errors import ConfigError

ServerKind = Literal["llama", "vllm", "openai"]
"""llama.cpp's llama-server, vLLM, or any other OpenAI-compatible server."""

# Extra sampling fields by server kind: our name -> the server's name (absent: not sent).
_EXTRA_NAMES: dict[ServerKind, dict[str, str]] = {
    "llama": {"min_p": "min_p", "top_k": "top_k", "repetition_penalty": "repeat_penalty"},
    "vllm": {"min_p": "min_p", "top_k": "top_k", "repetition_penalty": "repetition_penalty"},
    "openai": {},
}
_STANDARD = (
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "stop",
)
SAMPLING_FIELDS = (*_STANDARD, "min_p", "top_k", "repetition_penalty")
"""Every sampling field a profile or an override may set."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A named sampling preset.

    Attributes:
        name: The profile's name (`--profile NAME`).
        match: Lower-case substrings of model ids this profile is chosen for.
        sampling: Settings for ordinary turns (keys from `SAMPLING_FIELDS`).
        tool_sampling: Settings that replace `sampling` on turns inside the tool loop.
        chat_template_kwargs: Passed through to the server's chat template.
        think_tags: The model writes reasoning ending in `</think>` into its content when the
            server does not split it off; stream such text as reasoning until the tag.
        system_prompt: The system prompt of runs that offer tools and were given none
            (None: no system prompt is added).
        max_calls_per_reply: Calls one reply may make; the reply is cut when the next one
            starts (None: no cap). Small models write whole chains of calls in one reply,
            each with a made-up result of the one before.
    """

    name: str
    match: tuple[str, ...] = ()
    sampling: Mapping[str, Any] = field(default_factory=dict)
    tool_sampling: Mapping[str, Any] = field(default_factory=dict)
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    think_tags: bool = False
    system_prompt: str | None = None
    max_calls_per_reply: int | None = None

    def settings(
        self, *, in_tool_loop: bool, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The sampling settings for one turn, overrides applied last."""
        merged = dict(self.sampling)
        if in_tool_loop:
            merged.update(self.tool_sampling)
        if overrides:
            merged.update(overrides)
        unknown = set(merged) - set(SAMPLING_FIELDS)
        if unknown:
            raise ConfigError(f"unknown sampling field(s): {', '.join(sorted(unknown))}")
        return {k: v for k, v in merged.items() if v is not None}

    def with_overrides(self, **sampling: Any) -> Profile:
        """A copy whose ordinary and tool-loop settings both take these values."""
        return replace(
            self,
            sampling={**self.sampling, **sampling},
            tool_sampling={**self.tool_sampling, **sampling},
        )


def wire_fields(settings: Mapping[str, Any], kind: ServerKind) -> dict[str, Any]:
    """Request-body fields for these settings, under the server's own names."""
    names = _EXTRA_NAMES[kind]
    body: dict[str, Any] = {}
    for key, value in settings.items():
        if key in _STANDARD:
            body[key] = value
        elif key in names:
            body[names[key]] = value
    return body


# What the model reads before every request: each line is there for a class of failure
# measured in docs/eval.md (multi-step tasks answered after the first call, tools called
# for questions that need none, giving up after an error, vague refusals). Kept short:
# every token is prompt time on a CPU.
SMALL_MODEL_SYSTEM_PROMPT = """\
You can call tools. Use one when the request needs it: arithmetic, today's date, files, \
running code. Answer directly, without a tool, for greetings and general knowledge.
When a request has several steps, call the tools for each step in turn, and answer only \
when every step is done, using the tools' results.
If a tool returns an error, correct the call or use another tool.
If a command is refused, tell the user it was refused and why."""
REASONING_MODEL_SYSTEM_PROMPT = """\
Use tools only when they help; answer directly otherwise. Finish every step the user asked \
for before answering, using the tools' results. After a tool error, correct the call or \
use another tool. If something is refused, tell the user what was refused and why."""

GLM_47_FLASH = Profile(
    name="glm-4.7-flash",
    match=("glm-4.7", "glm4.7", "glm-4.7-flash"),
    # A reasoning model: the reply cap leaves room for long thinking before the answer.
    sampling={
        "temperature": 1.0,
        "top_p": 0.95,
        "min_p": 0.01,
        "repetition_penalty": 1.0,
        "max_tokens": 16384,
    },
    tool_sampling={"temperature": 0.7, "top_p": 1.0},
    think_tags=True,
    system_prompt=REASONING_MODEL_SYSTEM_PROMPT,
)
QWEN_CODER = Profile(
    name="qwen2.5-coder",
    match=(
        "qwen2.5-coder",
        "qwen2.5",
    ),
    # Small models can loop until the window is full: one reply is capped.
    sampling={
        "temperature": 0.7,
        "top_p": 0.8,
        "top_k": 20,
        "repetition_penalty": 1.05,
        "max_tokens": 2048,
    },
    tool_sampling={"temperature": 0.2},
    system_prompt=SMALL_MODEL_SYSTEM_PROMPT,
    # The 1.5B wrote 42 calls in one reply (four steps of a chain, then the same four
    # again with invented results) for 150 s; parallel tasks need a few calls, not dozens.
    max_calls_per_reply=6,
)
DEFAULT = Profile(name="default")

BUILTIN_PROFILES: Mapping[str, Profile] = {p.name: p for p in (GLM_47_FLASH, QWEN_CODER, DEFAULT)}
"""Profiles that ship with agentloop, by name."""


def resolve_profile(
    choice: str | Profile | None,
    model_id: str,
    profiles: Mapping[str, Profile] = BUILTIN_PROFILES,
) -> Profile:
    """The profile to use: the one given, else the first whose `match` fits the model id."""
    if isinstance(choice, Profile):
        return choice
    if choice:
        try:
            return profiles[choice]
        except KeyError:
            known = ", ".join(profiles)
            raise ConfigError(f"unknown profile {choice!r}; known profiles: {known}") from None
    lowered = model_id.lower()
    for profile in profiles.values():
        if any(pattern in lowered for pattern in profile.match):
            return profile
    return profiles.get("default", DEFAULT)
