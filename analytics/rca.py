"""Root-cause ranking without a language model: which services and series went wrong first,
how hard, and which of them sit upstream of the rest.

One failure rarely stays in one place: a slow database makes every caller slow minutes
later, and the callers raise the most alerts. Responders need the cause, not the loudest
symptom. This module ranks candidates from three kinds of evidence, in this order of trust:

1. **Is the series anomalous at all?** The detectors' score decides: a series is a
   candidate when at least ``min_points`` of its points in the window score at or above
   ``threshold``, or when it has gone silent (a host that stops answering scrapes is the
   clearest anomaly there is, and has no scores to show for it). A change-point test alone
   would also flag the slow drift the baselines already account for.
2. **When did it begin?** A single mean-shift change-point test, vectorised over every
   series at once: for each split of the window, the difference of the means on either
   side over its standard error, ``|m_right - m_left| * sqrt(n_l * n_r / n) / sigma``,
   with ``sigma`` a robust noise scale from the median absolute first difference (a step
   barely moves it). The split with the largest statistic is the change point; the test
   runs on the residual from the baseline's expectation where the detectors provide one,
   so seasonality does not look like a change. The scores refine it: the change point is
   kept when it falls inside an anomalous run or a few points before one (scores are
   computed online and trail a change by a point or two; the change point does not), and
   moves back to the run's first point when that came earlier (a ramp, whose best mean
   split lies in its middle). A change point the scores do not confirm is the slow drift
   of a real estate (residuals are autocorrelated, so the statistic of a quiet hour is
   often 20 or more, far above any iid significance level); the onset is then the first
   point of the strongest anomalous run.
3. **Where does it sit in the dependency graph?** An edge caller → callee makes the callee
   the likelier cause. A service is *explained* when an anomalous service it (transitively)
   depends on became anomalous before it, or within ``tolerance`` of it: then it is a
   symptom. A service *explains* the anomalous services that depend on it and began no
   earlier than it did, within the same tolerance.

Services are ranked by: not explained first; then the more anomalous services it
explains; then onset, compared in steps of ``tolerance`` so that "about the same time"
counts as a tie; then strength (the largest mean shift of its series, in noise units,
capped at :data:`STRENGTH_CAP`); then peak score. Nothing here knows the estate's metric
names or incident shapes: the only inputs are values, scores, times and the graph.
Series are ranked within their service's rank by onset, then strength.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

STRENGTH_CAP = 50.0
"""Mean shifts are reported in robust noise units up to this; a series with almost no
noise would otherwise outshine every other by orders of magnitude. Silent series get it."""

NO_SERVICE = "other"
"""Where series without a service label are grouped, as the wall groups them."""

_MAD_TO_SIGMA = 1.4826
_TOLERANCE = pd.Timedelta(minutes=2)


@dataclass(frozen=True)
class RcaParams:
    """What counts as anomalous, significant and simultaneous."""

    threshold: float = 0.9  # a score at or above this is anomalous (vigil.queries)
    min_points: int = 2  # anomalous points a series needs; one blip is noise
    min_z: float = 5.0  # change-point statistic a change must reach to set the onset
    tolerance: pd.Timedelta = _TOLERANCE  # "about the same time"
    score_lag: int = 5  # points the detectors' online scores may trail a change
    silent_steps: int = 3  # missing steps at the end of the window that make a series silent


@dataclass(frozen=True)
class SeriesCandidate:
    """One anomalous series with the evidence that makes it a candidate."""

    series_id: int
    series_key: str
    metric: str
    service: str | None
    onset: pd.Timestamp
    score: float  # peak anomaly score in the window, 0..1 (1 for a silent series)
    strength: float  # mean shift at the onset in robust noise units, 0..STRENGTH_CAP
    rank: int
    silent: bool = False
    change_point: pd.Timestamp | None = None  # the test's split, before score refinement


@dataclass(frozen=True)
class ServiceCandidate:
    """One service whose series are anomalous, and why it ranks where it does."""

    service: str
    onset: pd.Timestamp
    score: float
    strength: float
    series: tuple[str, ...]  # its candidate series keys, best first
    rank: int
    reason: str
    upstream_of: tuple[str, ...] = ()  # anomalous services this one explains
    downstream_of: tuple[str, ...] = ()  # anomalous services that explain this one
    silent: bool = False  # one of its series stopped reporting


@dataclass(frozen=True)
class RcaRanking:
    services: list[ServiceCandidate]
    series: list[SeriesCandidate]


@dataclass(frozen=True)
class ChangePoints:
    """Per row of a (series × time) matrix: the split, its statistic and signed shift."""

    index: np.ndarray  # first point after the change; -1 where no split was possible
    z: np.ndarray
    shift: np.ndarray  # (mean after - mean before) / sigma
    sigma: np.ndarray  # the robust noise scale the statistic used


def change_points(matrix: np.ndarray, min_segment: int = 2) -> ChangePoints:
    """The most likely single mean shift of every row of ``matrix`` (NaN = no point).

    Both sides of a split need ``min_segment`` points, so one outlier at the edge of the
    window is not a change.
    """
    x = np.asarray(matrix, dtype=float)
    n_rows, n_cols = x.shape
    present = ~np.isnan(x)
    sigma = _robust_sigma(x)
    if n_cols < 2 * min_segment:
        empty = np.full(n_rows, np.nan)
        return ChangePoints(np.full(n_rows, -1), np.zeros(n_rows), empty, sigma)
    csum = np.cumsum(np.where(present, x, 0.0), axis=1)
    ccount = np.cumsum(present, axis=1)
    n_left, s_left = ccount[:, :-1], csum[:, :-1]
    n_all, s_all = ccount[:, -1:], csum[:, -1:]
    n_right, s_right = n_all - n_left, s_all - s_left
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = (s_right / n_right - s_left / n_left) / sigma[:, None]
        z = np.abs(shift) * np.sqrt(n_left * n_right / n_all)
    # a split is named by the first point after it, which must be there
    valid = (n_left >= min_segment) & (n_right >= min_segment) & np.isfinite(z) & present[:, 1:]
    z = np.where(valid, z, -1.0)
    best = np.argmax(z, axis=1)
    rows = np.arange(n_rows)
    best_z = z[rows, best]
    ok = best_z >= 0
    return ChangePoints(
        index=np.where(ok, best + 1, -1),
        z=np.where(ok, best_z, 0.0),
        shift=np.where(ok, shift[rows, best], np.nan),
        sigma=sigma,
    )


def _robust_sigma(x: np.ndarray) -> np.ndarray:
    """Noise scale per row from the median absolute first difference (a step moves one
    difference, not the median), floored so a flat series does not divide by zero."""
    diffs = np.abs(np.diff(x, axis=1))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mad = np.nanmedian(diffs, axis=1) * _MAD_TO_SIGMA / np.sqrt(2)
            level = np.nanmedian(np.abs(x), axis=1)
    floor = np.maximum(np.nan_to_num(level, nan=0.0) * 1e-3, 1e-9)
    return np.maximum(np.nan_to_num(mad, nan=0.0), floor)


def _grid(points: pd.DataFrame, ids: np.ndarray) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    """The window's timestamps and (series × time) matrices of value, score and signal."""
    frame = points.copy()
    frame["ts"] = pd.to_datetime(frame["ts"]).astype("datetime64[ns]")
    if "expected" not in frame:
        frame["expected"] = np.nan
    times = pd.DatetimeIndex(np.sort(frame["ts"].unique()))
    row = pd.Index(ids).get_indexer(frame["series_id"])
    col = times.get_indexer(frame["ts"])
    keep = row >= 0
    shape = (len(ids), len(times))
    out: dict[str, np.ndarray] = {}
    for name in ("value", "score", "expected"):
        matrix = np.full(shape, np.nan)
        matrix[row[keep], col[keep]] = frame[name].to_numpy(dtype=float, na_value=np.nan)[keep]
        out[name] = matrix
    present = ~np.isnan(out["value"])
    covered = (~np.isnan(out["expected"]) & present).sum(axis=1) >= 0.8 * present.sum(axis=1)
    residual = out["value"] - out["expected"]
    out["signal"] = np.where(covered[:, None], residual, out["value"])
    return times, out


