"""Just enough PromQL reading to say which series a query selects: its
vector selectors (`name{matchers}`) and their metric names. Functions,
aggregations, keywords, label lists, durations and numbers are passed
over. (Whether a query parses at all is promtool's job.)"""

from __future__ import annotations

import re

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(r"[0-9][0-9a-zA-Z.+]*")
AGGREGATIONS = frozenset({"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                          "bottomk", "topk", "quantile", "limitk", "limit_ratio"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"})
LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    """The index just past the bracket that closes the one at `start`, passing over quoted strings."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char in "\"'`":
            i = _past_string(text, i)
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {opening} at {start} in {text!r}")


def _past_string(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    return i + 1


def selectors(expr: str) -> list[str]:
    """Every vector selector in `expr`, as written (`name` or `name{...}`)."""
    found: list[str] = []
    i = 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _past_string(expr, i)
        elif char == "[":
            i = _closing(expr, i, "[", "]")
        elif char == "{":  # a selector by matchers alone: {__name__=~"..."}
            end = _closing(expr, i, "{", "}")
            found.append(expr[i:end])
            i = end
        elif char.isdigit():
            i = _NUMBER.match(expr, i).end()  # type: ignore[union-attr]
        elif (word := _NAME.match(expr, i)) is not None:
            name, i = word.group(), word.end()
            rest = expr[i:].lstrip()
            after = i + (len(expr) - i - len(rest))
            if name in LABEL_LISTS:
                if rest.startswith("("):
                    i = _closing(expr, after, "(", ")")
            elif name in KEYWORDS or name in AGGREGATIONS or rest.startswith("("):
                continue  # an operator, or a function being called
            elif rest.startswith("{"):
                end = _closing(expr, after, "{", "}")
                found.append(name + expr[after:end])
                i = end
            else:
                found.append(name)
        else:
            i += 1
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects (by name; a selector by matchers alone names none)."""
    return {selector.split("{", 1)[0] for selector in selectors(expr) if not selector.startswith("{")}
