"""How an MCP server is described: a frozen config, built from a `--mcp` spec or from the
`mcpServers` JSON that Claude Desktop, Cursor and Qwen-Agent use."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools._types import Approval

# Local servers are often started through uvx/npx, which may resolve packages first.
DEFAULT_STARTUP_TIMEOUT = 60.0
# Local tools (a search, a build, a model behind the server) can be slow: minutes, not 5 s.
DEFAULT_CALL_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class MCPServerConfig:
    """One MCP server: a command to run over stdio, or a Streamable HTTP URL.

    Args:
        name: Short name, used as the prefix of tool names that clash and in messages.
        command: Executable of a stdio server.
        args: Its arguments.
        env: Extra environment variables for the server process.
        cwd: Working directory of the server process.
        url: Endpoint of a Streamable HTTP server (instead of `command`).
        headers: HTTP headers (e.g. Authorization) for `url`.
        startup_timeout: Seconds to start and list tools.
        call_timeout: Seconds one call may take before the server counts as hung.
        allow: Only these tool names (None: all).
        deny: Never these tool names.
        approval: Approval of every tool of this server ("ask" by default).
        prefix: Always prefix tool names with `name_` (otherwise only names that clash).
    """

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] | None = None
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = field(default=())
    approval: Approval = "ask"
    prefix: bool = False

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r}: give a command or a url, not both")

    @property
    def target(self) -> str:
        """The command line or URL, for messages."""
        if self.url is not None:
            return self.url
        return shlex.join([self.command or "", *self.args])

    def wants(self, tool_name: str) -> bool:
        """True when the allow/deny lists let this tool through."""
        if tool_name in self.deny:
            return False
        return self.allow is None or tool_name in self.allow


def config_from_spec(spec: str, **options: Any) -> MCPServerConfig:
    """A server from one `--mcp` value: a URL (http:// or https://) or a command line.

    Args:
        spec: E.g. "uvx mcp-server-time" or "http://127.0.0.1:8000/mcp".
        **options: Other `MCPServerConfig` fields (timeouts, allow, deny, ...).

    Raises:
        ValueError: The spec is empty.
    """
    spec = spec.strip()
    if not spec:
        raise ValueError("--mcp needs a command or a URL")
    if re.match(r"^https?://", spec):
        name = options.pop("name", None) or _name_from_url(spec)
        return MCPServerConfig(name=name, url=spec, **options)
    argv = shlex.split(spec)
    name = options.pop("name", None) or name_from_command(argv)
    return MCPServerConfig(name=name, command=argv[0], args=tuple(argv[1:]), **options)


def configs_from_json(data: Mapping[str, Any], **options: Any) -> list[MCPServerConfig]:
    """Servers from an `mcpServers` document (Claude Desktop / Cursor / Qwen-Agent format).

    Each entry has `command` (+ `args`, `env`, `cwd`) or `url` (+ `headers`); `disabled: true`
    skips it. Our own optional keys: `timeout` (seconds per call), `startup_timeout`,
    `allow`/`deny` (tool names; `alwaysAllow` is read as allow) and `approval`.

    Raises:
        ValueError: The document has no `mcpServers` object or an entry is malformed.
    """
    servers = data.get("mcpServers")
    if not isinstance(servers, Mapping):
        raise ValueError('an MCP config file needs an "mcpServers" object')
    configs = []
    for name, entry in servers.items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"mcpServers.{name} must be an object")
        if entry.get("disabled"):
            continue
        configs.append(_config_from_entry(str(name), entry, options))
    return configs


def _config_from_entry(
    name: str, entry: Mapping[str, Any], options: Mapping[str, Any]
) -> MCPServerConfig:
    fields: dict[str, Any] = dict(options)
    for ours, theirs in (("call_timeout", "timeout"), ("startup_timeout", "startup_timeout")):
        if isinstance(entry.get(theirs), int | float):
            fields[ours] = float(entry[theirs])
    allow = entry.get("allow", entry.get("alwaysAllow"))
    if isinstance(allow, list):
        fields["allow"] = tuple(str(x) for x in allow)
    if isinstance(entry.get("deny"), list):
        fields["deny"] = tuple(str(x) for x in entry["deny"])
    if entry.get("approval") in ("auto", "ask", "deny"):
        fields["approval"] = entry["approval"]
    url = entry.get("url") or entry.get("serverUrl")
    if isinstance(url, str):
        headers = entry.get("headers")
        return MCPServerConfig(name=name, url=url, headers=headers or None, **fields)
    command = entry.get("command")
    if not isinstance(command, str) or not command:
        raise ValueError(f"mcpServers.{name} needs a command or a url")
    args = entry.get("args") or []
    cwd = entry.get("cwd")
    return MCPServerConfig(
        name=name,
        command=command,
        args=tuple(str(a) for a in args),
        env={str(k): str(v) for k, v in (entry.get("env") or {}).items()} or None,
        cwd=str(cwd) if cwd else None,
        **fields,
    )


def name_from_command(argv: list[str]) -> str:
    """A short server name from its command line ("uvx mcp-server-time" -> "time")."""
    words = [a for a in argv if not a.startswith("-")]
    runners = {"uvx", "npx", "uv", "run", "python", "python3", "node", "pipx", "-m", "--from"}
    candidates = [w for w in words if Path(w).name not in runners] or words or ["mcp"]
    return _short(Path(candidates[0]).name)


def _name_from_url(url: str) -> str:
    host = re.sub(r"^https?://", "", url).split("/")[0]
    return _short(host.split(":")[0].split(".")[0] or "mcp")


def _short(text: str) -> str:
    text = re.sub(r"\.(py|js|mjs|ts)$", "", text)
    text = re.sub(r"^(mcp[-_]server[-_]|server[-_])", "", text)
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")[:24] or "mcp"
