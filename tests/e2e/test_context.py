"""Issue 10 end to end: a real llama-server (Qwen2.5-Coder 1.5B) with a 2,048-token window,
ten tool outputs each larger than the window, read one after another, with and without
compaction: with it the model reads every page and gives the right answer."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agentloop import AgentConfig, ContextOverflow, arun_agent, tool
from agentloop.backend.tokens import ServerTokenCounter, prompt_cache
from agentloop.context import ContextPolicy
from agentloop.server import LlamaServer

from .conftest import settings_or_skip

pytestmark = pytest.mark.e2e

WINDOW = 2048
CTX_MODEL = "1.5b"
"""The model that reads every page and then answers (the 0.5B reads on past the last one)."""
PAGES = 10
SECRET = "PINEAPPLE"
GREEDY = {"temperature": 0, "seed": 42, "max_tokens": 192}  # a call or the answer, a line before it
FILLER = (
    "The committee met on a grey morning and went through the minutes line by line; "
    "nothing in this paragraph matters for the question. "
)
PROMPT = (
    "Read the report with read_page, starting with read_page(page=1). Each page names the "
    "next page to read: read them one at a time until a page says it is the last one, "
    "then reply with the secret word it gives."
)
# Page numbers are not 1, 2, 3, ...: each page names the next, so the pages are read one
# after another (the 1.5B otherwise guesses and reads seven at once).
ORDER = [1, 4821, 1307, 9154, 2266, 7738, 3390, 6015, 8472, 5549]


@tool
def read_page(page: int) -> str:
    """Read one page of the report.

    Args:
        page: The page number, starting at 1.
    """
    if page not in ORDER:
        return f"There is no page {page}. Page 1 is the first page; each page names the next."
    if page == ORDER[-1]:
        return (
            f"Page {page} is the last page; there are no more pages. Reply to the user "
            f"with this text: The secret word is {SECRET}."
        )
    body = FILLER * 70  # ~9,500 characters: more than the whole window on every page
    following = ORDER[ORDER.index(page) + 1]
    nxt = f"End of page {page}. This is not the last page: now call read_page with page="
    nxt += f"{following}."
    return f"Page {page} of the report.\n{body}\n{nxt}"


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("ctx") / "server.log"
    settings = dataclasses.replace(settings_or_skip(CTX_MODEL, log_file=log), ctx_size=WINDOW)
    with LlamaServer(settings) as server:
        yield server


def sent_requests(transcript: Path) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    return [e["body"] for e in entries if e.get("type") == "request"]


def cache_figures(transcript: Path) -> list[tuple[int, int]]:
    """(cache_n, prompt_n) of every streamed reply in the transcript."""
    found = []
    for line in transcript.read_text().splitlines():
        entry = json.loads(line)
        for raw in entry.get("lines") or ():
            if raw.startswith("data:") and '"timings"' in raw:
                cache = prompt_cache(json.loads(raw[5:]))
                if cache is not None:
                    found.append((cache.cached, cache.evaluated))
    return found


# Summaries written by the small test models are not reliable enough to assert an answer on
# (it tends to "answer" in the summary); the unit tests cover that step.
NO_SUMMARY = ContextPolicy(steps=("cap_tool_results", "drop_reasoning", "stub_tool_results"))


async def run(server: LlamaServer, policy: ContextPolicy, transcript: Path) -> Any:
    config = AgentConfig(base_url=server.base_url, context=policy, max_turns=16)
    return await arun_agent(
        PROMPT, tools=[read_page], config=config, sampling=GREEDY, transcript=transcript
    )


async def test_a_long_tool_loop_runs_through_a_small_window_with_compaction(
    small_server: LlamaServer, tmp_path: Path
) -> None:
    transcript = tmp_path / "on.jsonl"
    result = await run(small_server, NO_SUMMARY, transcript)
    pages = [c.arguments["page"] for c in result.tool_calls if c.arguments]
    assert result.error is None, result.error
    assert pages[:PAGES] == ORDER, "every page, in order, none overflowed"
    sent = sent_requests(transcript)
    assert SECRET in json.dumps(sent[-1]["messages"]), "the last page reached the model"
    assert result.stop_reason == "completed", (result.stop_reason, pages)
    assert SECRET in result.output, (result.output, pages)
    total_output = sum(len(c.output) for c in result.tool_calls)
    assert total_output > 3 * WINDOW * 3, "the outputs together are several times the window"
    full = [m for m in result.messages if m["role"] == "tool"]
    assert all("cut here" not in m["content"] for m in full), "the result keeps every output"
    sent_text = [json.dumps(body["messages"]) for body in sent]
    assert any("cut here to fit" in text for text in sent_text), "results were capped"
    assert any("output of" in text and "left out" in text for text in sent_text), "stubbed"
    cache = cache_figures(transcript)
    cached = sum(c for c, _ in cache)
    total = sum(c + p for c, p in cache)
    print(f"\nprompt cache: {cached}/{total} = {cached / total:.2f} over {len(cache)} replies")


async def test_the_same_task_without_compaction_overflows(
    small_server: LlamaServer, tmp_path: Path
) -> None:
    result = await run(small_server, ContextPolicy.off(), tmp_path / "off.jsonl")
    pages = [c.arguments["page"] for c in result.tool_calls if c.arguments]
    assert result.stop_reason == "context_overflow", (result.output, pages)
    assert isinstance(result.error, ContextOverflow) and "context" in result.error.message
    assert str(WINDOW) in result.error.message
    assert len(result.tool_calls) <= 3, "a page alone outgrows the window"


async def test_the_server_counts_what_it_then_reports(small_server: LlamaServer) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Read page 1."},
    ]
    tools = [read_page.definition.to_openai()]
    async with httpx2.AsyncClient() as http:
        counter = ServerTokenCounter(http, small_server.base_url, "llama")
        counted = await counter.count(messages, tools)
    result = await arun_agent(
        messages=messages,
        tools=[read_page],
        base_url=small_server.base_url,
        sampling=GREEDY,
        max_turns=1,
    )
    assert counted is not None
    assert result.usage.prompt_tokens == counted
