"""The warm Python worker that runs inside the sandbox (``python3 -I -c <this source>``).

Standard library only, and only modules that load fast (no ``json``, ``re``, ``ast`` or
``traceback`` at start-up): a cold call must stay close to a bare interpreter start.

Protocol, over the worker's original stdin and stdout (fds 0 and 1 are then pointed at
/dev/null and at per-call memory files that capture the code's own output):

- request: ``<n> <nonce>\\n`` followed by n bytes of UTF-8 source code;
- reply: ``R <nonce> <a> <b> <c> <d>\\n`` followed by stdout (a bytes), stderr (b), the
  repr of a final expression (c) and a formatted exception (d); -1 means "none".

The nonce is fresh for every call, so a frame that code of an earlier call left in the
pipe is rejected by the host. It does not protect a call from code of an earlier call of
the same run that altered this interpreter: that code runs in this very process.
"""

from __future__ import annotations

import _ast
import builtins
import os
import sys

_ONLY_AST = 0x400  # ast.PyCF_ONLY_AST


def _bounded(fd: int, limit: int) -> bytes:
    size = os.fstat(fd).st_size
    if size <= limit:
        return os.pread(fd, size, 0)
    half = limit // 2
    marker = b"\n[... %d bytes omitted ...]\n" % (size - limit)
    return os.pread(fd, half, 0) + marker + os.pread(fd, limit - half, size - (limit - half))


def _execute(source: str, filename: str, namespace: dict[str, object]) -> object:
    tree = compile(source, filename, "exec", _ONLY_AST, dont_inherit=True)
    last = None
    if tree.body and isinstance(tree.body[-1], _ast.Expr):
        last = _ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec", dont_inherit=True), namespace)
    if last is None:
        return None
    return eval(compile(last, filename, "eval", dont_inherit=True), namespace)


def _format_error(exc: BaseException, sources: dict[str, str]) -> str:
    import linecache
    import traceback

    for name, text in sources.items():
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename not in sources:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _run_call(
    source: str, filename: str, state: dict[str, object], limit: int
) -> list[bytes | None]:
    namespace: dict[str, object] = state["namespace"]  # type: ignore[assignment]
    sources: dict[str, str] = state["sources"]  # type: ignore[assignment]
    sources[filename] = source
    captured = [os.memfd_create("stdout"), os.memfd_create("stderr")]
    os.dup2(captured[0], 1)
    os.dup2(captured[1], 2)
    value: bytes | None = None
    error: bytes | None = None
    try:
        result = _execute(source, filename, namespace)
        if result is not None:
            namespace["_"] = result
            value = repr(result)[:limit].encode("utf-8", "backslashreplace")
    except BaseException as exc:
        error = _format_error(exc, sources)[-limit:].encode("utf-8", "backslashreplace")
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()  # type: ignore[union-attr]
        except BaseException:  # a stream the code closed or replaced
            continue
    sys.stdout, sys.stderr = state["stdout"], state["stderr"]
    out = [_bounded(captured[0], limit), _bounded(captured[1], limit), value, error]
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    for fd in (*captured, null):
        os.close(fd)
    return out


def _reply(fd: int, nonce: str, parts: list[bytes | None]) -> None:
    sizes = " ".join(str(-1 if p is None else len(p)) for p in parts)
    header = f"R {nonce} {sizes}\n"
    data = header.encode() + b"".join(p for p in parts if p is not None)
    while data:
        data = data[os.write(fd, data) :]


def main() -> None:
    """Serve requests until stdin closes."""
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 65536
    requests = open(os.dup(0), "rb")  # noqa: SIM115 - lives as long as the worker
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stdout, sys.stderr = stdout, stderr
    namespace: dict[str, object] = {"__name__": "__main__", "__builtins__": builtins}
    state: dict[str, object] = {
        "namespace": namespace,
        "sources": {},
        "stdout": stdout,
        "stderr": stderr,
    }
    count = 0
    while header := requests.readline():
        size, nonce = header.split()
        source = requests.read(int(size)).decode("utf-8", "replace")
        count += 1
        _reply(replies, nonce.decode("ascii"), _run_call(source, f"<call {count}>", state, limit))


if __name__ == "__main__":
    main()
