"""The real `agentloop chat` in a pseudo-terminal against a local fake server.

Each test asserts on what the screen shows and on what the server was sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from agentloop.testing import FakeOpenAIServer, FakeReply
from tests.chat.conftest import PROMPT, Terminal, chat_env
from tests.chat.slow_server import FAST_ANSWER, SlowStreamServer

Spawn = Callable[..., Terminal]


def test_tool_call_round_trip_shows_call_result_and_footer(spawn_chat: Spawn) -> None:
    script = [
        FakeReply(tool_calls=[("add_number", {"a": 2, "b": 3})]),
        FakeReply("The sum is 5."),
    ]
    with FakeOpenAIServer(script, n_ctx=4096) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("what is 2 + 3?")
        term.expect(r"⚙ add_number\(a=2, b=3\)")
        term.expect(r"→ 5 ")
        term.expect(r"The sum is 5\.")
        term.expect(r"─ \d+ in · \d+ out · .* context [\d,]+/4,096 \(\d+%\)")
        assert term.quit() == 0
    tool_message = server.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "5"


def test_call_recovered_from_text_is_marked(spawn_chat: Spawn) -> None:
    fenced = '```json\n{"name": "add_number", "arguments": {"a": 1, "b": 1}}\n```'
    with FakeOpenAIServer([FakeReply(fenced), FakeReply("Two.")]) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("1+1?")
        term.expect(r"⚙ add_number\(a=1, b=1\)\s+\[recovered from text\]")
        term.expect(r"Two\.")
        assert term.quit() == 0


def test_approval_answered_no_tells_the_model(spawn_chat: Spawn) -> None:
    script = [
        FakeReply(tool_calls=[("python", {"code": "import shutil\nshutil.rmtree('/')"})]),
        FakeReply("Understood, I will not run it."),
    ]
    with FakeOpenAIServer(script) as server:
        term = spawn_chat(server.base_url, "--approve", "ask")
        term.expect(PROMPT)
        term.ask("clean up")
        term.expect(r"⚙ python\(")
        term.expect(r"shutil\.rmtree\('/'\)")  # the full code is shown before the question
        term.expect(r"run python\? \[y\]es / \[n\]o / \[a\]lways")
        term.ask("n")
        term.expect(r"✗ python denied: The user declined")
        term.expect(r"Understood, I will not run it\.")
        assert term.quit() == 0
    refusal = server.requests[1]["messages"][-1]
    assert refusal["role"] == "tool"
    assert "declined" in refusal["content"]
    assert "ran:" not in refusal["content"]


def test_approval_always_stops_asking_for_that_tool(spawn_chat: Spawn) -> None:
    script = [
        FakeReply(tool_calls=[("python", {"code": "1"})]),
        FakeReply(tool_calls=[("python", {"code": "2"})]),
        FakeReply("done"),
    ]
    with FakeOpenAIServer(script) as server:
        term = spawn_chat(server.base_url, "--approve", "ask")
        term.expect(PROMPT)
        term.ask("go")
        term.expect(r"run python\?")
        term.ask("a")
        term.expect(r"→ ran: 1")
        mark = term.mark
        term.expect(r"→ ran: 2")
        term.expect(r"done")
        assert "run python?" not in term.since(mark)
        assert term.quit() == 0
    assert server.requests[2]["messages"][-1]["content"] == "ran: 2"


def test_ctrl_c_mid_stream_keeps_conversation_then_answers_again(spawn_chat: Spawn) -> None:
    with SlowStreamServer(pause=0.15) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("count slowly")
        term.expect(r"word3 ")
        term.child.sendintr()
        term.expect(r"stopped: cancelled")
        term.expect(r"cancelled; the conversation so far is kept")
        term.expect(PROMPT)
        term.ask("capital of France?")
        term.expect(FAST_ANSWER.replace(".", r"\."))
        term.expect(PROMPT)
        assert "word199" not in term.screen
        term.child.sendeof()
        assert term.wait_exit() == 0
    second = [m.get("content") for m in server.requests[1]["messages"]]
    assert second[0] == "count slowly"
    assert second[-1] == "capital of France?"


def test_ctrl_c_during_a_tool_cancels_the_turn(spawn_chat: Spawn) -> None:
    script = [FakeReply(tool_calls=[("slow", {"seconds": 60})]), FakeReply("fine")]
    with FakeOpenAIServer(script) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("wait a minute")
        term.expect(r"⚙ slow\(seconds=60\)")
        term.child.sendintr()
        term.expect(r"✗ cancelled: slow did not finish")
        term.expect(r"stopped: cancelled")
        term.expect(PROMPT)
        term.ask("still there?")
        term.expect(r"fine")
        assert term.quit() == 0
    last = server.requests[-1]["messages"]
    assert last[-1] == {"role": "user", "content": "still there?"}
    assert any(m["role"] == "tool" for m in last)  # the cancelled call was answered


def test_save_then_load_in_a_new_chat_continues(spawn_chat: Spawn, tmp_path: Path) -> None:
    saved = tmp_path / "talk.json"
    with FakeOpenAIServer([FakeReply("Hello Ada."), FakeReply("Your name is Ada.")]) as server:
        term = spawn_chat(server.base_url, "--system", "Be brief.")
        term.expect(PROMPT)
        term.ask("my name is Ada")
        term.expect(r"Hello Ada\.")
        term.expect(PROMPT)
        term.ask("/set temperature 0.3")
        term.expect(r"temperature = 0\.3")
        term.ask(f"/save {saved}")
        term.expect(r"saved 3 messages to .*talk\.json")
        term.ask("/exit")
        assert term.wait_exit() == 0

        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask(f"/load {saved}")
        term.expect(r"loaded 3 messages")
        term.expect(r"model: Hello Ada\.")
        term.ask("what is my name?")
        term.expect(r"Your name is Ada\.")
        assert term.quit() == 0
    data = json.loads(saved.read_text())
    sent = server.requests[1]
    assert sent["messages"][:3] == data["messages"]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["messages"][3] == {"role": "user", "content": "what is my name?"}
    assert sent["temperature"] == 0.3  # the loaded settings apply


def test_bad_commands_and_server_errors_keep_the_conversation(spawn_chat: Spawn) -> None:
    script = [
        FakeReply("first answer"),
        FakeReply(status=500, error_body={"error": {"message": "boom", "code": 500}}),
        FakeReply("third answer"),
    ]
    with FakeOpenAIServer(script) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("one")
        term.expect("first answer")
        term.ask("/nonsense")
        term.expect(r"error: unknown command /nonsense; /help lists them")
        term.ask("/load /does/not/exist.json")
        term.expect(r"error: no such file: /does/not/exist\.json")
        term.ask("/set temperature")  # removes an override that is not there: fine
        term.expect(r"temperature = profile default")
        term.ask("/set nonsense 1")
        term.expect(r"error: unknown sampling field 'nonsense'")
        term.ask("two")
        term.expect(r"third answer", timeout=60)
        assert term.quit() == 0
    assert "Traceback" not in term.screen
    contents = [m.get("content") for m in server.requests[-1]["messages"]]
    assert contents[:2] == ["one", "first answer"]


def test_piped_stdin_prints_plain_answers(tmp_path: Path) -> None:
    with FakeOpenAIServer([FakeReply("4"), FakeReply("6")]) as server:
        done = subprocess.run(
            [sys.executable, "-m", "agentloop", "chat", "--base-url", server.base_url],
            input="2+2?\n\n3+3?\n",
            capture_output=True,
            text=True,
            env=chat_env(tmp_path),
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "4\n6\n"
    assert "\x1b[" not in done.stdout
    assert done.stderr.count("─ ") == 2  # one footer per question, on stderr
    contents = [m.get("content") for m in server.requests[1]["messages"]]
    assert contents == ["2+2?", "4", "3+3?"]


def test_multiline_paste_and_escape_enter(spawn_chat: Spawn) -> None:
    with FakeOpenAIServer([FakeReply("got it")]) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.child.send("\x1b[200~first line\nsecond line\x1b[201~\r")  # a bracketed paste
        term.expect("got it")
        term.expect(PROMPT)
        term.child.send("third\x1b\rfourth\r")  # Esc then Enter inserts a newline
        term.expect("got it")
        assert term.quit() == 0
    assert server.requests[0]["messages"][-1]["content"] == "first line\nsecond line"
    assert server.requests[1]["messages"][-1]["content"] == "third\nfourth"


def test_history_persists_and_slash_commands_complete(spawn_chat: Spawn) -> None:
    with FakeOpenAIServer([FakeReply("one")]) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("a question worth repeating")
        term.expect("one")
        assert term.quit() == 0

        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.child.send("\x1b[A\r")  # Up: the last session's question comes back
        term.expect("one")
        term.expect(PROMPT)
        term.child.send("/he\t\r")  # Tab completes /help
        term.expect(r"/retry\s+ask the last question again")
        assert term.quit() == 0
    assert [r["messages"][-1]["content"] for r in server.requests] == [
        "a question worth repeating",
        "a question worth repeating",
    ]


def _piped_chat(tmp_path: Path, stdin: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentloop", "chat", *options],
        input=stdin,
        capture_output=True,
        text=True,
        env=chat_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )


def test_load_option_continues_a_saved_conversation(tmp_path: Path) -> None:
    saved = tmp_path / "old.json"
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "remember 7"},
        {"role": "assistant", "content": "ok"},
    ]
    saved.write_text(
        json.dumps({"format": "agentloop-chat", "version": 1, "settings": {}, "messages": messages})
    )
    with FakeOpenAIServer([FakeReply("7")]) as server:
        done = _piped_chat(
            tmp_path, "what number?\n", "--base-url", server.base_url, "--load", str(saved)
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "7\n"
    assert server.requests[0]["messages"] == [
        *messages,
        {"role": "user", "content": "what number?"},
    ]


def test_start_up_errors_are_one_line(tmp_path: Path) -> None:
    done = _piped_chat(
        tmp_path, "hi\n", "--base-url", "http://127.0.0.1:9/v1", "--tools", "no_such_module:TOOLS"
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: cannot import no_such_module for --tools: No module named 'no_such_module'"
    )
