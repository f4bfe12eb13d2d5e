"""`CommandPolicy`: which shell commands the terminal tool passes to the sandbox.

The sandbox is the security boundary; this guard exists to give the model clear, early
refusals with a reason, and to refuse what cannot be judged before it runs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from sandbox import sanitize_text
from tools import Approval
from tools.builtin._shell import Command, ShellSyntaxError, Word, parse, render


def _words(text: str) -> list[str]:
    return text.split()


DEFAULT_ALLOWED = frozenset(
    _words(
        """
        ls cat head tail wc grep egrep fgrep find sort uniq cut tr diff cmp du df echo printf
        date pwd mkdir touch cp mv python3 python pytest make git true false test [ basename
        dirname realpath readlink stat file tree seq nl tac rev paste join comm fold column
        tee md5sum sha1sum sha256sum base64 od which uname whoami id sleep expr cd
        npm pnpm yarn tox nox just
        """
    )
)
_DELETE = "deleting files is not allowed"
_PRIVILEGE = "running as another user or with more privileges is not allowed"
_DISK = "raw disk and file-system tools are not allowed"
_PERMISSIONS = "changing permissions or ownership is not allowed"
_NETWORK = "there is no network access in the sandbox"
_PROCESSES = "managing processes or the system is not allowed"
_SHELL = "running another shell or interpreter hides the command from review; run commands directly"
_WRAPPER = "wrapper programs that run other commands cannot be checked; run the command directly"
_INTERPRETER = "this program can run arbitrary code that cannot be checked; use the python tool"
_EDITOR = "interactive programs are not available"


def _reasons(reason: str, names: str) -> dict[str, str]:
    return dict.fromkeys(_words(names), reason)


DEFAULT_REFUSALS: Mapping[str, str] = MappingProxyType(
    {
        **_reasons(_DELETE, "rm rmdir shred unlink truncate"),
        **_reasons(_PRIVILEGE, "sudo su doas pkexec runuser setpriv"),
        **_reasons(_DISK, "dd mkfs fdisk sfdisk parted mount umount losetup mkswap"),
        **_reasons(_PERMISSIONS, "chmod chown chgrp chattr setfacl"),
        **_reasons(_NETWORK, "curl wget nc ncat netcat ssh scp sftp rsync ftp telnet socat"),
        **_reasons(_NETWORK, "ping pip pip3 apt apt-get npx"),
        **_reasons(_PROCESSES, "kill pkill killall shutdown reboot halt poweroff systemctl"),
        **_reasons(_PROCESSES, "service crontab at"),
        **_reasons(_SHELL, "sh bash dash zsh ksh fish csh tcsh busybox eval exec source ."),
        **_reasons(_SHELL, "command builtin"),
        **_reasons(_WRAPPER, "env xargs timeout nohup setsid nice ionice stdbuf time watch"),
        **_reasons(_WRAPPER, "strace ltrace gdb chroot unshare nsenter"),
        **_reasons(_INTERPRETER, "perl ruby node awk gawk mawk sed"),
        **_reasons(_EDITOR, "vi vim nano emacs less more top"),
        "ln": "creating links is not allowed",
        "mkfifo": "creating special files is not allowed",
        "mknod": "creating special files is not allowed",
    }
)  # fmt: skip
_WORKSPACE = PurePosixPath("/workspace")
_PROGRAM_DIRS = ("/bin/", "/usr/bin/", "/usr/local/bin/", "/sbin/", "/usr/sbin/")
_FIND_REFUSED = frozenset(
    ["-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"]
)
_GIT_REFUSED_SUBCOMMANDS = {
    **dict.fromkeys(
        _words("clone fetch pull push ls-remote request-pull send-email daemon instaweb"),
        _NETWORK,
    ),
    **dict.fromkeys(
        ["difftool", "mergetool", "filter-branch", "submodule", "bisect", "credential"],
        "this git command can run other programs",
    ),
}
_GIT_REFUSED_OPTIONS = frozenset(
    [
        *_words("--upload-pack --receive-pack --exec --ext-diff --extcmd --tool --config-env"),
        "--open-files-in-pager",
    ]
)
_GIT_CONFIG_READS = frozenset(["--get", "--get-all", "--get-regexp", "--list", "-l"])
_WRITERS = frozenset(["cp", "mv", "mkdir", "touch", "tee", "cd"])
# Task runners (make, tox, nox, just, npm/pnpm/yarn run) run the project's own scripts,
# which the sandbox contains like any other code. Only the package managers' own
# commands that install, fetch or publish are refused: there is no network to do it.
_PACKAGE_COMMANDS = frozenset(
    _words(
        """
        install i ci add update upgrade up publish unpublish login logout adduser dlx exec x
        create init fetch audit outdated link unlink global remove rm uninstall un import
        pack deploy self-update dedupe prune rebuild cache config set
        """
    )
)


@dataclass(frozen=True)
class Verdict:
    """The guard's decision about one command line.

    Attributes:
        allowed: True when the command may run.
        reason: Why it was refused (empty when allowed).
        command: The command re-rendered with everything but wildcards quoted.
    """

    allowed: bool
    reason: str = ""
    command: str = ""


@dataclass(frozen=True)
class CommandPolicy:
    """Which commands the terminal tool runs, and how.

    Attributes:
        allowed: Programs that may run (by bare name).
        refusals: Programs refused with a specific reason.
        approval: ``auto``, ``ask`` or ``deny`` for the terminal tool.
        timeout: Wall-clock seconds per command.
    """

    allowed: frozenset[str] = DEFAULT_ALLOWED
    refusals: Mapping[str, str] = field(default_factory=lambda: DEFAULT_REFUSALS)
    approval: Approval = "auto"
    timeout: float = 60.0

    def check(self, command: str, workspace: PurePosixPath = _WORKSPACE) -> Verdict:
        """Decide whether ``command`` may run.

        Args:
            command: The command line as the model wrote it.
            workspace: The workspace path as the sandbox shows it (the working directory).
        """
        try:
            pipelines = parse(command)
        except ShellSyntaxError as exc:
            return Verdict(False, sanitize_text(str(exc)))
        for pipeline in pipelines:
            for cmd in pipeline.commands:
                reason = self._check_command(cmd, workspace)
                if reason:
                    # Reasons quote the model's words: shown, never executed by a terminal.
                    return Verdict(False, sanitize_text(reason))
        return Verdict(True, "", render(pipelines))

    def _check_command(self, cmd: Command, workspace: PurePosixPath) -> str:
        for redirect in cmd.redirects:
            if redirect.op in ("<&", ">&"):
                if redirect.target.text != "-" and not redirect.target.text.isdigit():
                    return f"`{redirect.op}` must be followed by a file descriptor number"
                continue
            if redirect.target.has_glob:
                return "redirection targets may not contain wildcards"
            if not _inside(redirect.target.text, workspace, devices=True):
                return f"redirection to {redirect.target.text} is outside the workspace"
        if not cmd.words:
            return ""
        first = cmd.words[0]
        if first.has_glob:
            return "the program name contains a wildcard; name the program directly"
        if "=" in first.text and first.text.split("=")[0].isidentifier():
            return "variable assignments are not allowed; write values literally"
        if first.text in ("{", "}", "!"):
            return f"`{first.text}` (grouping or negation) is not allowed"
        name = _program_name(first.text)
        if name is None:
            return f"`{first.text}`: run programs by name, not by path"
        refusal = self.refusals.get(name) or self.refusals.get(name.split(".")[0])
        if refusal:
            return f"`{name}`: {refusal}"
        if name not in self.allowed:
            return (
                f"`{name}` is not in the list of allowed programs "
                f"({', '.join(sorted(self.allowed))})"
            )
        args = cmd.words[1:]
        if name in _WRITERS:
            for word in args:
                if not word.text.startswith("-") and not _inside(word.text, workspace):
                    return f"`{name}` may only change files inside the workspace ({word.text})"
        check = _ARGUMENT_CHECKS.get(name)
        return check(args) if check else ""


def _program_name(text: str) -> str | None:
    if "/" not in text:
        return text
    for directory in _PROGRAM_DIRS:
        if text.startswith(directory) and "/" not in text[len(directory) :]:
            return text[len(directory) :]
    return None


def _inside(path: str, workspace: PurePosixPath, *, devices: bool = False) -> bool:
    if devices and path in ("/dev/null", "/dev/stdout", "/dev/stderr"):
        return True
    joined = posixpath.normpath(posixpath.join(str(workspace), path))
    return joined == str(workspace) or joined.startswith(str(workspace) + "/")


def _check_find(args: list[Word]) -> str:
    for word in args:
        if word.text in _FIND_REFUSED:
            return f"`find {word.text}` is not allowed (it runs programs, deletes or writes files)"
        if word.has_glob:
            return "quote wildcard patterns for find, e.g. find . -name '*.py'"
    return ""


def _check_git(args: list[Word]) -> str:
    index = 0
    while index < len(args) and args[index].text.startswith("-"):
        option = args[index].text
        if option == "-c" or option.startswith(("--exec-path", "--config-env")):
            return f"`git {option}` can make git run other programs"
        if option in ("-p", "--paginate"):
            return "git's pager is not available; drop -p/--paginate"
        index += 2 if option in ("-C", "--git-dir", "--work-tree", "--namespace") else 1
    if index >= len(args):
        return ""
    subcommand = args[index].text
    rest = [w.text for w in args[index + 1 :]]
    if subcommand in _GIT_REFUSED_SUBCOMMANDS:
        return f"`git {subcommand}` is refused: {_GIT_REFUSED_SUBCOMMANDS[subcommand]}"
    if subcommand == "config" and not _GIT_CONFIG_READS.intersection(rest):
        return "`git config` may only read settings (--get, --list)"
    if subcommand == "rebase" and {"-x", "-i", "--interactive"}.intersection(rest):
        return "`git rebase -x/-i` runs other programs or an editor"
    for text in rest:
        if text.split("=")[0] in _GIT_REFUSED_OPTIONS or text.startswith("-O"):
            return f"`git {subcommand} {text}` can make git run other programs"
    return ""


def _check_python(args: list[Word]) -> str:
    for word in args:
        if word.text in ("-c", "-") or (word.text.startswith("-c") and len(word.text) > 2):
            return "inline code (python3 -c) cannot be checked here; use the python tool"
        if word.text in ("-m",) or not word.text.startswith("-"):
            break
    modules = [w.text for w in args]
    if "-m" in modules and modules.index("-m") + 1 < len(modules):
        module = modules[modules.index("-m") + 1]
        if module in ("pip", "ensurepip", "venv", "http.server", "smtpd"):
            return f"`python3 -m {module}` is not allowed: {_NETWORK}"
    return ""


def _check_package_runner(args: list[Word]) -> str:
    subcommand = next((w.text for w in args if not w.text.startswith("-")), "")
    if subcommand in _PACKAGE_COMMANDS:
        return (
            f"`{subcommand}` manages packages and {_NETWORK}; run the project's scripts "
            "(e.g. `npm run format`, `npm test`)"
        )
    return ""


_ARGUMENT_CHECKS: dict[str, Callable[[list[Word]], str]] = {
    "npm": _check_package_runner,
    "pnpm": _check_package_runner,
    "yarn": _check_package_runner,
    "find": _check_find,
    "git": _check_git,
    "python3": _check_python,
    "python": _check_python,
}
