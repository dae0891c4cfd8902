"""The activation predicates a virtual device evaluates: a subset of NSPredicate (device-2026.md §3.4).

Supported: `@status(item.name)` (the device's status items), `@property(key)` (the management
properties declaration), string/number/boolean/nil literals and `{a, b}` lists, the comparisons
`== = != <> < > <= >=`, `BEGINSWITH ENDSWITH CONTAINS IN LIKE` (with `[c]`/`[cd]`), `AND OR NOT`
(`&& || !`), parentheses, `TRUEPREDICATE`/`FALSEPREDICATE`. Text that is not NSPredicate syntax
is `Error.UnableToParsePredicate`; syntax we do not model (key paths, other functions, `$vars`,
`ANY`/`ALL`, `MATCHES`) is `Error.UnableToEvaluatePredicate`, as the spec tells the device to say.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any


class UnableToParse(ValueError):
    pass


class UnableToEvaluate(ValueError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
    | (?P<function>@[A-Za-z]+\s*\()
    | (?P<op>==|!=|<>|<=|>=|=<|=>|&&|\|\||[=<>!(){},])
    | (?P<modifier>\[[cdn]+\])
    | (?P<word>\$?[A-Za-z_][\w.\-]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"==", "=", "!=", "<>", "<", ">", "<=", ">=", "=<", "=>"}
_STRING_OPS = {"BEGINSWITH", "ENDSWITH", "CONTAINS", "IN", "LIKE"}
_UNMODELLED_OPS = {"MATCHES", "BETWEEN", "ANY", "ALL", "SOME", "NONE", "SUBQUERY", "FUNCTION"}
_LITERALS: dict[str, Any] = {
    "TRUE": True,
    "YES": True,
    "FALSE": False,
    "NO": False,
    "NIL": None,
    "NULL": None,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise UnableToParse(f"unexpected text at {position}: {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, lookup: Callable[[str, str], Any]) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.lookup = lookup
        self.unevaluable: str | None = None  # set when the text parses but uses what we do not model

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise UnableToParse("the predicate ends too early")
        self.at += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is None:
            return None
        kind, value = token
        if (kind == "word" and value.upper() in words) or (kind == "op" and value in words):
            self.at += 1
            return value.upper()
        return None

    def parse(self) -> bool:
        value = self.or_()
        if self.peek() is not None:
            raise UnableToParse(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        if self.unevaluable is not None:
            raise UnableToEvaluate(self.unevaluable)
        return value

    def or_(self) -> bool:
        value = self.and_()
        while self.keyword("OR", "||"):
            right = self.and_()
            value = value or right
        return value

    def and_(self) -> bool:
        value = self.not_()
        while self.keyword("AND", "&&"):
            right = self.not_()
            value = value and right
        return value

    def not_(self) -> bool:
        if self.keyword("NOT", "!"):
            return not self.not_()
        return self.comparison()

    def comparison(self) -> bool:
        if self.keyword("("):
            value = self.or_()
            if not self.keyword(")"):
                raise UnableToParse("a parenthesis is not closed")
            return value
        if self.keyword("TRUEPREDICATE"):
            return True
        if self.keyword("FALSEPREDICATE"):
            return False
        if self.keyword("ANY", "ALL", "SOME", "NONE"):
            self.unevaluable = "aggregate operators are not evaluated by this device"
        left = self.operand()
        kind, op = self.take()
        op = op.upper()
        if kind == "word" and op in _UNMODELLED_OPS:
            self.unevaluable = f"the {op} operator is not evaluated by this device"
        elif not ((kind == "op" and op in _COMPARISONS) or (kind == "word" and op in _STRING_OPS)):
            raise UnableToParse(f"{op!r} is not a comparison operator")
        options = ""
        if self.peek() is not None and self.peek()[0] == "modifier":  # type: ignore[index]
            options = self.take()[1]
        right = self.operand()
        if self.unevaluable is not None:
            return False
        return _compare(left, op, right, fold="c" in options)

    def operand(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return bytes(value[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return float(value) if "." in value else int(value)
        if kind == "function":
            name = value[1:-1].strip().lower()
            argument = self.take()
            if argument[0] not in ("word", "string") or not self.keyword(")"):
                raise UnableToParse(f"@{name}(...) takes one name")
            key = argument[1].strip("'\"")
            if name not in ("status", "property"):
                self.unevaluable = f"@{name}(...) is not evaluated by this device"
                return None
            return self.lookup(name, key)
        if kind == "op" and value == "{":
            items = []
            while not self.keyword("}"):
                items.append(self.operand())
                self.keyword(",")
            return items
        if kind == "word":
            if value.upper() in _LITERALS:
                return _LITERALS[value.upper()]
            self.unevaluable = f"{value!r} is a key path or variable, which this device does not evaluate"
            return None
        raise UnableToParse(f"unexpected {value!r}")


def _compare(left: Any, op: str, right: Any, *, fold: bool) -> bool:
    if fold:
        left = left.lower() if isinstance(left, str) else left
        right = (
            [r.lower() if isinstance(r, str) else r for r in right]
            if isinstance(right, list)
            else (right.lower() if isinstance(right, str) else right)
        )
    if op in ("==", "="):
        return bool(left == right)
    if op in ("!=", "<>"):
        return bool(left != right)
    if op == "IN":
        return (
            left in right if isinstance(right, (list, str)) and isinstance(left, str | int | float) else False
        )
    if op in _STRING_OPS:
        if not isinstance(left, str) or not isinstance(right, str):
            return False
        if op == "BEGINSWITH":
            return left.startswith(right)
        if op == "ENDSWITH":
            return left.endswith(right)
        if op == "CONTAINS":
            return right in left
        return fnmatch.fnmatchcase(left, right)  # LIKE: * and ?
    if (
        left is None
        or right is None
        or type(left) is not type(right)
        and not (isinstance(left, int | float) and isinstance(right, int | float))
    ):
        return False
    order = {"<": left < right, ">": left > right, "<=": left <= right, "=<": left <= right}
    order |= {">=": left >= right, "=>": left >= right}
    return bool(order[op])


def evaluate(text: str, *, status: dict[str, Any], properties: dict[str, Any]) -> bool:
    """The predicate's value; UnableToParse / UnableToEvaluate say why there is none."""

    def lookup(function: str, key: str) -> Any:
        if function == "status":
            if key not in status:
                raise UnableToEvaluate(f"the status item {key!r} is not known to this device")
            return status[key]
        return properties.get(key)

    try:
        return _Parser(text, lookup).parse()
    except RecursionError as exc:
        raise UnableToParse("the predicate nests too deeply") from exc
