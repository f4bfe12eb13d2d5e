"""`agentloop doctor --mcp`: the server starts, its tools are listed, and the model server
is asked whether it accepts their schemas (and which one it refuses)."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from agentloop.cli import main
from agentloop.testing import FakeOpenAIServer, FakeReply

from .conftest import demo_argv

CALL = FakeReply(tool_calls=[("add_number", {"a": 2, "b": 3}), ("add_number", {"a": 4, "b": 5})])
REFUSAL = (
    "Unable to generate parser for this template. Automatic parser generation failed: "
    "JSON schema error at #/properties/booking: cannot resolve $ref #/$defs/Booking"
)


def _refuse_mcp_schemas(body: dict[str, Any]) -> FakeReply:
    names = {t["function"]["name"] for t in body.get("tools", [])}
    if "book" in names:
        return FakeReply(status=400, error_body={"error": {"code": 400, "message": REFUSAL}})
    return CALL


def test_doctor_checks_an_mcp_server(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer([CALL]) as server:
        code = main(["doctor", "--base-url", server.base_url, "--mcp", shlex.join(demo_argv())])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[ok] MCP demo_server: started in" in out and "add, book" in out
    assert "[ok] MCP demo_server schemas: the server accepts all" in out


def test_doctor_names_the_tool_whose_schema_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer([_refuse_mcp_schemas]) as server:
        code = main(["doctor", "--base-url", server.base_url, "--mcp", shlex.join(demo_argv())])
    out = capsys.readouterr().out
    assert code == 1
    assert "[fail] MCP demo_server schemas: the server rejects the schema of book" in out


def test_doctor_reports_a_server_that_does_not_start(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer([CALL]) as server:
        code = main(["doctor", "--base-url", server.base_url, "--mcp", "/nonexistent/mcp"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[fail] MCP mcp: " in out and "could not be started" in out
