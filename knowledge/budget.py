"""Whether the assistant may call its language model now: the daily token budget and the
per-minute request limit, counted from what ``llm_usage`` recorded.

Counting from the database rather than in memory means a restart, a second UI process or
the CLI cannot spend the budget again. The day is the UTC day, like every stored time.
"""

from __future__ import annotations

import pandas as pd

from knowledge.llm import Usage
from vigil.chat_store import requests_since, tokens_since
from vigil.settings import Settings
from vigil.store import Store

RATE_WINDOW = pd.Timedelta(minutes=1)


def refusal(store: Store, settings: Settings, now: pd.Timestamp) -> str | None:
    """``budget`` or ``rate_limit`` when a model request must not be made now, else None."""
    budget = settings.llm_daily_token_budget
    if budget <= 0 or tokens_since(store, pd.Timestamp(now).floor("D")) >= budget:
        return "budget"
    if requests_since(store, now - RATE_WINDOW) >= settings.llm_requests_per_minute:
        return "rate_limit"
    return None


def cost(usage: Usage, settings: Settings) -> float:
    """Estimated price of a request at the configured per-1,000-token prices."""
    return (usage.prompt_tokens * settings.llm_price_per_1k_input_tokens
            + usage.completion_tokens * settings.llm_price_per_1k_output_tokens) / 1000  # fmt: skip
