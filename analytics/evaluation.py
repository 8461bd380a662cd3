"""How well alerts line up with ground-truth incidents: recall and precision of alert groups.

Alert groups, not alerts, are scored: one incident that raises twenty alerts in one group
was caught once, and twenty noisy alerts in one group are one false page, which is how an
on-call engineer experiences it. A group matches an incident when it overlaps the incident
in time (widened by ``lead`` before, since good detectors fire early, and ``grace`` after,
since alerts resolve late) and names one of the services the incident touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_FOREVER = np.iinfo(np.int64).max
_NS = 1_000_000_000
GROUP_COLUMNS = ["group_id", "services", "rules", "start", "end", "alerts"]


@dataclass(frozen=True)
class RecallResult:
    recall: float
    by_kind: dict[str, float] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    detected: int = 0
    total: int = 0


@dataclass(frozen=True)
class PrecisionResult:
    precision: float
    false_groups: int = 0
    total: int = 0


def _present(values: object) -> list[str]:
    return sorted({str(v) for v in values if isinstance(v, str) and v})


def _empty_groups() -> pd.DataFrame:
    times = np.array([], dtype="datetime64[ns]")
    empty = np.array([], dtype=object)
    return pd.DataFrame(
        {"group_id": np.array([], dtype=np.int64), "services": empty, "rules": empty,
         "start": times, "end": times, "alerts": np.array([], dtype=np.int64)}
    )  # fmt: skip


def alert_groups_frame(
    alerts: pd.DataFrame, group_ids: np.ndarray, now: pd.Timestamp
) -> pd.DataFrame:
    """One row per alert group: its services, rules, time span and size.

    A group still firing (some ``resolved_at`` is NaT) ends at ``now``.
    """
    if alerts.empty:
        return _empty_groups()
    frame = pd.DataFrame(
        {
            "group_id": np.asarray(group_ids, dtype=np.int64),
            "service": alerts["service"].to_numpy(dtype=object),
            "rule": alerts["rule_id"].to_numpy(dtype=object),
            "start": pd.to_datetime(alerts["fired_at"]).astype("datetime64[ns]").to_numpy(),
            "end": pd.to_datetime(alerts["resolved_at"])
            .astype("datetime64[ns]")
            .fillna(pd.Timestamp(now))
            .to_numpy(),
        }
    )
    grouped = frame.groupby("group_id", sort=True)
    out = grouped.agg(start=("start", "min"), end=("end", "max"), alerts=("rule", "size"))
    out["services"] = grouped["service"].agg(lambda s: tuple(_present(s)))
    out["rules"] = grouped["rule"].agg(lambda s: tuple(_present(s)))
    return out.reset_index()[GROUP_COLUMNS]


def _ns(values: pd.Series, missing: int) -> np.ndarray:
    times = np.asarray(pd.to_datetime(values), dtype="datetime64[ns]")
    return np.where(np.isnat(times), missing, times.view(np.int64))


def _incident_services(incidents: pd.DataFrame) -> list[set[str]]:
    return [
        set(_present([service, *list(affected if affected is not None else [])]))
        for service, affected in zip(
            incidents["service"], incidents["affected_services"], strict=True
        )
    ]


def _matches(
    incidents: pd.DataFrame, groups: pd.DataFrame, lead_seconds: int, grace_seconds: int
) -> np.ndarray:
    """(incident × group) bool: overlapping in the widened window and sharing a service.

    An incident without ``ended_at`` is still going on, so its window is open-ended.
    """
    started = _ns(incidents["started_at"], _FOREVER)
    ended = _ns(incidents["ended_at"], _FOREVER)
    lo = started - lead_seconds * _NS
    hi = np.where(ended == _FOREVER, _FOREVER, ended + grace_seconds * _NS)
    g_start, g_end = _ns(groups["start"], _FOREVER), _ns(groups["end"], _FOREVER)
    in_time = (g_start[None, :] <= hi[:, None]) & (g_end[None, :] >= lo[:, None])
    inc_services = _incident_services(incidents)
    names = sorted(set().union(*inc_services, *map(set, groups["services"])))
    index = {name: i for i, name in enumerate(names)}
    inc = np.zeros((len(incidents), len(names)), dtype=np.int32)
    grp = np.zeros((len(groups), len(names)), dtype=np.int32)
    for row, services in enumerate(inc_services):
        inc[row, [index[s] for s in services]] = 1
    for row, services in enumerate(groups["services"]):
        grp[row, [index[s] for s in services]] = 1
    return in_time & ((inc @ grp.T) > 0)


def incident_recall(
    incidents: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    lead_seconds: int = 300,
    grace_seconds: int = 1800,
) -> RecallResult:
    """Share of incidents some alert group caught, overall and per incident kind."""
    if incidents.empty:
        return RecallResult(recall=1.0)
    if groups.empty:
        detected = np.zeros(len(incidents), dtype=bool)
    else:
        detected = _matches(incidents, groups, lead_seconds, grace_seconds).any(axis=1)
    kinds = incidents["kind"].astype(str).to_numpy()
    by_kind = {str(k): float(detected[kinds == k].mean()) for k in sorted(set(kinds))}
    return RecallResult(
        recall=float(detected.mean()),
        by_kind=by_kind,
        missed=[str(i) for i in incidents["incident_id"].to_numpy()[~detected]],
        detected=int(detected.sum()),
        total=len(incidents),
    )


def alert_precision(
    incidents: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    lead_seconds: int = 300,
    grace_seconds: int = 1800,
) -> PrecisionResult:
    """Share of alert groups that match some incident (the rest are false pages)."""
    if groups.empty:
        return PrecisionResult(precision=1.0)
    if incidents.empty:
        matched = np.zeros(len(groups), dtype=bool)
    else:
        matched = _matches(incidents, groups, lead_seconds, grace_seconds).any(axis=0)
    return PrecisionResult(
        precision=float(matched.mean()),
        false_groups=int((~matched).sum()),
        total=len(groups),
    )
