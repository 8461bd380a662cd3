"""Random PromQL expressions over random series, for comparing Vigil with Prometheus.

Every case is a small estate (a gauge ``g`` and a counter ``c`` per job and instance, a
gauge ``h`` per job, minutes missing here and there, gaps longer than the lookback,
counter resets) and one expression drawn from a typed grammar. Types are label shapes —
``full`` (job, instance), ``job``, ``none`` — so that vector matching is always valid and
both engines answer instead of failing on many-to-many matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINUTES = 40
JOBS = ("api", "db")
INSTANCES = ("1", "2", "3")
RANGES = ("1m", "2m", "3m", "5m", "10m")
RANGE_FUNCTIONS = ("rate", "increase", "irate", "delta", "idelta", "deriv", "changes",
                   "resets", "avg_over_time", "min_over_time", "max_over_time",
                   "sum_over_time", "count_over_time", "last_over_time", "stddev_over_time",
                   "present_over_time")  # fmt: skip
AGGREGATIONS = ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar")
SHAPES = {"full": ("job", "instance"), "job": ("job",), "none": ()}


@dataclass(frozen=True)
class Series:
    metric: str
    labels: dict[str, str]
    values: np.ndarray  # one per minute
    missing: np.ndarray  # bool per minute

    @property
    def selector(self) -> str:
        inside = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.metric}{{{inside}}}"

    def promtool_values(self) -> str:
        return " ".join("_" if gone else f"{v:g}" for v, gone in
                        zip(self.values, self.missing, strict=True))  # fmt: skip


@dataclass(frozen=True)
class Case:
    series: list[Series]
    expr: str


def _missing(rng: np.random.Generator) -> np.ndarray:
    """Scattered missing minutes, and sometimes a gap longer than the 5-minute lookback."""
    missing = rng.random(MINUTES) < rng.choice([0.0, 0.1, 0.25])
    if rng.random() < 0.3:
        start = int(rng.integers(0, MINUTES - 8))
        missing[start : start + int(rng.integers(6, 12))] = True
    if rng.random() < 0.2:
        missing[: int(rng.integers(3, 15))] = True  # appears late
    return missing


def _counter(rng: np.random.Generator) -> np.ndarray:
    steps = rng.integers(0, 20, MINUTES).astype(float)
    values = np.cumsum(steps) + float(rng.integers(0, 50))
    if rng.random() < 0.4:  # a restart resets the counter
        at = int(rng.integers(5, MINUTES - 5))
        values[at:] -= values[at] - float(rng.integers(0, 5))
    return values


def random_series(rng: np.random.Generator, suffix: str = "") -> list[Series]:
    """The estate; ``suffix`` goes on every metric name, so many cases share one store."""
    out = []
    for job in JOBS:
        for instance in INSTANCES:
            labels = {"job": job, "instance": instance}
            if rng.random() < 0.8:
                gauge = np.round(rng.uniform(0, 10, MINUTES), 1)
                out.append(Series(f"g{suffix}", labels, gauge, _missing(rng)))
            if rng.random() < 0.7:
                out.append(Series(f"c{suffix}", labels, _counter(rng), _missing(rng)))
        if rng.random() < 0.8:
            gauge = np.round(rng.uniform(1, 5, MINUTES), 1)
            out.append(Series(f"h{suffix}", {"job": job}, gauge, _missing(rng)))
    return out


class Grammar:
    """Draws expressions of a given label shape; depth bounds the nesting."""

    def __init__(self, rng: np.random.Generator, suffix: str = "") -> None:
        self.rng = rng
        self.suffix = suffix

    def pick(self, options: tuple | list) -> object:
        return options[int(self.rng.integers(0, len(options)))]

    def number(self) -> str:
        """Thresholds no sum of one-decimal values can equal: the two engines add in
        different orders, and a tie decided by the last bit would test nothing."""
        return str(self.pick(["0.5113", "2.0137", "3.37", "5.0173", "7.2513", "60.013"]))

    def selector(self, shape: str) -> str:
        if shape == "job":
            return "h" + self.suffix + str(self.pick(["", '{job="api"}', '{job=~"a.*|db"}']))
        metric = str(self.pick(["g", "c"])) + self.suffix
        matcher = self.pick(["", '{job="api"}', '{instance!="2"}', '{instance=~"1|3"}',
                             '{job!~"d.*"}'])  # fmt: skip
        return f"{metric}{matcher}"

    def range_call(self, shape: str) -> str:
        func = self.pick(RANGE_FUNCTIONS)
        window = self.pick(RANGES)
        offset = " offset 1m" if self.rng.random() < 0.15 else ""
        inner = self.selector(shape)
        if func == "predict_linear":
            return f"predict_linear({inner}[{window}]{offset}, 60)"
        return f"{func}({inner}[{window}]{offset})"

    def vector(self, shape: str, depth: int) -> str:
        """An expression whose elements have the labels of ``shape``."""
        choices = ["selector", "range"]
        if depth > 0:
            choices += ["aggregate", "scalar_op", "compare", "binary", "set", "function"]
        kind = self.pick(choices)
        if shape == "none" and kind in ("selector", "range"):
            kind = "aggregate"
        return getattr(self, f"_{kind}")(shape, depth)

    def _selector(self, shape: str, depth: int) -> str:
        return self.selector(shape)

    def _range(self, shape: str, depth: int) -> str:
        if self.rng.random() < 0.1:
            return f"predict_linear({self.selector(shape)}[{self.pick(RANGES[2:])}], 60)"
        return self.range_call(shape)

    def _aggregate(self, shape: str, depth: int) -> str:
        op = self.pick(AGGREGATIONS)
        if shape == "full":
            return f"{op} by (job, instance) ({self.vector('full', depth - 1)})"
        source = "full" if shape == "none" or self.rng.random() < 0.7 else "job"
        if shape == "job":
            grouping = self.pick(["by (job)", "without (instance)"]) if source == "full" else (
                "by (job)")  # fmt: skip
        else:
            grouping = self.pick(["", "by ()", "without (job, instance)"])
        return f"{op} {grouping} ({self.vector(source, max(depth - 1, 0))})".replace("  ", " ")

    def raw(self, shape: str) -> str:
        """Stored values, which both engines hold bit for bit: the only safe divisors and
        arguments of ``%``, ``ln`` and ``sqrt``, which blow a last-bit difference up."""
        return self.selector(shape) if shape != "none" else f"max(h{self.suffix})"

    def _scalar_op(self, shape: str, depth: int) -> str:
        op = self.pick(["+", "-", "*", "/", "%", "^"])
        number = self.number()
        if op == "%":
            return f"({self.raw(shape)} % {number})"
        if op == "/" and self.rng.random() < 0.3:
            return f"({number} / {self.raw(shape)})"
        inner = self.vector(shape, depth - 1)
        if op == "^":  # a vector exponent overflows, and the last bits of pow() differ
            return f"({inner} ^ {self.pick(['2', '0.5', '3'])})"
        return f"({number} {op} {inner})" if op != "/" and self.rng.random() < 0.3 else (
            f"({inner} {op} {number})")  # fmt: skip

    def _compare(self, shape: str, depth: int) -> str:
        op = self.pick([">", "<", ">=", "<=", "!=", "=="])
        bool_ = " bool" if self.rng.random() < 0.3 else ""
        return f"({self.vector(shape, depth - 1)} {op}{bool_} {self.number()})"

    def _binary(self, shape: str, depth: int) -> str:
        """Two vectors; a comparison shifts its right side by an odd amount, since two
        computed values that are equal in exact arithmetic differ in their last bits."""
        op = self.pick(["+", "-", "*", "/", ">", "<", ">="])
        compare = op in (">", "<", ">=")
        bool_ = " bool" if compare and self.rng.random() < 0.3 else ""
        many = self.vector(shape, depth - 1)
        if shape == "full" and self.rng.random() < 0.6:  # against a vector with one per job
            one = self.raw("job") if op == "/" else self.vector("job", depth - 1)
            one = f"({one} + 0.00137)" if compare else one
            if self.rng.random() < 0.3 and op != "/":
                return f"({one} {op}{bool_} on (job) group_right() {many})"
            return f"({many} {op}{bool_} on (job) group_left() {one})"
        other = self.raw(shape) if op == "/" else self.vector(shape, depth - 1)
        other = f"({other} + 0.00137)" if compare else other
        return f"({many} {op}{bool_} {other})"

    def _set(self, shape: str, depth: int) -> str:
        op = self.pick(["and", "or", "unless"])
        if op == "or":  # both sides keep their labels: same shape
            return f"({self.vector(shape, depth - 1)} or {self.vector(shape, depth - 1)})"
        other = self.pick(list(SHAPES))
        common = sorted(set(SHAPES[shape]) & set(SHAPES[other]))
        matching = f" on ({', '.join(common)})" if other != shape else ""
        return f"({self.vector(shape, depth - 1)} {op}{matching} {self.vector(other, depth - 1)})"

    def _function(self, shape: str, depth: int) -> str:
        if self.rng.random() < 0.35:  # steps and steep curves: only over raw values
            forms = ["round({})", "ceil({})", "floor({})", "sgn({} - 5.0173)", "sqrt({})",
                     "ln({})"]  # fmt: skip
            return str(self.pick(forms)).format(self.raw(shape))
        forms = ["abs({})", "-({})", "clamp_min({}, 2.0137)", "clamp_max({}, 5.0173)",
                 "clamp({}, 1.013, 6.017)", "exp({} / 100)"]  # fmt: skip
        return str(self.pick(forms)).format(self.vector(shape, depth - 1))


def random_case(rng: np.random.Generator, depth: int = 3, suffix: str = "") -> Case:
    grammar = Grammar(rng, suffix)
    shape = str(grammar.pick(["full", "full", "job", "none"]))
    expr = grammar.vector(shape, int(rng.integers(1, depth + 1)))
    return Case(random_series(rng, suffix), expr)
