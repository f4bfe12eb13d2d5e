"""`ChatSession` driven in-process: slash commands, settings, errors, retry."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from agentloop.chat.app import _agent_factory
from agentloop.chat.render import Renderer
from agentloop.chat.session import ApproveMode, ChatSession, SessionOptions
from agentloop.chat.state import ChatSettings
from agentloop.config import AgentConfig
from agentloop.profiles import QWEN_CODER
from agentloop.testing import FakeOpenAIServer, FakeReply
from tests.chat.chat_tools import TOOLS
from tools import ApprovalDecision, ToolRegistry


class ScriptedReader:
    """Input lines and approval answers from lists."""

    def __init__(self, lines: list[str], answers: list[ApprovalDecision | None] = ()) -> None:  # type: ignore[assignment]
        self.lines = list(lines)
        self.answers = list(answers)
        self.questions: list[str] = []

    async def read(self) -> str | None:
        return self.lines.pop(0) if self.lines else None

    async def confirm(self, question: str) -> ApprovalDecision | None:
        self.questions.append(question)
        return self.answers.pop(0)


def make_session(
    server: FakeOpenAIServer,
    reader: ScriptedReader,
    tmp_path: Path,
    *,
    approve: ApproveMode = "ask",
    settings: ChatSettings | None = None,
) -> tuple[ChatSession, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=120, highlight=False)
    config = AgentConfig(base_url=server.base_url, max_retries=0)
    options = SessionOptions(
        base_url=server.base_url,
        approve=approve,
        transcript=None,
        debug=False,
        save_dir=tmp_path / "chats",
    )
    session = ChatSession(
        options,
        settings or ChatSettings(),
        ToolRegistry(TOOLS),
        reader,
        Renderer(console),
        _agent_factory(config),
    )
    return session, out


async def test_help_lists_every_command(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        session, out = make_session(server, ScriptedReader(["/help"]), tmp_path)
        assert await session.run() == 0
    for name in (
        "/help",
        "/reset",
        "/tools",
        "/save",
        "/load",
        "/model",
        "/profile",
        "/set",
        "/system",
        "/think",
        "/retry",
        "/transcript",
        "/exit",
    ):
        assert name in out.getvalue()


async def test_set_sampling_is_sent_and_retry_resends_the_last_question(tmp_path: Path) -> None:
    script = [FakeReply("first"), FakeReply("second")]
    with FakeOpenAIServer(script) as server:
        lines = ["/set temperature 0.7", "/set top_k 5", "hello", "/retry"]
        session, _ = make_session(server, ScriptedReader(lines), tmp_path)
        await session.run()
    first, second = server.requests
    assert first["temperature"] == 0.7
    assert first["top_k"] == 5
    assert second["messages"] == first["messages"]  # the same question, answer dropped
    assert [m["content"] for m in session.messages] == ["hello", "second"]


async def test_think_off_folds_reasoning_to_one_line(tmp_path: Path) -> None:
    reply = FakeReply("Answer.", reasoning="secret chain of thought")
    with FakeOpenAIServer([reply]) as server:
        session, out = make_session(
            server, ScriptedReader(["/think off", "q", "/think on", "q"]), tmp_path
        )
        await session.run()
    text = out.getvalue()
    assert text.count("secret chain of thought") == 1  # only after /think on
    assert "▸ thinking (23 chars, /think on to show)" in text


async def test_reset_clears_the_conversation_but_keeps_the_system_prompt(tmp_path: Path) -> None:
    with FakeOpenAIServer([FakeReply("hi")]) as server:
        settings = ChatSettings(system="Be kind.")
        session, _ = make_session(
            server, ScriptedReader(["hello", "/reset", "again"]), tmp_path, settings=settings
        )
        await session.run()
    assert [m["content"] for m in server.requests[1]["messages"]] == ["Be kind.", "again"]


async def test_system_command_shows_replaces_and_turns_off_the_prompt(tmp_path: Path) -> None:
    replies = [FakeReply("one"), FakeReply("two"), FakeReply("three"), FakeReply("four")]
    with FakeOpenAIServer(replies, model="qwen2.5-coder-1.5b") as server:
        lines = ["/system", "q1", "/system Be terse.", "q2", "/system off", "q3"]
        lines += ["/system default", "/system", "q4"]
        session, out = make_session(server, ScriptedReader(lines), tmp_path)
        await session.run()
    text = out.getvalue()
    first_line = QWEN_CODER.system_prompt.splitlines()[0] if QWEN_CODER.system_prompt else "-"
    assert text.count(f"system prompt (the profile's default):\n{first_line}") == 3
    assert "system prompt (yours):\nBe terse." in text
    assert "no system prompt (off)" in text
    firsts = [r["messages"][0] for r in server.requests]
    assert firsts[0] == {"role": "system", "content": QWEN_CODER.system_prompt}
    assert firsts[1] == {"role": "system", "content": "Be terse."}
    assert firsts[2]["role"] == "user" and firsts[2]["content"] == "q1"  # earlier turns kept
    assert firsts[3] == {"role": "system", "content": QWEN_CODER.system_prompt}
    assert [m["content"] for m in server.requests[3]["messages"] if m["role"] == "user"] == [
        "q1",
        "q2",
        "q3",
        "q4",
    ]


async def test_deny_mode_refuses_without_asking(tmp_path: Path) -> None:
    script = [FakeReply(tool_calls=[("python", {"code": "1"})]), FakeReply("ok")]
    with FakeOpenAIServer(script) as server:
        reader = ScriptedReader(["go"])
        session, out = make_session(server, reader, tmp_path, approve="deny")
        await session.run()
    assert reader.questions == []
    assert "python refused (--approve deny)" in out.getvalue()
    assert "declined" in server.requests[1]["messages"][-1]["content"]


async def test_auto_mode_runs_without_asking(tmp_path: Path) -> None:
    script = [FakeReply(tool_calls=[("python", {"code": "1"})]), FakeReply("ok")]
    with FakeOpenAIServer(script) as server:
        reader = ScriptedReader(["go"])
        session, _ = make_session(server, reader, tmp_path, approve="auto")
        await session.run()
    assert reader.questions == []
    assert server.requests[1]["messages"][-1]["content"] == "ran: 1"


async def test_interrupted_approval_cancels_the_turn(tmp_path: Path) -> None:
    script = [FakeReply(tool_calls=[("python", {"code": "1"})]), FakeReply("later")]
    with FakeOpenAIServer(script) as server:
        reader = ScriptedReader(["go", "next"], answers=[None])
        session, out = make_session(server, reader, tmp_path)
        await session.run()
    assert "stopped: cancelled" in out.getvalue()
    assert "later" in out.getvalue()  # the next question was answered
    sent = server.requests[1]["messages"]
    assert sent[0]["content"] == "go" and sent[-1]["content"] == "next"


async def test_model_profile_and_transcript_commands(tmp_path: Path) -> None:
    transcript = tmp_path / "raw.jsonl"
    with FakeOpenAIServer([FakeReply("hi")], model="qwen2.5-coder-1.5b") as server:
        lines = ["/model", "/profile nope", "/profile default", f"/transcript {transcript}", "q"]
        session, out = make_session(server, ScriptedReader(lines), tmp_path)
        await session.run()
    text = out.getvalue()
    assert "model: qwen2.5-coder-1.5b (profile chosen by model id)" in text
    assert "error: unknown profile 'nope'" in text
    assert "profile: default" in text
    assert "top_k" not in server.requests[0]  # the qwen profile's top_k is gone
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert entries[0]["type"] == "request"


async def test_save_without_path_writes_into_the_save_dir(tmp_path: Path) -> None:
    with FakeOpenAIServer([FakeReply("hi")]) as server:
        session, _ = make_session(server, ScriptedReader(["q", "/save"]), tmp_path)
        await session.run()
    (saved,) = (tmp_path / "chats").glob("chat-*.json")
    assert json.loads(saved.read_text())["messages"][1]["content"] == "hi"


async def test_server_down_is_one_line_and_keeps_the_question(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    out = io.StringIO()
    options = SessionOptions(url, "ask", None, False, tmp_path)
    session = ChatSession(
        options,
        ChatSettings(),
        ToolRegistry(),
        ScriptedReader(["hello?"]),
        Renderer(Console(file=out, width=300)),
        _agent_factory(AgentConfig(base_url=url, max_retries=0)),
    )
    assert await session.run() == 0
    lines = [line for line in out.getvalue().splitlines() if line]
    assert lines[0].startswith("error: cannot reach the model server")
    assert "agentloop doctor" in lines[0]
    assert "Traceback" not in out.getvalue()
    assert session.messages == [{"role": "user", "content": "hello?"}]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("/set temperature hot", "error: temperature takes a number, not 'hot'"),
        ("/set top_k 2.5", "error: top_k takes a whole number, not 2.5"),
        ("/think maybe", "error: usage: /think on|off"),
        ("/load", "error: usage: /load PATH"),
        ("/load /nonexistent.json", "error: no such file: /nonexistent.json"),
        ("/frobnicate", "error: unknown command /frobnicate; /help lists them"),
    ],
)
async def test_bad_commands_never_lose_the_conversation(
    tmp_path: Path, line: str, error: str
) -> None:
    with FakeOpenAIServer([FakeReply("kept")]) as server:
        session, out = make_session(server, ScriptedReader(["q", line, "q2"]), tmp_path)
        await session.run()
    assert error in out.getvalue()
    assert [m["content"] for m in session.messages] == ["q", "kept", "q2", "kept"]
    assert "temperature" not in server.requests[-1]


OVERFLOW = {
    "error": {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 5000,
        "n_ctx": 4096,
    }
}


async def test_context_overflow_gets_its_advice_and_the_next_question_works(
    tmp_path: Path,
) -> None:
    replies = [FakeReply(status=400, error_body=OVERFLOW), FakeReply("fine")]
    with FakeOpenAIServer(replies) as server:
        session, out = make_session(server, ScriptedReader(["huge", "small"]), tmp_path)
        assert await session.run() == 0
    text = out.getvalue()
    advice = next(line for line in text.splitlines() if line.startswith("error:"))
    assert "no longer fits the model's context" in advice and "/reset" in advice
    assert "--ctx-size" in advice
    assert "fine" in text, "the chat goes on after an overflow"
    assert [m["content"] for m in session.messages if m["role"] == "user"] == ["huge", "small"]


def test_every_failure_kind_has_its_own_advice() -> None:
    from agentloop.chat.errors import describe_error
    from agentloop.errors import (
        BackendHTTPError,
        BackendUnavailable,
        ConfigError,
        ContextOverflow,
        OutputInvalid,
    )

    lines = {
        "unavailable": describe_error(BackendUnavailable("connection refused"), "http://x/v1"),
        "overflow": describe_error(ContextOverflow("too long", status=400, hint="-c 8192")),
        "http": describe_error(BackendHTTPError("answered 500", status=500, hint="see log")),
        "output": describe_error(OutputInvalid("did not validate", hint="simplify it")),
        "config": describe_error(ConfigError("bad profile")),
    }
    assert "llama-server" in lines["unavailable"] and "doctor" in lines["unavailable"]
    assert "/reset" in lines["overflow"] and "-c 8192" in lines["overflow"]
    assert lines["http"].startswith("model server error") and "see log" in lines["http"]
    assert lines["output"] == "did not validate — simplify it"
    assert lines["config"] == "bad profile"
    assert all("\n" not in line for line in lines.values()), "one line each"
