"""Prometheus-style annotation templates: ``{{ $labels.instance }}``, ``{{ $value }}``.

Only the actions alert annotations really use are understood; anything else is left as
written so a typo shows in the alert instead of failing the evaluation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal

from analytics.selectors import LABEL_NAME

_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_PRINTF = re.compile(r'printf\s+"(%[-+ #0]*\d*(?:\.\d+)?[eEfFgG])"(?:\s+(\S+))?')
_SI_UP = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")
_SI_DOWN = ("", "m", "u", "n", "p", "f", "a", "z", "y")


def _go_float(v: float) -> str:
    """A float as Go's ``%v`` prints it, which is what Prometheus templates show."""
    if math.isnan(v) or math.isinf(v):
        return "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        return f"{sign}0"
    shortest = Decimal(repr(abs(v))).normalize()
    _, digit_tuple, exponent = shortest.as_tuple()
    digits = "".join(map(str, digit_tuple))
    exp = len(digits) + int(exponent) - 1
    if exp < -4 or exp >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return f"{sign}{shortest:f}"


def _g4(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _go_float(v)
    return f"{v:.4g}"


def _humanize(v: float) -> str:
    """Prometheus' ``humanize``: SI prefixes, four significant digits."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefixes, scale = (_SI_UP, 1 / 1000) if abs(v) >= 1 else (_SI_DOWN, 1000)
    index = 0
    while index + 1 < len(prefixes) and (abs(v) >= 1000 if scale < 1 else abs(v) < 1):
        v, index = v * scale, index + 1
    return f"{_g4(v)}{prefixes[index]}"


def _humanize_duration(v: float) -> str:
    """Prometheus' ``humanizeDuration`` of a number of seconds."""
    if math.isnan(v) or math.isinf(v) or v == 0:
        return _g4(v) + ("s" if v == 0 else "")
    if abs(v) < 1:
        return _humanize(v) + "s"
    sign, total = ("-" if v < 0 else ""), int(abs(v))
    days, hours, minutes, seconds = total // 86400, total // 3600 % 24, total // 60 % 60, total % 60
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{sign}{minutes}m {seconds}s"
    return f"{sign}{_g4(abs(v))}s"


_FUNCS = {
    "humanize": _humanize,
    "humanizePercentage": lambda v: f"{_g4(v * 100)}%",
    "humanizeDuration": _humanize_duration,
}


def _source(token: str, labels: Mapping[str, str], value: float) -> str | float | None:
    if token in ("$value", ".Value"):
        return value
    for prefix in ("$labels.", ".Labels."):
        if token.startswith(prefix) and LABEL_NAME.fullmatch(token[len(prefix) :]):
            return labels.get(token[len(prefix) :], "")
    return None


def _apply(func: str, current: str | float) -> str | float | None:
    printf = _PRINTF.fullmatch(func)
    if func in _FUNCS or printf:
        try:
            number = float(current)
        except ValueError:
            return None
        return _FUNCS[func](number) if func in _FUNCS else printf.group(1) % number
    if func in ("toUpper", "toLower"):
        text = _go_float(current) if isinstance(current, float) else current
        return text.upper() if func == "toUpper" else text.lower()
    return None


def _render_action(action: str, labels: Mapping[str, str], value: float) -> str | None:
    """One ``{{ ... }}`` action, or None when it is not one Vigil understands."""
    steps = [step.strip() for step in action.split("|")]
    printf = _PRINTF.fullmatch(steps[0])
    if printf and printf.group(2):
        steps = [printf.group(2), f'printf "{printf.group(1)}"', *steps[1:]]
    current = _source(steps[0], labels, value)
    for func in steps[1:]:
        if current is None:
            return None
        current = _apply(func, current)
    if current is None:
        return None
    return _go_float(current) if isinstance(current, float) else current


def render_templates(
    templates: Mapping[str, str], labels: Mapping[str, str], value: float
) -> dict[str, str]:
    """Annotations with Prometheus-style templates filled in; never raises.

    Supports ``$labels.x`` / ``.Labels.x``, ``$value`` / ``.Value`` and the pipes
    ``humanize``, ``humanizePercentage``, ``humanizeDuration``, ``printf "%.2f"``,
    ``toUpper`` and ``toLower``. Anything else is left as written, so a typo shows up in
    the alert instead of swallowing it.
    """

    def fill(match: re.Match[str]) -> str:
        rendered = _render_action(match.group(1), labels, float(value))
        return match.group(0) if rendered is None else rendered

    return {key: _TEMPLATE.sub(fill, text) for key, text in templates.items()}
