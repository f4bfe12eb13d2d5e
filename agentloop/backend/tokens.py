"""Token counting by the server itself: its chat template and its tokenizer.

- llama-server: ``POST /apply-template`` (``{"messages", "tools"}`` -> ``{"prompt"}``),
  then ``POST /tokenize`` (``{"content", "add_special", "parse_special"}`` ->
  ``{"tokens": [...]}``). Both live at the server root, not under ``/v1``.
- vLLM: ``POST /tokenize`` with the chat request (``{"model", "messages", "tools",
  "add_generation_prompt"}`` -> ``{"count", "max_model_len", "tokens"}``).

Any other server, or one that refuses, gets None once and is not asked again: the caller
falls back to its calibrated estimate. Also here: reading llama-server's prompt-cache
figures (``timings.cache_n`` / ``prompt_n``) from a reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2

from agentloop.logs import get_logger
from agentloop.profiles import ServerKind

log = get_logger(__name__)


def server_root(base_url: str) -> str:
    """The server's root URL: the OpenAI-compatible base without its ``/v1``."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class ServerTokenCounter:
    """Counts a request's prompt tokens exactly, with the server's template and tokenizer.

    Args:
        http: The client to send through (the backend's pool).
        base_url: The server's OpenAI-compatible URL (``.../v1``).
        kind: Which server it is; only "llama" and "vllm" can count.
        model: The model id (vLLM wants it).
        chat_template_kwargs: Passed to the template, as on chat requests.
    """

    def __init__(
        self,
        http: httpx2.AsyncClient,
        base_url: str,
        kind: ServerKind,
        *,
        model: str | None = None,
        chat_template_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self._http = http
        self._root = server_root(base_url)
        self._kind = kind
        self._model = model
        self._template_kwargs = dict(chat_template_kwargs or {})
        self.available = kind in ("llama", "vllm")

    async def count(
        self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
    ) -> int | None:
        """Prompt tokens of this request; None when the server cannot count."""
        if not self.available:
            return None
        try:
            if self._kind == "vllm":
                return await self._count_vllm(messages, tools)
            return await self._count_llama(messages, tools)
        except (httpx2.HTTPError, ValueError, KeyError, TypeError) as exc:
            self.available = False
            log.info("context.server_count_unavailable", kind=self._kind, error=type(exc).__name__)
            return None

    async def _count_llama(
        self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
    ) -> int:
        body: dict[str, Any] = {"messages": list(messages)}
        if tools:
            body["tools"] = list(tools)
        if self._template_kwargs:
            body["chat_template_kwargs"] = self._template_kwargs
        prompt = (await self._post("apply-template", body))["prompt"]
        if not isinstance(prompt, str):
            raise TypeError("apply-template gave no prompt")
        tokens = (await self._post("tokenize", {"content": prompt, "add_special": True}))["tokens"]
        return len(tokens)

    async def _count_vllm(
        self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
    ) -> int:
        body: dict[str, Any] = {"messages": list(messages), "add_generation_prompt": True}
        if self._model:
            body["model"] = self._model
        if tools:
            body["tools"] = list(tools)
        if self._template_kwargs:
            body["chat_template_kwargs"] = self._template_kwargs
        count = (await self._post("tokenize", body))["count"]
        return int(count)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._http.post(f"{self._root}/{path}", json=body)
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict):
            raise TypeError(f"/{path} answered {type(data).__name__}")
        return data


@dataclass(frozen=True, slots=True)
class PromptCache:
    """llama-server's prompt-cache figures for one reply.

    Attributes:
        cached: Prompt tokens reused from the slot's cache (``timings.cache_n``).
        evaluated: Prompt tokens computed for this request (``timings.prompt_n``).
    """

    cached: int
    evaluated: int

    @property
    def share(self) -> float:
        """The share of the prompt that came from the cache."""
        total = self.cached + self.evaluated
        return self.cached / total if total else 0.0


def prompt_cache(body: Mapping[str, Any]) -> PromptCache | None:
    """The cache figures of a reply body or final stream chunk (None when it has none)."""
    timings = body.get("timings")
    if not isinstance(timings, Mapping):
        return None
    cached, evaluated = timings.get("cache_n"), timings.get("prompt_n")
    if not isinstance(cached, int) or not isinstance(evaluated, int):
        return None
    return PromptCache(cached, evaluated)
