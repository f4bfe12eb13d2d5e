"""ContextManager over plain message lists: each step, the invariants, the prompt cache."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from agentloop.context import (
    ContextManager,
    ContextPolicy,
    ContextWindow,
    SummaryRequest,
    conversation_problems,
)
from agentloop.errors import ContextOverflow

from .conftest import TOOLS, tool_loop

WINDOW = ContextWindow(2048, "server")


def manager(policy: ContextPolicy | None = None, **kwargs: Any) -> ContextManager:
    return ContextManager(WINDOW, policy or ContextPolicy(), **kwargs)


def assert_valid(sent: list[dict[str, Any]], original: list[dict[str, Any]]) -> None:
    """The invariants every compaction keeps."""
    assert conversation_problems(sent) == []
    if original[0]["role"] == "system":
        assert sent[0] == original[0], "the system prompt is kept"
    last_user = max(i for i, m in enumerate(original) if m["role"] == "user")
    assert any(
        m["role"] == "user" and original[last_user]["content"] in m["content"] for m in sent
    ), "the latest user message is kept"


async def test_a_small_conversation_goes_out_unchanged() -> None:
    messages = tool_loop(2, 100)
    prepared = await manager().prepare(messages, TOOLS)
    assert prepared.messages == messages
    assert prepared.compaction is None
    assert prepared.max_tokens is not None
    assert prepared.max_tokens >= WINDOW.size - WINDOW.prompt_budget(ContextPolicy())
    assert prepared.max_tokens + prepared.prompt_tokens <= WINDOW.size


async def test_a_large_tool_result_keeps_head_and_tail_and_says_what_was_cut() -> None:
    messages = tool_loop(1, 100)
    messages[-1]["content"] = "HEAD " + "x" * 20_000 + " TAIL"
    before = copy.deepcopy(messages)
    prepared = await manager().prepare(messages, TOOLS)
    sent = prepared.messages[-1]["content"]
    assert sent.startswith("HEAD ") and sent.endswith(" TAIL")
    assert "characters cut here to fit the context window" in sent
    assert len(sent) < 3000
    assert messages == before, "the caller's messages are never changed"
    assert prepared.compaction is not None and prepared.compaction.capped == 1
    assert prepared.compaction.tokens_before > prepared.compaction.tokens_after


async def test_old_tool_results_are_stubbed_oldest_first_and_the_latest_kept() -> None:
    messages = tool_loop(6, 1200)
    prepared = await manager().prepare(messages, TOOLS)
    compaction = prepared.compaction
    assert compaction is not None and compaction.steps == ("stub_tool_results",)
    tools_sent = [m["content"] for m in prepared.messages if m["role"] == "tool"]
    assert len(tools_sent) == 6, "every call keeps its result (stubbed or not)"
    assert tools_sent[0].startswith("[terminal output of")
    assert tools_sent[-1] == messages[-1]["content"], "the latest result is kept whole"
    assert prepared.prompt_tokens <= int(WINDOW.prompt_budget(ContextPolicy()) * 0.6) + 50
    assert_valid(prepared.messages, messages)


async def test_the_results_of_one_reply_share_the_cap() -> None:
    """The 1.5B read seven 9,000-character pages in one reply: capped one by one they took
    seven quarters of the window and the request overflowed; sharing the cap, it fits."""
    calls = [
        {"id": f"c{n}", "type": "function", "function": {"name": "terminal", "arguments": "{}"}}
        for n in range(7)
    ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You read pages."},
        {"role": "user", "content": "Read pages 1 to 7."},
        {"role": "assistant", "content": "", "tool_calls": calls},
    ]
    messages += [
        {"role": "tool", "tool_call_id": f"c{n}", "content": f"PAGE {n} " + "y" * 9000 + " END"}
        for n in range(7)
    ]
    prepared = await manager().prepare(messages, TOOLS)
    sent = [m["content"] for m in prepared.messages if m["role"] == "tool"]
    assert len(sent) == 7 and all(s.startswith("PAGE") and s.endswith("END") for s in sent)
    assert prepared.prompt_tokens <= WINDOW.prompt_budget(ContextPolicy())
    assert prepared.max_tokens is not None and prepared.max_tokens > 0
    assert_valid(prepared.messages, messages)


async def test_a_short_result_is_never_stubbed() -> None:
    """A stub of a short result saves a few tokens and loses what it said (the e2e lost
    "page 10 is the last page; the secret word is ..." that way)."""
    messages = tool_loop(6, 1200)
    short = (
        "Page 10 is the last page; there are no more pages. Reply to the user with this "
        "text: The secret word is PINEAPPLE."
    )  # a little longer than its stub would be
    second = [i for i, m in enumerate(messages) if m["role"] == "tool"][1]
    messages[second]["content"] = short
    prepared = await manager().prepare(messages, TOOLS)
    sent = [m["content"] for m in prepared.messages if m["role"] == "tool"]
    assert prepared.compaction is not None and sent[1] == short
    assert sent[0].startswith("[terminal output of"), "the long ones around it still are"
    assert_valid(prepared.messages, messages)


async def test_a_stub_is_never_stubbed_again() -> None:
    ctx = manager()
    messages = tool_loop(6, 1200)
    first = await ctx.prepare(messages, TOOLS)
    stubs = [m["content"] for m in first.messages if m["content"].startswith("[terminal")]
    for turn in range(6, 30):
        messages += tool_loop(1, 1200)[2:]
        messages[-2]["tool_calls"][0]["id"] = f"call_t{turn}"
        messages[-1]["tool_call_id"] = f"call_t{turn}"
        prepared = await ctx.prepare(messages, TOOLS)
        assert_valid(prepared.messages, messages)
    sent = [m["content"] for m in prepared.messages if m["role"] == "tool"]
    assert stubs and all("output of 1216 characters" in s for s in sent[:-1]), sent


async def test_reasoning_is_dropped_only_before_the_latest_user_message() -> None:
    messages = tool_loop(3, 50, reasoning="think " * 300)
    messages.append({"role": "assistant", "content": "file1.txt."})
    messages.append({"role": "user", "content": "And which one mentions KIWI?"})
    messages += tool_loop(1, 50, reasoning="fresh thought " * 10)[2:]
    policy = ContextPolicy(steps=("drop_reasoning", "stub_tool_results"))
    prepared = await manager(policy).prepare(messages, TOOLS)
    assert prepared.compaction is not None
    assert prepared.compaction.steps == ("drop_reasoning",)
    sent = prepared.messages
    last_user = max(i for i, m in enumerate(sent) if m["role"] == "user")
    assert all("reasoning_content" not in m for m in sent[:last_user])
    assert "fresh thought" in sent[-2]["reasoning_content"], "the current loop keeps it"
    assert_valid(sent, messages)


async def test_vllm_reasoning_field_is_dropped_too() -> None:
    messages = tool_loop(3, 50, reasoning="think " * 300, reasoning_field="reasoning")
    messages.append({"role": "user", "content": "Next question?"})
    prepared = await manager(ContextPolicy(steps=("drop_reasoning",))).prepare(messages, TOOLS)
    assert all("reasoning" not in m for m in prepared.messages)
    assert_valid(prepared.messages, messages)


async def test_summary_replaces_the_oldest_turns_and_sees_their_full_text() -> None:
    requests: list[SummaryRequest] = []

    async def summarise(request: SummaryRequest) -> str:
        requests.append(request)
        return "Files 0 to 6 were read; none mentions PINEAPPLE."

    messages = tool_loop(8, 1200)
    policy = ContextPolicy(steps=("cap_tool_results", "summarise"))
    prepared = await manager(policy, summarise=summarise).prepare(messages, TOOLS)
    assert prepared.compaction is not None and prepared.compaction.summarised == 14
    [request] = requests
    assert request.max_tokens <= WINDOW.size // 8
    assert "file0.txt says: lorem" in request.messages[-1]["content"], "originals, not stubs"
    sent = prepared.messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[1]["content"].startswith(messages[1]["content"])
    assert "none mentions PINEAPPLE" in sent[1]["content"]
    assert_valid(sent, messages)


@pytest.mark.parametrize("summarise", [None, "fails"])
async def test_without_a_summary_the_oldest_turns_are_left_out_with_a_note(
    summarise: str | None,
) -> None:
    async def failing(request: SummaryRequest) -> str:
        raise RuntimeError("server gone")

    messages = tool_loop(8, 1200)
    policy = ContextPolicy(steps=("cap_tool_results", "summarise"))
    kwargs = {"summarise": failing} if summarise else {}
    prepared = await manager(policy, **kwargs).prepare(messages, TOOLS)
    assert prepared.compaction is not None and prepared.compaction.dropped > 0
    assert "earlier messages left out to fit the context window" in prepared.messages[1]["content"]
    assert prepared.messages[-1] == messages[-1]
    assert_valid(prepared.messages, messages)


async def test_parallel_calls_stay_with_their_results() -> None:
    messages = tool_loop(6, 900, parallel=3)
    policy = ContextPolicy(steps=("cap_tool_results", "summarise"))
    prepared = await manager(policy).prepare(messages, TOOLS)
    assert prepared.compaction is not None
    assert_valid(prepared.messages, messages)
    assert [m["role"] for m in prepared.messages[-4:]] == ["assistant", "tool", "tool", "tool"]


async def test_the_prefix_stays_stable_between_compactions() -> None:
    ctx = manager()
    messages = tool_loop(0, 0)
    sent_per_turn: list[list[dict[str, Any]]] = []
    compacted_at: list[int] = []
    freed: list[int] = []
    for turn in range(50):
        messages += tool_loop(1, 600)[2:]
        messages[-2]["tool_calls"][0]["id"] = f"call_t{turn}"
        messages[-1]["tool_call_id"] = f"call_t{turn}"
        prepared = await ctx.prepare(messages, TOOLS)
        assert_valid(prepared.messages, messages)
        if prepared.compaction is not None and prepared.compaction.steps != ("cap_tool_results",):
            compacted_at.append(turn)
            freed.append(prepared.compaction.tokens_before - prepared.compaction.tokens_after)
        elif sent_per_turn:
            previous = sent_per_turn[-1]
            assert prepared.messages[: len(previous)] == previous, f"prefix changed at {turn}"
        sent_per_turn.append(prepared.messages)
    assert compacted_at and len(compacted_at) <= 17, compacted_at
    gaps = [b - a for a, b in itertools.pairwise(compacted_at)]
    assert min(gaps) >= 3, "never compacts turn after turn"
    budget = WINDOW.prompt_budget(ContextPolicy())
    assert min(freed) >= 0.35 * budget, "each compaction is a large step"
    assert len(sent_per_turn[-1]) <= 30, "notes do not pile up: the prompt stays bounded"


async def test_a_latest_message_larger_than_the_window_is_an_error_then_the_next_works() -> None:
    ctx = manager()
    huge = [{"role": "user", "content": "word " * 10_000}]
    with pytest.raises(ContextOverflow) as info:
        await ctx.prepare(huge, TOOLS)
    assert "2048" in str(info.value) and info.value.hint
    history = [*huge, {"role": "assistant", "content": "That was too long."}]
    history.append({"role": "user", "content": "What is 2 + 2?"})
    prepared = await ctx.prepare(history, TOOLS)
    assert prepared.messages[-1]["content"] == "What is 2 + 2?"
    assert len(prepared.messages[0]["content"]) < 10_000
    assert_valid(prepared.messages, history)


async def test_off_sends_everything_as_it_is() -> None:
    messages = tool_loop(8, 5000)
    prepared = await manager(ContextPolicy.off()).prepare(messages, TOOLS)
    assert prepared.messages == messages
    assert prepared.max_tokens is None and prepared.compaction is None


class Counter:
    def __init__(self, answer: int | None) -> None:
        self.answer = answer
        self.calls = 0

    async def count(self, messages: Any, tools: Any) -> int | None:
        self.calls += 1
        return self.answer


async def test_the_server_count_decides_near_the_budget_and_calibrates_the_estimate() -> None:
    counter = Counter(900)
    ctx = manager(counter=counter)
    messages = tool_loop(3, 1200)
    prepared = await ctx.prepare(messages, TOOLS)
    assert counter.calls == 1 and prepared.exact and prepared.prompt_tokens == 900
    assert prepared.compaction is None, "the exact count says it fits"
    assert prepared.max_tokens == WINDOW.size - 900
    assert ctx.estimator.chars_per_token > 3.0, "calibrated from the exact count"


async def test_a_server_that_cannot_count_is_asked_once() -> None:
    counter = Counter(None)
    ctx = manager(counter=counter)
    for turns in (3, 4):
        prepared = await ctx.prepare(tool_loop(turns, 1200), TOOLS)
        assert not prepared.exact
    assert counter.calls == 1


async def test_small_conversations_do_not_ask_the_server() -> None:
    counter = Counter(100)
    await manager(counter=counter).prepare(tool_loop(1, 100), TOOLS)
    assert counter.calls == 0


async def test_reported_prompt_tokens_calibrate_the_estimate() -> None:
    ctx = manager()
    messages = tool_loop(2, 1000)
    prepared = await ctx.prepare(messages, TOOLS)
    assert ctx.observe(int(prepared.prompt_tokens * 0.7)) is None
    assert ctx.estimator.chars_per_token > 3.5
    again = await ctx.prepare(messages, TOOLS)
    assert again.prompt_tokens < prepared.prompt_tokens


async def test_silent_truncation_is_reported_once_with_the_fix() -> None:
    ctx = manager()
    await ctx.prepare(tool_loop(3, 1000), TOOLS)
    warning = ctx.observe(120)
    assert warning is not None and "num_ctx" in warning.message
    assert warning.reported_tokens == 120
    await ctx.prepare(tool_loop(3, 1000), TOOLS)
    assert ctx.observe(120) is None, "said once"
    assert ctx.estimator.calibrations == 0, "a cut prompt does not calibrate"


async def test_another_conversation_starts_a_fresh_view() -> None:
    ctx = manager()
    await ctx.prepare(tool_loop(8, 1200), TOOLS)
    other = tool_loop(1, 100, prompt="Something else entirely.")
    prepared = await ctx.prepare(other, TOOLS)
    assert prepared.messages == other
