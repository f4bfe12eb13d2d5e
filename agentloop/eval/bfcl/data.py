"""BFCL v4 single-turn data: fetched from the pinned `bfcl-eval` wheel on PyPI.

The wheel pins half the ecosystem, so it is never installed: `pip download --no-deps` puts
it in the cache (`<cache>/bfcl/<version>/`), and only its `bfcl_eval/data/` files are read.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from agentloop.errors import ConfigError

BFCL_VERSION = "2026.3.23"
"""The `bfcl-eval` release whose data and checker rules this module follows."""

Category = Literal[
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_irrelevance",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)
_DATA_PREFIX = "bfcl_eval/data/"


@dataclass(frozen=True, slots=True)
class Entry:
    """One BFCL question.

    Attributes:
        id: BFCL's id (`simple_python_0`, `live_multiple_3-1-0`, ...).
        category: The category it belongs to.
        messages: The first (only) turn's messages, in OpenAI format.
        functions: BFCL function docs, as in the data file.
        ground_truth: The possible answers (empty for irrelevance categories).
    """

    id: str
    category: Category
    messages: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, Any]]


def wheel_path(cache_dir: Path, version: str = BFCL_VERSION) -> Path:
    """Where the downloaded wheel lives (it may not exist yet)."""
    return cache_dir / "bfcl" / version / f"bfcl_eval-{version}-py3-none-any.whl"


def fetch_wheel(cache_dir: Path, version: str = BFCL_VERSION) -> Path:
    """The pinned wheel, downloaded once into the cache with `pip download --no-deps`.

    Raises:
        ConfigError: pip could not download it (offline, no such version).
    """
    wheel = wheel_path(cache_dir, version)
    if wheel.exists():
        return wheel
    wheel.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--quiet", "-d", str(wheel.parent), f"bfcl-eval=={version}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not wheel.exists():
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise ConfigError(f"cannot download bfcl-eval=={version}: {detail[0]}")
    return wheel


def data_dir(cache_dir: Path, version: str = BFCL_VERSION) -> Path:
    """The wheel's `bfcl_eval/data/` unpacked into the cache (fetched when missing).

    Raises:
        ConfigError: The wheel could not be downloaded.
    """
    target = cache_dir / "bfcl" / version / "data"
    marker = target / ".complete"
    if marker.exists():
        return target
    with zipfile.ZipFile(fetch_wheel(cache_dir, version)) as wheel:
        for name in wheel.namelist():
            if name.startswith(_DATA_PREFIX) and name.endswith(".json"):
                relative = name.removeprefix(_DATA_PREFIX)
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(wheel.read(name))
    marker.write_text(version, "utf-8")
    return target


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_category(data: Path, category: Category, limit: int | None = None) -> list[Entry]:
    """The questions of one category (the first `limit` of them), with their answers.

    Raises:
        ConfigError: The category's file is missing.
    """
    questions = data / f"BFCL_v4_{category}.json"
    if not questions.exists():
        raise ConfigError(f"no BFCL data for {category!r} in {data}")
    rows = _read_jsonl(questions)[:limit]
    answers: dict[str, list[dict[str, Any]]] = {}
    answer_file = data / "possible_answer" / questions.name
    if "irrelevance" not in category and answer_file.exists():
        answers = {a["id"]: a["ground_truth"] for a in _read_jsonl(answer_file)}
    return [
        Entry(
            id=row["id"],
            category=category,
            messages=list(row["question"][0]),
            functions=list(row["function"]),
            ground_truth=answers.get(row["id"], []),
        )
        for row in rows
    ]


def parse_categories(text: str | None) -> list[Category]:
    """`a,b,c` (or None for all) as a list of known categories.

    Raises:
        ConfigError: A name is not one of `CATEGORIES`.
    """
    if not text:
        return list(CATEGORIES)
    chosen: list[Category] = []
    for name in (part.strip() for part in text.split(",")):
        match = next((c for c in CATEGORIES if c == name), None)
        if match is None:
            raise ConfigError(f"unknown BFCL category {name!r} (known: {', '.join(CATEGORIES)})")
        chosen.append(match)
    return chosen
