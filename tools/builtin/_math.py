"""Arithmetic tools: the tutorial's three number tools and a safe expression evaluator."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from tools import Tool, ToolError, tool

_MAX_EXPRESSION_CHARS = 1000
_MAX_NODES = 200
_MAX_INT_BITS = 4096  # about 1,200 decimal digits
_ONLY_ARITHMETIC = (
    "Use only numbers, + - * / // % ** and parentheses: a square root is x ** 0.5, "
    "p% of x is p / 100 * x. Dates, names and functions need another tool, such as python."
)
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _tidy(value: float) -> float | int:
    """Show 5.0 as 5: the model reads integers more reliably."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def add_number(a: float, b: float) -> float | int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return _tidy(a + b)


def subtract_number(a: float, b: float) -> float | int:
    """Subtract the second number from the first.

    Args:
        a: The number to subtract from.
        b: The number to subtract.
    """
    return _tidy(a - b)


def multiply_number(a: float, b: float) -> float | int:
    """Multiply two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return _tidy(a * b)


def evaluate(expression: str) -> float | int:
    """Evaluate an arithmetic expression safely (numbers, + - * / // % ** and parentheses).

    Raises:
        ToolError: The expression is not plain arithmetic, too large, or undefined.
    """
    if len(expression) > _MAX_EXPRESSION_CHARS:
        raise ToolError(f"The expression is longer than {_MAX_EXPRESSION_CHARS} characters.")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolError(
            f"Not a valid arithmetic expression: {expression!r}. {_ONLY_ARITHMETIC}"
        ) from None
    if sum(1 for _ in ast.walk(tree)) > _MAX_NODES:
        raise ToolError("The expression is too long; split it into smaller steps.")
    try:
        return _tidy(_eval(tree.body))
    except ZeroDivisionError:
        raise ToolError("Division by zero.") from None
    except OverflowError:
        raise ToolError("The result is too large.") from None


def _eval(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ToolError("Only numbers are allowed.")
        return _checked(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
        raise ToolError("`^` is not a power here; write powers as `**`.")
    raise ToolError(f"Names, calls and attributes are not allowed. {_ONLY_ARITHMETIC}")


def _check_power(base: float, exponent: float) -> None:
    if abs(exponent) > 10_000:
        raise OverflowError
    if base not in (0, 1, -1) and abs(exponent) * math.log2(abs(base) or 1) > _MAX_INT_BITS:
        raise OverflowError


def _checked(value: float) -> float:
    if isinstance(value, complex):
        raise ToolError("The result is not a real number.")
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise OverflowError
    if isinstance(value, float) and not math.isfinite(value):
        raise OverflowError
    return value


def math_tools() -> list[Tool]:
    """The arithmetic tools: add_number, subtract_number, multiply_number, calculate."""

    def calculate(expression: str) -> float | int:
        """Evaluate one arithmetic expression, e.g. "(3 + 4) * 2 / 7" or "2 ** 10".

        Only numbers, + - * / // % ** and parentheses: no names or functions (a square
        root is x ** 0.5). Use python for dates, text or several steps.

        Args:
            expression: Numbers with + - * / // % ** and parentheses.
        """
        return evaluate(expression)

    return [
        tool(add_number),
        tool(subtract_number),
        tool(multiply_number),
        tool(calculate, timeout=5.0),
    ]
