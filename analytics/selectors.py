"""Series selectors: recognising the simple rule forms and matching series.

:func:`parse_expr` recognises the three forms Vigil's per-series kinds and the rule editor
work with — a selector (``metric{label=~"x.*"}``), a selector compared with a number, and
``absent(selector)`` — and refuses anything else; full PromQL is
:mod:`analytics.promql`'s. :func:`select` matches a selector against the series catalog.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

COMPARISONS = (">=", "<=", "==", "!=", ">", "<")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<num>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[iI]nf|NaN))
    |(?P<op>=~|!~|!=|==|>=|<=|[=><{}(),\[\]])
    |(?P<arith>[*/%^])
    |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:.]*))""",
    re.VERBOSE,
)
_AGGREGATIONS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk",
                 "quantile", "count_values", "group", "by", "without", "on", "ignoring",
                 "offset", "bool", "and", "or", "unless"}  # fmt: skip


@dataclass(frozen=True)
class ParsedExpr:
    metric: str | None
    matchers: tuple[tuple[str, str, str], ...]
    absent: bool = False
    op: str | None = None
    threshold: float | None = None


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, expr.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"unexpected {text[pos:].strip()[:20]!r} in expression")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    return token[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")


def _unsupported(tokens: list[tuple[str, str]]) -> None:
    for i, (kind, text) in enumerate(tokens):
        calls = kind == "ident" and i + 1 < len(tokens) and tokens[i + 1][1] == "("
        if (
            text == "["
            or kind == "arith"
            or (kind == "ident" and text in _AGGREGATIONS)
            or (calls and text != "absent")
        ):
            raise ValueError(
                f"{text!r} is beyond a series selector compared with a number (this form "
                'takes a plain selector such as metric{label="value"})'
            )


def _matchers(tokens: list[tuple[str, str]], pos: int) -> tuple[list[tuple[str, str, str]], int]:
    """Label matchers inside ``{...}``, starting after the brace; returns the closing index."""
    found: list[tuple[str, str, str]] = []
    while tokens[pos][1] != "}":
        name, op, value = tokens[pos : pos + 3]
        if name[0] != "ident" or op[1] not in ("=", "!=", "=~", "!~") or value[0] != "str":
            raise ValueError('label matchers look like label="value", label=~"regex"')
        found.append((name[1], op[1], _unquote(value[1])))
        pos += 3
        if tokens[pos][1] == ",":
            pos += 1
        elif tokens[pos][1] != "}":
            raise ValueError("expected ',' or '}' between label matchers")
    return found, pos


def _selector(tokens: list[tuple[str, str]]) -> tuple[str | None, list[tuple[str, str, str]]]:
    """A whole token list as one vector selector."""
    metric, pos = None, 0
    if tokens and tokens[0][0] == "ident":
        metric, pos = tokens[0][1], 1
    matchers: list[tuple[str, str, str]] = []
    if pos < len(tokens) and tokens[pos][1] == "{":
        try:
            matchers, pos = _matchers(tokens, pos + 1)
        except (IndexError, ValueError) as err:
            raise ValueError(str(err) if isinstance(err, ValueError) else "unclosed '{'") from None
        pos += 1
    if pos != len(tokens) or (metric is None and not matchers):
        raise ValueError('expected a series selector such as metric{label="value"}')
    return metric, matchers


def _normalise(metric: str | None, matchers: list[tuple[str, str, str]]) -> ParsedExpr:
    """Fold ``__name__="m"`` into the metric and check what Prometheus would refuse."""
    for name, op, value in matchers:
        if not LABEL_NAME.fullmatch(name):
            raise ValueError(f"invalid label name {name!r}")
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"invalid regex {value!r}: {err}") from None
    named = [m for m in matchers if m[0] == "__name__" and m[1] == "="]
    if named and metric is not None:
        raise ValueError("metric name must not be set twice")
    if named:
        metric = named[0][2]
        matchers = [m for m in matchers if m is not named[0]]
    if metric is None and all(_matches("", op, value) for _, op, value in matchers):
        raise ValueError("a selector needs at least one matcher that does not match empty")
    return ParsedExpr(metric, tuple(matchers))


def parse_expr(expr: str) -> ParsedExpr:
    """``sel``, ``absent(sel)`` or ``sel <op> number``; anything else is refused."""
    tokens = _tokens(expr)
    _unsupported(tokens)
    if tokens[:2] == [("ident", "absent"), ("op", "(")]:
        if tokens[-1] != ("op", ")"):
            raise ValueError("absent(...) must be the whole expression")
        parsed = _normalise(*_selector(tokens[2:-1]))
        return ParsedExpr(parsed.metric, parsed.matchers, absent=True)
    depth = np.cumsum([(t == "{") - (t == "}") for _, t in tokens])
    cut = next(
        (i for i, (k, t) in enumerate(tokens) if k == "op" and t in COMPARISONS and not depth[i]),
        None,
    )
    if cut is None:
        return _normalise(*_selector(tokens))
    rest = tokens[cut + 1 :]
    if len(rest) != 1 or rest[0][0] != "num":
        raise ValueError(f"compare the selector with a number, e.g. '{tokens[cut][1]} 0.9'")
    parsed = _normalise(*_selector(tokens[:cut]))
    return ParsedExpr(
        parsed.metric, parsed.matchers, op=tokens[cut][1], threshold=float(rest[0][1])
    )


def _matches(value: str, op: str, pattern: str) -> bool:
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    hit = re.fullmatch(pattern, value, flags=re.DOTALL) is not None
    return hit if op == "=~" else not hit


def _coded_column(
    catalog: pd.DataFrame, label: str, cache: dict | None
) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, code of each row) of one label of the catalog."""
    if cache is not None and label in cache:
        return cache[label]
    if label == "__name__":
        column = catalog["metric"].astype(str).to_numpy(dtype=object)
    else:
        column = np.array([str(d.get(label, "") or "") for d in catalog["labels"]], dtype=object)
    uniques, inverse = np.unique(column.astype(str), return_inverse=True)
    if cache is not None:
        cache[label] = (uniques, inverse.reshape(-1))
    return uniques, inverse.reshape(-1)


def select(
    metric: str | None,
    matchers: Sequence[tuple[str, str, str]],
    catalog: pd.DataFrame,
    cache: dict | None = None,
) -> np.ndarray:
    """Which catalog rows a selector matches (a missing label counts as empty).

    ``cache`` (a dict kept with one catalog, never shared between catalogs) keeps each
    label's coded column between calls: a rule evaluation selects hundreds of times over
    one catalog.
    """
    mask = np.ones(len(catalog), dtype=bool)
    if metric is not None:
        names, codes = _coded_column(catalog, "__name__", cache)
        at = int(np.searchsorted(names, metric))
        mask &= (codes == at) if at < len(names) and names[at] == metric else False
    for label, op, pattern in matchers:
        uniques, codes = _coded_column(catalog, label, cache)
        hits = np.fromiter((_matches(u, op, pattern) for u in uniques), bool, len(uniques))
        mask &= hits[codes]
    return mask
