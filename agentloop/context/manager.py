"""`ContextManager`: fit each request into the window before it is sent.

The loop calls `prepare` before every request and `observe` after every reply. The
manager keeps what it sent last time: new messages are appended to it unchanged, so the
server's prompt cache keeps matching, and only when the prompt outgrows its budget is the
whole list compacted, down to `ContextPolicy.target_share` of the budget, so that the next
compaction is many turns away. The caller's messages are never changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentloop.context.counting import EstimateCounter, TokenCounter
from agentloop.context.policy import ContextPolicy
from agentloop.context.records import Applied, Compaction, Prepared, TruncationWarning
from agentloop.context.steps import (
    DROP_NOTE,
    SUMMARY_NOTE,
    Entry,
    Layout,
    cap_entry,
    cap_results,
    drop_reasoning,
    layout,
    merge_target,
    replace_segment,
    segments,
    stub_candidates,
    stub_entry,
    tool_names,
    units,
)
from agentloop.context.summary import Summariser, summary_request
from agentloop.context.window import MIN_REPLY, ContextWindow
from agentloop.errors import ContextOverflow
from agentloop.logs import get_logger

log = get_logger(__name__)

Tools = Sequence[Mapping[str, Any]]

_EXACT_FROM = 0.7  # ask the server to count once the estimate passes this share of the budget
_MAX_ROUNDS = 3
_MAX_SHARED = 8  # a reply's results share one cap, each keeping at least 1/8 of it


@dataclass(slots=True)
class _Sent:
    messages: list[dict[str, Any]]
    tools: Tools
    tokens: int
    exact: bool


@dataclass(slots=True)
class _Work:
    entries: list[Entry]
    tools: Tools
    stats: Counter[str] = field(default_factory=Counter)
    applied: list[Applied] = field(default_factory=list)

    def note(self, step: Applied, n: int) -> None:
        if n:
            self.stats[step] += n
            if step not in self.applied:
                self.applied.append(step)


class ContextManager:
    """Fits one conversation's requests into a context window (one manager per conversation).

    Args:
        window: The context window.
        policy: What may be compacted, and how much room to keep.
        counter: Exact counting by the server (`agentloop.backend.tokens`); None: estimate.
        summarise: Sends a summary request to the model; None: old turns are left out
            with a note instead of summarised.
        estimator: The calibrated estimate (a fresh one when None).
    """

    def __init__(
        self,
        window: ContextWindow,
        policy: ContextPolicy | None = None,
        *,
        counter: TokenCounter | None = None,
        summarise: Summariser | None = None,
        estimator: EstimateCounter | None = None,
    ) -> None:
        self.window = window
        self.policy = policy or ContextPolicy()
        self.estimator = estimator or EstimateCounter()
        self.compactions: list[Compaction] = []
        self._counter = counter
        self._summarise = summarise
        self._view: list[Entry] = []
        self._covered: list[dict[str, Any]] = []
        self._last: _Sent | None = None
        self._warned = False

    @property
    def budget(self) -> int:
        """The most tokens a prompt may take before it is compacted."""
        return self.window.prompt_budget(self.policy)

    async def prepare(self, messages: Sequence[Mapping[str, Any]], tools: Tools = ()) -> Prepared:
        """The messages to send for this conversation, and the room left for the reply.

        Raises:
            ContextOverflow: Even compacted, the request leaves no room for a reply (the
                latest message alone is larger than the window).
        """
        if not self.policy.enabled:
            sent = [dict(m) for m in messages]
            tokens = self.estimator.count(sent, tools)
            self._last = _Sent(sent, tools, tokens, False)
            return Prepared(sent, tokens, None, False)
        view, capped, saved = self._extend(messages)
        tokens, exact = await self._count(view, tools)
        compaction = None
        if capped:
            compaction = self._record(capped, tokens + saved, tokens, len(view))
        if _safe(tokens, exact) > self.budget:
            view, compaction = await self._compact(messages, view, tools, tokens, capped)
            tokens, exact = await self._count(view, tools)
        if _safe(tokens, exact) + MIN_REPLY > self.window.size:
            raise _overflow(tokens, self.window.size)
        self._view, self._covered = view, [dict(m) for m in messages]
        sent = [e.message for e in view]
        self._last = _Sent(sent, tools, tokens, exact)
        max_tokens = self.window.size - _safe(tokens, exact)
        return Prepared(sent, tokens, max_tokens, exact, compaction)

    def observe(self, prompt_tokens: int) -> TruncationWarning | None:
        """Take the `prompt_tokens` the server reported for the last request: calibrate the
        estimate, and say once when the server evidently cut the prompt (ollama)."""
        last = self._last
        if last is None or prompt_tokens <= 0:
            return None
        implied = self.estimator.implied_ratio(last.messages, last.tools, prompt_tokens)
        cut = prompt_tokens < 0.9 * last.tokens if last.exact else implied > 8.0
        if last.tokens >= 256 and cut:
            if self._warned:
                return None
            self._warned = True
            warning = _truncation(last.tokens, prompt_tokens)
            log.warning("context.truncated_by_server", sent=last.tokens, reported=prompt_tokens)
            return warning
        self.estimator.calibrate(last.messages, last.tools, prompt_tokens)
        return None

    # -- the view: what was sent, extended ---------------------------------------------

    def _extend(self, messages: Sequence[Mapping[str, Any]]) -> tuple[list[Entry], int, int]:
        """Last time's view with the new messages appended (each new result capped)."""
        n = len(self._covered)
        if n > len(messages) or any(messages[i] != self._covered[i] for i in range(n)):
            self._view, self._covered, n = [], [], 0  # another conversation: start over
        view = [*self._view, *(Entry(dict(messages[i]), i) for i in range(n, len(messages)))]
        if not self.policy.uses("cap_tool_results"):
            return view, 0, 0
        plan, limit, capped, saved = layout(view, self.policy.keep_recent), self._cap_chars(), 0, 0
        shares = _result_shares(view, len(self._view))
        for i in range(len(self._view), len(view)):
            if view[i].role == "tool" or (view[i].role == "user" and i != plan.last_user):
                entry = cap_entry(view[i], max(limit // shares.get(i, 1), limit // _MAX_SHARED))
                if entry is not None:
                    saved += self.estimator.message_tokens(view[i].message)
                    saved -= self.estimator.message_tokens(entry.message)
                    view[i], capped = entry, capped + 1
        return view, capped, saved

    def _cap_chars(self) -> int:
        return self.estimator.chars_for_tokens(
            int(self.window.size * self.policy.tool_result_share)
        )

    async def _count(self, view: Sequence[Entry], tools: Tools) -> tuple[int, bool]:
        sent = [e.message for e in view]
        estimate = self.estimator.count(sent, tools)
        if self._counter is None or estimate < _EXACT_FROM * self.budget:
            return estimate, False
        exact = await self._counter.count(sent, tools)
        if exact is None:
            self._counter = None  # the server cannot count: estimate from now on
            return estimate, False
        self.estimator.calibrate(sent, tools, exact)
        return exact, True

    def _record(self, capped: int, before: int, after: int, n: int) -> Compaction:
        compaction = Compaction(("cap_tool_results",), before, after, n, n, capped=capped)
        self.compactions.append(compaction)
        log.info("context.capped", results=capped)
        return compaction

    # -- compaction ----------------------------------------------------------------------

    async def _compact(
        self,
        messages: Sequence[Mapping[str, Any]],
        view: list[Entry],
        tools: Tools,
        tokens: int,
        capped: int,
    ) -> tuple[list[Entry], Compaction]:
        work = _Work(list(view), tools)
        work.note("cap_tool_results", capped)  # the new results capped on the way in
        target = int(self.budget * self.policy.target_share)
        for _ in range(_MAX_ROUNDS):
            await self._run_steps(work, messages, target)
            now, exact = await self._count(work.entries, tools)
            if _safe(now, exact) <= self.budget:
                break
            target = int(target * 0.7)  # the estimate was optimistic: aim lower
        after = self.estimator.count([e.message for e in work.entries], tools)
        compaction = Compaction(
            tuple(work.applied),
            tokens,
            after,
            len(view),
            len(work.entries),
            capped=work.stats["cap_tool_results"],
            reasoning_dropped=work.stats["drop_reasoning"],
            stubbed=work.stats["stub_tool_results"],
            summarised=work.stats["summarise"],
            dropped=work.stats["drop"],
        )
        self.compactions.append(compaction)
        log.info("context.compacted", steps=",".join(compaction.steps), before=tokens, after=after)
        return work.entries, compaction

    def _estimate(self, work: _Work) -> int:
        return self.estimator.count([e.message for e in work.entries], work.tools)

    async def _run_steps(
        self, work: _Work, messages: Sequence[Mapping[str, Any]], target: int
    ) -> None:
        keep = self.policy.keep_recent
        for step in self.policy.steps:
            if self._estimate(work) <= target:
                return
            plan = layout(work.entries, keep)
            if step == "cap_tool_results":
                work.note(step, cap_results(work.entries, self._cap_chars(), plan))
            elif step == "drop_reasoning":
                work.note(step, drop_reasoning(work.entries, plan))
            elif step == "stub_tool_results":
                work.note(step, self._stub(work, plan, target))
            elif step == "summarise" and self._summarise is not None:
                await self._summarise_oldest(work, messages, target)
        self._drop_oldest(work, target)

    def _stub(self, work: _Work, plan: Layout, target: int) -> int:
        names, total, changed = tool_names(work.entries), self._estimate(work), 0
        for i in stub_candidates(work.entries, plan):
            if total <= target:
                break
            entry = work.entries[i]
            stub = stub_entry(entry, names.get(str(entry.message.get("tool_call_id")), "tool"))
            if stub is not None:
                est = self.estimator
                total -= est.message_tokens(entry.message) - est.message_tokens(stub.message)
                work.entries[i], changed = stub, changed + 1
        return changed

    async def _summarise_oldest(
        self, work: _Work, messages: Sequence[Mapping[str, Any]], target: int
    ) -> None:
        assert self._summarise is not None
        while self._estimate(work) > target:
            found = segments(work.entries, layout(work.entries, self.policy.keep_recent))
            if not found:
                return
            start, end = found[0]
            earlier = _earlier_note(work.entries, start, end)
            originals = [_original(e, messages) for e in work.entries[start:end]]
            if earlier is not None:
                originals.insert(0, {"role": "user", "content": earlier.note})
            request = summary_request(
                originals, window=self.window.size, chars_per_token=self.estimator.chars_per_token
            )
            try:
                summary = (await self._summarise(request)).strip()
            except Exception as exc:  # a failed summary must not end the run: drop instead
                log.warning("context.summary_failed", error=type(exc).__name__)
                return
            if not summary:
                return
            count = end - start + (earlier.note_count if earlier is not None else 0)
            note = SUMMARY_NOTE.format(n=count, summary=summary)
            work.entries = replace_segment(work.entries, start, end, note, count)
            work.note("summarise", end - start)

    def _drop_oldest(self, work: _Work, target: int) -> None:
        """The last resort: leave out the oldest whole turns, with a note saying so."""
        while self._estimate(work) > target:
            found = segments(work.entries, layout(work.entries, self.policy.keep_recent))
            if not found:
                return
            start, end = found[0]
            cut_to = end
            for _, unit_end in units(work.entries[start:end]):
                cut_to = start + unit_end
                kept = work.entries[:start] + work.entries[cut_to:]
                if self.estimator.count([e.message for e in kept], work.tools) <= target:
                    break
            earlier = _earlier_note(work.entries, start, cut_to)
            count = cut_to - start + (earlier.note_count if earlier is not None else 0)
            work.entries = replace_segment(
                work.entries, start, cut_to, DROP_NOTE.format(n=count), count
            )
            work.note("drop", cut_to - start)


def _earlier_note(entries: Sequence[Entry], start: int, end: int) -> Entry | None:
    """The neighbour whose note a new note about `[start, end)` will replace, if any."""
    target = merge_target(entries, start, end)
    if target is None or not entries[target].note:
        return None
    return entries[target]


def _original(entry: Entry, messages: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """What a summary should see: a tool result's full text rather than its stub."""
    if entry.role == "tool" and entry.origin is not None and entry.origin < len(messages):
        return messages[entry.origin]
    return entry.message


def _safe(tokens: int, exact: bool) -> int:
    """Tokens with a margin for the error of an estimate."""
    return tokens if exact else int(tokens * 1.1) + 16


def _overflow(tokens: int, window: int) -> ContextOverflow:
    return ContextOverflow(
        f"the request needs about {tokens} tokens even after compaction, and the context "
        f"window holds {window}: the latest message alone is too large",
        status=413,
        hint="shorten the message or the tool output, or give the server a larger context "
        "(llama-server --ctx-size, vLLM --max-model-len)",
    )


def _truncation(sent: int, reported: int) -> TruncationWarning:
    return TruncationWarning(
        sent,
        reported,
        f"the server read only {reported} of about {sent} prompt tokens: it is cutting the "
        "front of the conversation (system prompt and tools included). Ollama does this when "
        "its num_ctx is smaller than the conversation: raise num_ctx (or "
        "OLLAMA_CONTEXT_LENGTH) and set --context-size to the same value.",
    )


def _result_shares(view: Sequence[Entry], start: int) -> dict[int, int]:
    """For each tool result from `start` on: how many results its reply has. The results of
    one reply share the cap: seven pages read at once must not take seven quarters of the
    window (the 1.5B did that, and the request overflowed)."""
    shares: dict[int, int] = {}
    i = start
    while i < len(view):
        end = i
        while end < len(view) and view[end].role == "tool":
            end += 1
        shares.update(dict.fromkeys(range(i, end), end - i))
        i = max(end, i + 1)
    return shares
