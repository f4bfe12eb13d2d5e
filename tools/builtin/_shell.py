"""A small, strict parser of POSIX shell command lines, for the terminal guard.

It understands words, quoting, pipelines, ``&&``/``||``/``;`` lists and redirections,
and reports everything the guard cannot judge statically (expansions, substitutions,
subshells, here-documents, background jobs) instead of guessing. Every parsed word keeps
which of its characters were unquoted wildcards, so the command can be re-rendered with
all else quoted: the shell then runs exactly the words that were checked.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from sandbox import has_unsafe_chars

# Longest first, so that "&&" is not read as two "&".
_OPERATORS: tuple[str, ...] = ("&&", "||", ";;", "<<<", "<<", ">>", "<&", ">&", "<>", ">|")
_OPERATORS += ("&>", "|&", ";", "|", "&", "<", ">", "(", ")")
_GLOB = frozenset("*?")
_SPECIAL_IN_DOUBLE = frozenset('$`"\\')


class ShellSyntaxError(ValueError):
    """The command uses syntax the guard refuses or cannot parse; the text says why."""


@dataclass(frozen=True)
class Word:
    """One shell word: its literal text and which characters are unquoted wildcards."""

    text: str
    globs: frozenset[int] = frozenset()

    @property
    def has_glob(self) -> bool:
        """True when the shell would expand wildcards in this word."""
        return bool(self.globs)

    def render(self) -> str:
        """Shell source for this word: wildcards left active, everything else quoted."""
        out: list[str] = []
        run = ""
        for index, char in enumerate(self.text):
            if index in self.globs:
                if run:
                    out.append(shlex.quote(run))
                    run = ""
                out.append(char)
            else:
                run += char
        if run or not out:
            out.append(shlex.quote(run))
        return "".join(out)


@dataclass(frozen=True)
class Redirect:
    """A redirection such as ``2>&1`` or ``> out.txt``."""

    fd: str
    op: str
    target: Word

    def render(self) -> str:
        """Shell source for the redirection."""
        return f"{self.fd}{self.op}{self.target.render()}"


@dataclass
class Command:
    """A simple command: words and redirections."""

    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)

    def render(self) -> str:
        """Shell source for the command."""
        return " ".join([w.render() for w in self.words] + [r.render() for r in self.redirects])


@dataclass
class Pipeline:
    """Commands joined by ``|``, and the list operator that follows (``&&``, ``||``, ``;``)."""

    commands: list[Command]
    then: str = ""


def parse(source: str) -> list[Pipeline]:
    """Parse a command line into pipelines.

    Raises:
        ShellSyntaxError: Unsupported or unjudgeable syntax, with a reason.
    """
    tokens = _Lexer(source).tokens()
    pipelines: list[Pipeline] = []
    current = Pipeline([Command()])
    pending_redirect: tuple[str, str] | None = None
    for token in tokens:
        if isinstance(token, Word):
            if pending_redirect is not None:
                current.commands[-1].redirects.append(Redirect(*pending_redirect, token))
                pending_redirect = None
            else:
                current.commands[-1].words.append(token)
            continue
        fd, op = token
        if pending_redirect is not None:
            raise ShellSyntaxError(f"a file name is missing after {pending_redirect[1]}")
        if op in ("<", ">", ">>", ">|", "<&", ">&"):
            pending_redirect = (fd, op)
        elif op == "|":
            _need_words(current.commands[-1], op)
            current.commands.append(Command())
        else:  # ; && ||
            _need_words(current.commands[-1], op)
            current.then = op
            pipelines.append(current)
            current = Pipeline([Command()])
    if pending_redirect is not None:
        raise ShellSyntaxError(f"a file name is missing after {pending_redirect[1]}")
    if current.commands[-1].words or current.commands[-1].redirects:
        pipelines.append(current)
    elif len(current.commands) > 1 or (pipelines and pipelines[-1].then in ("&&", "||")):
        raise ShellSyntaxError("the command ends with an operator")
    if not pipelines:
        raise ShellSyntaxError("the command is empty")
    return pipelines


def render(pipelines: list[Pipeline]) -> str:
    """Shell source for parsed pipelines."""
    parts = []
    for pipeline in pipelines:
        text = " | ".join(c.render() for c in pipeline.commands)
        parts.append(f"{text} {pipeline.then}" if pipeline.then else text)
    return " ".join(parts).rstrip(";").rstrip()


def _need_words(command: Command, op: str) -> None:
    if not command.words and not command.redirects:
        raise ShellSyntaxError(f"a command is missing before {op}")


_Token = Word | tuple[str, str]  # a word, or (fd, operator)

_REFUSED_OPERATORS = {
    "&": "background jobs (&) are not allowed; commands must finish within the call",
    "&>": "`&>` is not portable; write `> file 2>&1`",
    "|&": "`|&` is not portable; write `2>&1 |`",
    "(": "subshells and grouping with ( ) are not allowed",
    ")": "subshells and grouping with ( ) are not allowed",
    "<<": "here-documents (<<) are not supported; write files with the python tool",
    "<<<": "here-strings (<<<) are not supported",
    ";;": "`;;` is not allowed outside case statements",
    "<>": "read-write redirection (<>) is not allowed",
}


class _Lexer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.out: list[_Token] = []
        self.text = ""
        self.globs: set[int] = set()
        self.in_word = False

    def tokens(self) -> list[_Token]:
        if has_unsafe_chars(self.source):
            raise ShellSyntaxError(
                "the command contains control, invisible or invalid characters "
                "(write it in plain text)"
            )
        while self.pos < len(self.source):
            self._step(self.source[self.pos])
        self._end_word()
        return self.out

    def _step(self, char: str) -> None:
        if char in " \t":
            self._end_word()
            self.pos += 1
        elif char == "\n":
            self._end_word()
            self.out.append(("", ";"))
            self.pos += 1
        elif char == "#" and not self.in_word:
            end = self.source.find("\n", self.pos)
            self.pos = len(self.source) if end < 0 else end
        elif char == "'":
            self._single_quoted()
        elif char == '"':
            self._double_quoted()
        elif char == "\\":
            self._escaped()
        elif char in "$`":
            raise ShellSyntaxError(_expansion_reason(self.source, self.pos))
        elif char == "~" and not self.in_word:
            raise ShellSyntaxError(
                "`~` (home directory expansion) is not allowed; use paths in the workspace"
            )
        elif char in "&|;<>()":
            self._operator()
        else:
            if char in _GLOB:
                self.globs.add(len(self.text))
            self.text += char
            self.in_word = True
            self.pos += 1

    def _single_quoted(self) -> None:
        end = self.source.find("'", self.pos + 1)
        if end < 0:
            raise ShellSyntaxError("a single quote is not closed")
        self.text += self.source[self.pos + 1 : end]
        self.in_word = True
        self.pos = end + 1

    def _double_quoted(self) -> None:
        self.pos += 1
        self.in_word = True
        while self.pos < len(self.source):
            char = self.source[self.pos]
            if char == '"':
                self.pos += 1
                return
            if char in "$`":
                raise ShellSyntaxError(_expansion_reason(self.source, self.pos))
            if char == "\\" and self.pos + 1 < len(self.source):
                following = self.source[self.pos + 1]
                if following in _SPECIAL_IN_DOUBLE:
                    self.text += following
                    self.pos += 2
                    continue
                if following == "\n":
                    self.pos += 2
                    continue
            self.text += char
            self.pos += 1
        raise ShellSyntaxError("a double quote is not closed")

    def _escaped(self) -> None:
        if self.pos + 1 >= len(self.source):
            raise ShellSyntaxError("the command ends with a backslash")
        following = self.source[self.pos + 1]
        if following != "\n":  # backslash-newline is a line continuation
            self.text += following
            self.in_word = True
        self.pos += 2

    def _operator(self) -> None:
        op = next(o for o in _OPERATORS if self.source.startswith(o, self.pos))
        fd = ""
        if op[0] in "<>" and self.in_word and self.text.isdigit() and not self.globs:
            fd = self.text
            self.text, self.in_word = "", False
        self._end_word()
        if op in _REFUSED_OPERATORS:
            raise ShellSyntaxError(_REFUSED_OPERATORS[op])
        self.out.append((fd, op))
        self.pos += len(op)

    def _end_word(self) -> None:
        if self.in_word:
            self.out.append(Word(self.text, frozenset(self.globs)))
        self.text, self.globs, self.in_word = "", set(), False


def _expansion_reason(source: str, pos: int) -> str:
    rest = source[pos : pos + 2]
    if rest.startswith("`") or rest == "$(":
        return "command substitution ($(...) or backticks) cannot be checked before it runs"
    return "variables and $-expansions cannot be checked before they run; write values literally"
