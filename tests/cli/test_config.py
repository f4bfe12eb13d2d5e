"""The config file: lowest layer under the environment and the flags; `agentloop config`
says where each setting came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.testing import FakeOpenAIServer, FakeReply


def _write(config_dir: Path, text: str) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.toml"
    path.write_text(text)
    return path


def test_run_reads_the_server_from_the_config_file(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer([FakeReply("4")], model="m") as server:
        _write(clean_env, f'base_url = "{server.base_url}"\nmodel = "from-file"\n')
        assert main(["run", "--tools", "none", "2+2?"]) == 0
    assert capsys.readouterr().out == "4\n"
    assert server.requests[0]["model"] == "from-file"


def test_environment_beats_the_file_and_flags_beat_both(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer([FakeReply("a"), FakeReply("b")], model="m") as server:
        _write(clean_env, f'base_url = "{server.base_url}"\nmodel = "from-file"\n')
        monkeypatch.setenv("AGENTLOOP_MODEL", "from-env")
        assert main(["run", "--tools", "none", "q"]) == 0
        assert main(["run", "--tools", "none", "--model", "from-flag", "q"]) == 0
    assert [r["model"] for r in server.requests] == ["from-env", "from-flag"]


def test_config_shows_each_value_and_its_source(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(clean_env, 'model = "from-file"\nmax_turns = 30\napi_key = "sk-secret-123"\n')
    monkeypatch.setenv("AGENTLOOP_MAX_TURNS", "40")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: " ".join(line.split()) for line in out.splitlines()[1:-1]}
    assert out.splitlines()[0] == f"config file: {path}"
    assert lines["model"].startswith("model from-file [config file]")
    assert lines["max_turns"].startswith("max_turns 40 [environment AGENTLOOP_MAX_TURNS]")
    assert lines["base_url"].startswith("base_url the embedded llama-server [default]")
    assert "sk-secret-123" not in out and "sk-… [config file]" in lines["api_key"]


def test_config_without_a_file_shows_an_example(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("config.toml (none yet)")
    assert 'base_url = "http://127.0.0.1:8001/v1"' in out


def test_config_path_follows_agentloop_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTLOOP_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert main(["config", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "elsewhere.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('modle = "x"\n', "unknown setting 'modle'"),
        ("model = \n", "not valid TOML"),
        ("[server]\nbase_url = 'x'\n", "unknown setting 'server'"),
    ],
)
def test_a_broken_config_file_is_one_line_and_exit_2(
    clean_env: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(clean_env, text)
    assert main(["run", "hi"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"agentloop: {path}: {message}")
    assert len(err.splitlines()) == 1
