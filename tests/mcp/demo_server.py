"""A real MCP server written with the SDK's own server API, for the client tests.

python demo_server.py                      # stdio
python demo_server.py --http PORT          # Streamable HTTP on 127.0.0.1:PORT/mcp
python demo_server.py --child-pid-file F   # also starts a grandchild, its PID in F
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import subprocess
import sys
import time

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

server = MCPServer("demo")

# A 1x1 PNG.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class Guest(BaseModel):
    name: str
    email: str = Field(json_schema_extra={"format": "email"})


class Booking(BaseModel):
    guest: Guest
    day: datetime.date
    nights: int | None = None
    code: str = Field(pattern=r"^[A-Z]{3}$", max_length=100_000)


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def book(booking: Booking) -> str:
    """Book a room ($ref, anyOf, format and pattern in the schema)."""
    nights = booking.nights or 1
    return f"booked {booking.guest.name} on {booking.day.isoformat()} for {nights} night(s)"


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds:g}"


@server.tool()
def hang() -> str:
    """Block the whole server (it stops answering anything)."""
    time.sleep(3600)
    return "unreachable"


@server.tool()
def crash() -> str:
    """Kill the server process in the middle of the call."""
    os._exit(3)


@server.tool()
def whoami() -> int:
    """The server's PID."""
    return os.getpid()


@server.tool()
def picture() -> Image:
    """A tiny PNG image."""
    return Image(data=_PNG, format="png")


@server.tool()
def weather(city: str) -> dict[str, object]:
    """Structured content only."""
    return {"city": city, "celsius": 21}


@server.tool()
def fail() -> str:
    """A tool that reports an error."""
    raise ToolError("the tool failed on purpose")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int)
    parser.add_argument("--child-pid-file")
    args = parser.parse_args()
    if args.child_pid_file:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(args.child_pid_file, "w") as handle:
            handle.write(str(child.pid))
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()


if __name__ == "__main__":
    main()