def _runs(mask: np.ndarray, max_gap: int = 1) -> list[tuple[int, int]]:
    """(first, last) index of each run of True, bridging gaps of up to ``max_gap``."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    firsts = np.r_[idx[0], idx[breaks + 1]]
    lasts = np.r_[idx[breaks], idx[-1]]
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))


def _refined_onset(scores: np.ndarray, cp: int, z: float, params: RcaParams) -> int:
    """The onset index: the change point when the scores confirm it, else the first point
    of the strongest anomalous run.

    A change point is confirmed when it falls inside an anomalous run or at most
    ``score_lag`` points before one (online scores trail their samples); it then moves back
    to the run's first point if that came earlier (a ramp's best split lies in its middle).
    A change the scores do not confirm is drift the baselines expect.
    """
    runs = _runs(np.nan_to_num(scores, nan=0.0) >= params.threshold)
    if not runs:
        return max(cp, 0)
    if cp >= 0 and z >= params.min_z:
        confirming = [first for first, last in runs if first - params.score_lag <= cp <= last]
        if confirming:
            return min(cp, confirming[0])
    peaks = [np.nanmax(scores[first : last + 1]) for first, last in runs]
    return runs[int(np.argmax(peaks))][0]


def _shift_at(signal: np.ndarray, sigma: float, at: int, fallback: float) -> float:
    """How far the mean moved at the onset, in noise units; ``fallback`` (the change
    point's shift) when one side has fewer than two points."""
    before, after = signal[:at], signal[at:]
    if np.count_nonzero(~np.isnan(before)) < 2 or np.count_nonzero(~np.isnan(after)) < 1:
        return float(np.nan_to_num(abs(fallback), nan=0.0))
    return float(abs(np.nanmean(after) - np.nanmean(before)) / sigma)


def _series_evidence(
    points: pd.DataFrame, info: pd.DataFrame, end: pd.Timestamp, params: RcaParams
) -> pd.DataFrame:
    """One row per candidate series: onset, change point, peak score, strength, silent."""
    ids = info["series_id"].to_numpy(dtype=np.int64)
    columns = ["series_id", "onset", "change_point", "score", "strength", "silent"]
    if points.empty or not len(ids):
        return pd.DataFrame(columns=columns)
    times, m = _grid(points, ids)
    step = pd.Timedelta(np.median(np.diff(times.asi8))) if len(times) > 1 else pd.Timedelta(0)
    present = ~np.isnan(m["value"])
    anomalous = (np.nan_to_num(m["score"], nan=0.0) >= params.threshold).sum(axis=1)
    last = np.where(present.any(axis=1), present.shape[1] - 1 - np.argmax(present[:, ::-1], 1), -1)
    last_ts = np.where(last >= 0, times.asi8[np.maximum(last, 0)], np.iinfo(np.int64).min)
    if "last_seen" in info:
        seen = pd.to_datetime(info["last_seen"]).astype("datetime64[ns]").to_numpy()
        before = (last < 0) & ~np.isnat(seen)
        last_ts = np.where(before, seen.view(np.int64), last_ts)
        last = np.where(before, 0, last)
    silent = (last >= 0) & (last_ts <= (pd.Timestamp(end) - params.silent_steps * step).value)
    silent &= step > pd.Timedelta(0)
    cps = change_points(m["signal"])
    rows = []
    for i in np.flatnonzero((anomalous >= params.min_points) | silent):
        if silent[i]:
            onset, cp_ts = pd.Timestamp(last_ts[i]) + step, None
            rows.append((ids[i], onset, cp_ts, 1.0, STRENGTH_CAP, True))
            continue
        cp = int(cps.index[i])
        at = _refined_onset(m["score"][i], cp, float(cps.z[i]), params)
        strength = _shift_at(m["signal"][i], float(cps.sigma[i]), at, float(cps.shift[i]))
        cp_ts = times[cp] if cp >= 0 else None
        rows.append((ids[i], times[at], cp_ts, float(np.nanmax(m["score"][i])),
                     min(strength, STRENGTH_CAP), False))  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def upstream_closure(dependencies: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Service → every service it depends on, directly or through others."""
    closure: dict[str, frozenset[str]] = {}

    def visit(service: str, seen: frozenset[str]) -> frozenset[str]:
        if service in closure:
            return closure[service]
        found: set[str] = set()
        for callee in dependencies.get(service, ()):
            if callee not in seen:
                found |= {callee, *visit(callee, seen | {service})}
        if not seen:
            closure[service] = frozenset(found)
        return frozenset(found)

    for service in dependencies:
        visit(service, frozenset())
    return closure


def _clock(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%H:%M")


def _reason(row: pd.Series, earliest: pd.Timestamp) -> str:
    """What a responder reads next to the service: when, and what it explains."""
    if row["downstream_of"]:
        return (
            f"anomalous from {_clock(row.onset)}, after upstream {', '.join(row['downstream_of'])}"
        )
    what = "stopped reporting" if row["silent"] else "anomalous"
    first = row.onset <= earliest
    text = f"{what} first ({_clock(row.onset)})" if first else f"{what} from {_clock(row.onset)}"
    if row["upstream_of"]:
        text += f", upstream of {', '.join(row['upstream_of'])}"
    return text


def _service_frame(
    evidence: pd.DataFrame, dependencies: Mapping[str, Sequence[str]], tolerance: pd.Timedelta
) -> pd.DataFrame:
    """Per anomalous service: onset, score, strength and its place among the others."""
    frame = (
        evidence.groupby("service", sort=True)
        .agg(
            onset=("onset", "min"),
            score=("score", "max"),
            strength=("strength", "max"),
            silent=("silent", "any"),
        )
        .reset_index()
    )
    upstream = upstream_closure(dependencies)
    onset = dict(zip(frame["service"], frame["onset"], strict=True))

    def causes(service: str, other: str) -> bool:
        """``other`` is upstream of ``service`` and began no later than it (within tolerance),
        and the two are not each other's upstream (a cycle decides nothing)."""
        return (
            other in upstream.get(service, ())
            and service not in upstream.get(other, ())
            and onset[other] <= onset[service] + tolerance
        )

    names = list(frame["service"])
    frame["downstream_of"] = [tuple(o for o in names if causes(s, o)) for s in names]
    frame["upstream_of"] = [tuple(o for o in names if causes(o, s)) for s in names]
    return frame


def _ordered(services: pd.DataFrame, tolerance: pd.Timedelta) -> pd.DataFrame:
    """Services in rank order with their rank (see the module docstring)."""
    services = services.assign(
        explained=services["downstream_of"].map(bool),
        explains=services["upstream_of"].map(len),
        step=(services["onset"] - services["onset"].min()) // tolerance,
    ).sort_values(
        ["explained", "explains", "step", "strength", "score", "service"],
        ascending=[True, False, True, False, False, True],
        kind="stable",
        ignore_index=True,
    )
    return services.assign(rank=np.arange(1, len(services) + 1))


def rank_root_causes(
    points: pd.DataFrame,
    info: pd.DataFrame,
    dependencies: Mapping[str, Sequence[str]],
    *,
    end: pd.Timestamp,
    params: RcaParams | None = None,
) -> RcaRanking:
    """Rank the window's anomalous services and series as likely root causes.

    ``points``: series_id, ts, value, score (NaN where unscored) and optionally expected,
    for the window ending at ``end``. ``info``: series_id, series_key, metric, service (one
    row per series to consider, including any that went silent) and optionally last_seen,
    the last sample before the window of a series with none in it. ``dependencies``: caller →
    the services it calls. See the module docstring for the method.
    """
    params = params or RcaParams()
    missing = {"series_id", "ts", "value", "score"} - set(points.columns)
    missing |= {"series_id", "series_key", "metric", "service"} - set(info.columns)
    if missing:
        raise ValueError(f"root-cause ranking needs columns {sorted(missing)}")
    evidence = _series_evidence(points, info, end, params)
    if evidence.empty:
        return RcaRanking([], [])
    evidence = evidence.merge(info[["series_id", "series_key", "metric", "service"]],
                              on="series_id")  # fmt: skip
    evidence["service"] = evidence["service"].astype(object).where(evidence["service"].notna())
    evidence["group"] = evidence["service"].fillna(NO_SERVICE)
    services = _service_frame(evidence.assign(service=evidence["group"]), dependencies,
                              params.tolerance)  # fmt: skip
    services = _ordered(services, params.tolerance)
    earliest = services["onset"].min()
    evidence = evidence.merge(services[["service", "rank"]].rename(columns={"service": "group"}))
    evidence = evidence.sort_values(["rank", "onset", "strength", "score", "series_key"],
                                    ascending=[True, True, False, False, True],
                                    ignore_index=True)  # fmt: skip
    series = [_series_candidate(r, i + 1) for i, r in enumerate(evidence.to_dict("records"))]
    keys = evidence.groupby("group", sort=False)["series_key"].agg(tuple)
    ranked = [
        ServiceCandidate(
            service=row.service,
            onset=pd.Timestamp(row.onset),
            score=float(row.score),
            strength=float(row.strength),
            series=tuple(keys[row.service]),
            rank=int(row["rank"]),
            reason=_reason(row, earliest),
            upstream_of=tuple(row.upstream_of),
            downstream_of=tuple(row.downstream_of),
            silent=bool(row.silent),
        )
        for _, row in services.iterrows()
    ]
    return RcaRanking(ranked, series)


def _series_candidate(row: dict, rank: int) -> SeriesCandidate:
    service, cp = row["service"], row["change_point"]
    return SeriesCandidate(
        series_id=int(row["series_id"]),
        series_key=str(row["series_key"]),
        metric=str(row["metric"]),
        service=None if service is None or pd.isna(service) else str(service),
        onset=pd.Timestamp(row["onset"]),
        score=float(row["score"]),
        strength=float(row["strength"]),
        rank=rank,
        silent=bool(row["silent"]),
        change_point=None if cp is None or pd.isna(cp) else pd.Timestamp(cp),
    )
