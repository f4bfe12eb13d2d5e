"""Spans reach an OTLP/HTTP receiver on loopback, configured the standard OTEL_* way."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentloop import arun_agent
from agentloop.cli import main
from agentloop.errors import ConfigError
from agentloop.telemetry import TelemetryConfig
from agentloop.telemetry.spans import RunTracer, TraceSettings
from agentloop.telemetry.tracing import Tracing
from agentloop.testing import FakeOpenAIServer, ScriptedBackend, reply
from tests.eval.helpers import fake_server_step, task_line, write_tasks


@dataclass
class Receiver:
    """What a loopback OTLP/HTTP collector received."""

    url: str
    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) of every exported span."""
        found = []
        for _, _, body in self.posts:
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope.spans)
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    posts: list[tuple[str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", posts)
    finally:
        server.shutdown()
        server.server_close()


def _attributes(span: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in span.attributes:
        kind = item.value.WhichOneof("value")
        values[item.key] = getattr(item.value, kind) if kind else None
    return values


async def test_run_spans_are_exported_over_otlp_http(receiver: Receiver) -> None:
    environ = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s%3Dcret",
        "OTEL_SERVICE_NAME": "agentloop-test",
    }
    config = TelemetryConfig.from_env(environ)
    assert config is not None and config.headers == {"x-api-key": "s=cret"}
    tracing = Tracing(config)
    backend = ScriptedBackend([reply("", ("lookup", {"q": "x"})), reply("done")])
    await arun_agent(
        "hi", tools=[], backend=backend, on_event=RunTracer(tracing.tracer, TraceSettings())
    )
    tracing.shutdown()
    path, headers, _ = receiver.posts[0]
    assert path == "/v1/traces"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-api-key"] == "s=cret"
    exported = receiver.spans()
    names = sorted(span.name for _, span in exported)
    assert names == ["chat", "chat", "execute_tool lookup", "invoke_agent agentloop"]
    assert all(resource["service.name"] == "agentloop-test" for resource, _ in exported)
    tool_span = next(span for _, span in exported if span.name.startswith("execute_tool"))
    assert _attributes(tool_span)["error.type"] == "unknown_tool"


def test_nothing_is_traced_unless_configured() -> None:
    assert TelemetryConfig.from_env({}) is None
    assert TelemetryConfig.from_env({"OTEL_TRACES_EXPORTER": "none"}, flag=True) is None
    assert TelemetryConfig.from_env({"OTEL_SDK_DISABLED": "true"}, flag=True) is None
    on = TelemetryConfig.from_env({}, flag=True)
    assert on is not None and on.endpoint == "http://localhost:4318/v1/traces"
    assert not on.capture_content
    specific = TelemetryConfig.from_env(
        {
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:1/custom",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        }
    )
    assert specific is not None and specific.exporter == "console"
    assert specific.endpoint == "http://h:1/custom" and specific.capture_content
    with pytest.raises(ConfigError, match="http/protobuf"):
        TelemetryConfig.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, flag=True)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_eval_otel_flag_exports_one_span_per_trial(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    """In one process or in worker processes (each tracing its own trials), every trial is
    a span with its verdict, and each run's span is nested under its trial's."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    tools = ["tests.eval.helpers:add_number"]
    lines = [
        task_line("ok", "add 2 1", [{"type": "answer_number", "value": 3}], tools=tools),
        task_line("bad", "add 1 1", [{"type": "answer_number", "value": 3}], tools=tools),
    ]
    suite = write_tasks(tmp_path / "suite.jsonl", lines)
    with FakeOpenAIServer([fake_server_step]) as fake:
        args = ["eval", str(suite), "--base-url", fake.url, "--out", str(tmp_path / "run")]
        code = main([*args, "--no-progress", "--trials", "2", "--otel", "--workers", workers])
    assert code == 0
    spans = [span for _, span in receiver.spans()]
    trials = [span for span in spans if span.name.startswith("eval_trial ")]
    verdicts = sorted(
        (str(a["agentloop.eval.task_id"]), a["agentloop.eval.trial"], a["agentloop.eval.passed"])
        for a in map(_attributes, trials)
    )
    assert verdicts == [("bad", 0, False), ("bad", 1, False), ("ok", 0, True), ("ok", 1, True)]
    trial_ids = {span.span_id for span in trials}
    runs = [span for span in spans if span.name.startswith("invoke_agent")]
    assert len(runs) == 4 and all(span.parent_span_id in trial_ids for span in runs)
