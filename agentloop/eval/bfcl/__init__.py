"""BFCL v4 (the Berkeley Function Calling Leaderboard) in `agentloop eval`.

The data comes from the pinned `bfcl-eval` wheel (downloaded, never installed), each
function doc becomes an OpenAI tool as BFCL's OpenAI handler makes it, each question runs
one turn through the normal eval runner, and the calls are scored by BFCL's AST rules.
"""

from agentloop.eval.bfcl.checker import Verdict, judge
from agentloop.eval.bfcl.data import BFCL_VERSION, CATEGORIES, Category, Entry, data_dir
from agentloop.eval.bfcl.schema import to_openai_tool

__all__ = [
    "BFCL_VERSION",
    "CATEGORIES",
    "Category",
    "Entry",
    "Verdict",
    "data_dir",
    "judge",
    "to_openai_tool",
]
