"""One detector per series: seasonal baseline + isolation forest, one score in [0, 1].

Seven kinds of evidence are turned into [0, 1] on the same footing:

- the baseline's residual in units of its scale, ``z``, through a logistic centred on
  the larger of 4 and twice the 95th percentile of the training ``|z|`` (a series whose
  normal is heavy-tailed needs a bigger departure; the 95th percentile, not a higher one,
  because the training window holds past incidents too, a few percent of its time), or
  on a fifth more than a departure the history reached on three different days, whichever
  is larger: a departure that comes back day after day (a nightly job's spike) is
  habit, not news, however rare it is point by point;
- the median ``z`` of the last ten minutes (at least three steps), calibrated the same
  way (floor 2.5): a sustained shift in a noisy series is certain long before any single
  point is;
- novelty: how far a point lies outside every value of the training window and of the
  hours just before it, in units of the training values' interquartile range. A series
  that hops about (CPU near 10 % that jumps to 60 % a fifth of the time) has a residual
  so wide that a jump to 95 % looks ordinary to it, yet it has never been there. Taking
  the recent hours into the range makes a sustained new level novel only at its start,
  as the level re-baselines it;
- drift: how far the level (the median of the last hours) has moved since one level
  window before, no further than it now is from the training window's usual level,
  calibrated like the residual but on three times its 95th percentile, not twice. A
  temperature sliding down over hours never looks sudden point by point, because the
  level follows it, yet the level itself moved more in three hours than it ever did in
  training. The level moves slowly, so two weeks hold only about a hundred independent
  three-hour moves, not twenty thousand points, and their tail is heavy: at twice the
  95th percentile a level that wanders as it always has pages now and then (on NAB the
  drift raised the largest share of false alarms scoring 0.7 to 0.9, which kept the
  best threshold above all of them). Once a new level has lasted two level windows
  there is nothing left to see, so a sustained shift is re-baselined as before;
- jitter: the median move of the value from one point to the next over the last half
  hour (at least six moves), net of the seasonal profile's own move and in units of the
  scale, calibrated like the residual (floor 2; for steady noise it is about 1). It is
  the value's move, not the residual's: the residual is measured from the nearer of two
  references, so a value between them flips its sign on every wobble. A sensor or a
  controller that starts to oscillate, or latency that turns erratic, swings within a
  range it has often visited, so no point, level or value is new, yet it has never
  swung like this for half an hour. The median, not the mean, so a single
  spike (two large steps) is not jitter; half an hour, not an hour, so the median moves
  after a quarter of an hour of swinging, not after half an hour;
- stillness: most of the last half hour's moves (at least six) repeat the value before
  them exactly, in a series whose training repeated no more than a tenth of any half
  hour's moves, bar on one or two days (a source stuck once in the fortnight was an
  incident, not its habit). A stuck exporter or a frozen sensor keeps reporting its last
  reading: every value is one the series often has, so nothing else ever notices. A
  series that often repeats itself (a count that idles at zero, a gauge in whole units)
  gets no such evidence. It is a step, not a slope, to just above the alert score:
  stillness has no degrees worth ranking, and evidence that creeps up is never an onset;
- the isolation forest's calibrated score (see :mod:`analytics.isolation`), which sees the
  shape of the last minutes (drift, sudden jitter) that the residual alone misses. The
  refit job fits one forest on features pooled across series (they are in each series'
  own scale units) and each series calibrates it to its own history; a series fitted on
  its own grows its own.

Each is first a log-odds; the final score maps the largest through :func:`to_score`, so any
detector can raise it and none dilutes the others. Up to ``ALERT_SCORE`` that map is the
logistic; above it the tail is hyperbolic instead of exponential, so scores keep their order
far out (a logistic rounds everything beyond about 18 widths to exactly 1.0, and the wall's
"top anomalies" and any threshold sweep would see ties). A point with no earlier context
has no score. Everything at time t uses data up to t only: the level is the median of the
hours before t, and rolling windows look back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.ensemble import IsolationForest

from analytics.artifacts import SharedParts, pack, unpack
from analytics.baseline import LEVEL_WINDOW, SeasonalBaseline, fit_baseline_and_expected
from analytics.features import ROLLING_WINDOW, detector_features
from analytics.isolation import CalibratedForest, Calibration, calibrate_forest, fit_forest
from analytics.rolling import rolling_median

KIND = "seasonal_iforest"
FORMAT_VERSION = 6  # 2: shared forest; 3: value range; 4: drift; 5: jitter; 6: repeats
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6)
MAGIC = b"VIGILDET"
BAND_K = 3.0  # lower/upper are expected ± BAND_K × scale (rules rescale to their own k)
MIN_Z_CENTRE = 4.0
MIN_SUSTAINED_CENTRE = 2.5
SUSTAINED_WINDOW = pd.Timedelta(minutes=10)
JITTER_WINDOW = pd.Timedelta(minutes=30)
JITTER_STEPS = 6  # at least, for coarse series
MIN_JITTER_CENTRE = 2.0
STILL_SHARE = 0.5  # more than this share of a jitter window's moves repeat: stuck
MOVING_SHARE = 0.1  # training repeated no more (bar a day or two): a series that moves
Z_CENTRE_GAIN = 2.0
DRIFT_CENTRE_GAIN = 3.0  # a three-hour level has far fewer independent values than points
Z_QUANTILE = 0.95
Z_WIDTH = 0.5
ALERT_SCORE = 0.9
RECURRING_DAYS = 3
RECURRING_GAIN = 1.2
NOVELTY_CENTRE = 0.5  # even odds half an interquartile range beyond the range
NOVELTY_WIDTH = 0.2  # then log-odds 1 per fifth of one
RANGE_SPREAD_SHARE = 0.05  # the range's unit is at least this share of its width


@dataclass(frozen=True)
class DetectorModel:
    baseline: SeasonalBaseline
    forest: CalibratedForest | None
    z_centre: float
    sustained_centre: float
    train_from: pd.Timestamp
    train_to: pd.Timestamp
    step_seconds: int
    training_points: int
    training_alert_share: float
    kind: str = KIND
    version: int = FORMAT_VERSION
    # the training values' range and its unit; NaN (no novelty evidence) in models
    # written before format 3, which unpickle with these class defaults
    range_low: float = float("nan")
    range_high: float = float("nan")
    range_unit: float = float("nan")
    drift_centre: float = float("nan")  # NaN (no drift evidence) before format 4
    jitter_centre: float = float("nan")  # NaN (no jitter evidence) before format 5
    repeat_share: float = float("nan")  # training's habitual; NaN (no stillness) before 6

    def params(self) -> dict[str, object]:
        return {
            "period_minutes": self.baseline.period_slots * 5,
            "periods_found_minutes": [p * 5 for p in self.baseline.periods_found],
            "band_k": BAND_K,
            "z_centre": round(self.z_centre, 3),
            "sustained_centre": round(self.sustained_centre, 3),
            "isolation_forest": self.forest is not None,
            "step_seconds": self.step_seconds,
            "value_range": [self.range_low, self.range_high],
            "drift_centre": round(self.drift_centre, 3),
            "jitter_centre": round(self.jitter_centre, 3),
            "repeat_share": round(self.repeat_share, 3),
        }

    def quality(self) -> dict[str, float]:
        """Figures that say whether to trust the model: how noisy the series is, and how
        often the model would have alerted on its own (supposedly normal) history."""
        return {
            "training_points": float(self.training_points),
            "residual_sigma": float(np.median(self.baseline.hourly_scale)),
            "training_alert_share": self.training_alert_share,
        }

    def to_bytes(self, shared: SharedParts | None = None) -> bytes:
        """The model as a versioned artifact. With ``shared``, its isolation forest is left
        to ``shared`` (the refit job writes a pooled forest once, not once per series)."""
        return pack(MAGIC, FORMAT_VERSION, self, shared)

    @classmethod
    def from_bytes(
        cls, data: bytes, resolve: Callable[[str], object] | None = None
    ) -> DetectorModel:
        model = unpack(data, MAGIC, READABLE_VERSIONS, "detector artifact", resolve)
        if not isinstance(model, cls):
            raise ValueError("artifact does not hold a detector")
        return model


def _z(baseline: SeasonalBaseline, ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Expected value, scale, residual z and the seasonal offset (which novelty and drift
    reuse) of each point."""
    seasonal = baseline.seasonal(ts)
    expected = baseline.expected(ts, values, seasonal)
    scale = baseline.scale(ts)
    return expected, scale, residual_z(values, expected, seasonal + baseline.level, scale), seasonal


def residual_z(
    values: np.ndarray, expected: np.ndarray, usual: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """The residual in scale units from the expectation, or from the training window's
    usual value at that time (seasonal profile on the training level) where that is
    nearer. The expectation follows the level of the last hours, so when a shift ends
    the value returning to what it usually is would otherwise look like a new shift until
    the level catches up; an SRE wants the page for the shift, not for the recovery."""
    from_expected = (values - expected) / scale
    from_usual = (values - usual) / scale
    return np.where(np.abs(from_usual) < np.abs(from_expected), from_usual, from_expected)


ALERT_LOG_ODDS = float(np.log(ALERT_SCORE / (1 - ALERT_SCORE)))
STILL_LOG_ODDS = ALERT_LOG_ODDS + 1.0


def to_score(log_odds: np.ndarray) -> np.ndarray:
    """Log-odds to [0, 1]: the logistic up to ``ALERT_SCORE``, then a tail that still
    tells a departure of 20 scales from one of 2,000."""
    log_odds = np.asarray(log_odds, dtype=float)
    beyond = np.maximum(log_odds - ALERT_LOG_ODDS, 0.0)
    tail = 1.0 - (1.0 - ALERT_SCORE) / (1.0 + beyond)
    return np.where(log_odds <= ALERT_LOG_ODDS, expit(log_odds), tail)


def to_log_odds(score: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_score`: -inf at 0, inf at 1."""
    score = np.asarray(score, dtype=float)
    with np.errstate(divide="ignore"):
        logistic = np.log(score) - np.log1p(-score)
        tail = ALERT_LOG_ODDS + (1.0 - ALERT_SCORE) / (1.0 - score) - 1.0
    return np.where(score <= ALERT_SCORE, logistic, tail)


def _z_log_odds(z: np.ndarray, centre: float) -> np.ndarray:
    return (np.abs(z) - centre) / Z_WIDTH


def value_range(values: np.ndarray, floor: float) -> tuple[float, float, float]:
    """Lowest and highest training value and the unit novelty is measured in: the
    interquartile range, or a share of the whole range (a series that sits still most of
    the time has an IQR near 0), or the baseline's scale floor, whichever is largest."""
    low, high = float(np.min(values)), float(np.max(values))
    q25, q75 = np.quantile(values, [0.25, 0.75])
    return low, high, max(float(q75 - q25), RANGE_SPREAD_SHARE * (high - low), floor)


def novelty_log_odds(
    values: np.ndarray, low: np.ndarray, high: np.ndarray, unit: np.ndarray
) -> np.ndarray:
    """Log-odds that a value is new: 0 at ``NOVELTY_CENTRE`` units beyond the range it is
    measured against, one more per ``NOVELTY_WIDTH`` units further out."""
    excess = np.maximum(values - high, low - values) / unit
    return (excess - NOVELTY_CENTRE) / NOVELTY_WIDTH


def _recent_range(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest value of the ``LEVEL_WINDOW`` before each point (NaN: none)."""
    rolling = pd.Series(values, index=pd.DatetimeIndex(ts)).rolling(
        LEVEL_WINDOW, closed="left", min_periods=1
    )
    return rolling.min().to_numpy(), rolling.max().to_numpy()


def _novelty(model: DetectorModel, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    recent_low, recent_high = _recent_range(ts, values)
    return novelty_log_odds(
        values,
        np.fmin(recent_low, model.range_low),
        np.fmax(recent_high, model.range_high),
        np.full(len(values), model.range_unit),
    )


def drift_z(
    level: np.ndarray,
    earlier: np.ndarray,
    deseasonalised: np.ndarray,
    usual_level: float,
    scale: np.ndarray,
) -> np.ndarray:
    """How far the level moved from ``earlier`` (the level one level window before), in
    scale units, but no further than it, or the point itself, now is from the usual
    level: a series coming back to what it usually does is recovering, not drifting."""
    moved = level - earlier
    away = np.fmin(np.abs(level - usual_level), np.abs(deseasonalised - usual_level))
    return np.sign(moved) * np.fmin(np.abs(moved), away) / scale


def level_before(ts: np.ndarray, level: np.ndarray) -> np.ndarray:
    """For each point, the level at the newest point at least ``LEVEL_WINDOW`` older
    (NaN where there is none)."""
    before = np.searchsorted(ts, ts - LEVEL_WINDOW.to_timedelta64(), side="right") - 1
    return np.where(before >= 0, level[np.maximum(before, 0)], np.nan)


def _drift(
    baseline: SeasonalBaseline, ts: np.ndarray, deseasonalised: np.ndarray, level: np.ndarray
) -> np.ndarray:
    return drift_z(
        level, level_before(ts, level), deseasonalised, baseline.level, baseline.scale(ts)
    )


@dataclass(frozen=True)
class BaselineFit:
    """A series' fit up to its forest: what the refit job computes first for every series,
    before it fits one forest on their pooled ``sample`` rows. ``z`` (the history's
    residuals) and ``value_alerts`` (where the drift or the jitter alone reaches the alert
    score) travel along so the second step does not compute them again."""

    baseline: SeasonalBaseline
    z_centre: float
    sustained_centre: float
    sample: np.ndarray  # up to POOL_ROWS feature rows, drawn at random from the history
    z: np.ndarray
    drift_centre: float
    jitter_centre: float
    repeat_share: float
    value_alerts: np.ndarray  # bool per row: a byte, where the log-odds would be eight


POOL_ROWS = 256


def _finite(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.asarray(ts, dtype="datetime64[ns]")
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    if finite.sum() < 2:
        raise ValueError("need at least two finite points to fit a detector")
    return ts[finite], values[finite]


def _prepare(
    ts: np.ndarray, values: np.ndarray, step_seconds: int
) -> tuple[BaselineFit, np.ndarray]:
    """A history's fit with its evidence centres (no forest sample yet), and its feature
    rows."""
    baseline, expected = fit_baseline_and_expected(ts, values)
    seasonal, scale = baseline.seasonal(ts), baseline.scale(ts)
    z = residual_z(values, expected, seasonal + baseline.level, scale)
    drift = _drift(baseline, ts, values - seasonal, expected - seasonal)
    drift_centre = _centre(ts, np.abs(drift), MIN_SUSTAINED_CENTRE, DRIFT_CENTRE_GAIN)
    moves = jitter(ts, values - seasonal, scale, step_seconds)
    jitter_centre = _centre(ts, moves, MIN_JITTER_CENTRE)
    value_log_odds = np.fmax(_z_log_odds(drift, drift_centre), _z_log_odds(moves, jitter_centre))
    shares = repeats(ts, values, step_seconds)
    repeat_share = _habitual_share(ts, shares)
    value_log_odds = np.fmax(value_log_odds, still_log_odds(shares, repeat_share))
    features = detector_features(ts, z)
    fit = BaselineFit(
        baseline, _centre(ts, np.abs(z), MIN_Z_CENTRE),
        _centre(ts, np.abs(_sustained(ts, z, step_seconds)), MIN_SUSTAINED_CENTRE),
        features[:0], z, drift_centre, jitter_centre, repeat_share,
        value_log_odds >= ALERT_LOG_ODDS,
    )  # fmt: skip
    return fit, features


def _varied(features: np.ndarray) -> bool:
    """A forest learns nothing from a flat history and would call every point odd."""
    return len(features) >= 256 and np.ptp(features[:, 0]) > 1e-9


def fit_baseline_part(
    ts: np.ndarray, values: np.ndarray, step_seconds: int = 60, seed: int = 0
) -> BaselineFit:
    """The baseline, the evidence centres and a sample of feature rows for a pooled forest."""
    ts, values = _finite(ts, values)
    fit, features = _prepare(ts, values, step_seconds)
    if not _varied(features):
        return fit
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(features), min(POOL_ROWS, len(features)), replace=False))
    return replace(fit, sample=features[take])


def fit_detector(
    ts: np.ndarray,
    values: np.ndarray,
    step_seconds: int = 60,
    *,
    prepared: BaselineFit | None = None,
    forest: IsolationForest | None = None,
) -> DetectorModel:
    """Fit on a series' history (datetime64[ns] ts ascending; NaN values are gaps).

    On its own a series grows its own forest. The refit job passes the series'
    :class:`BaselineFit` (computed once) and a ``forest`` fitted on features pooled across
    series, which the series then only calibrates to its own history.
    """
    ts, values = _finite(ts, values)
    if prepared is None:
        prepared, features = _prepare(ts, values, step_seconds)
    elif len(prepared.z) != len(ts):
        raise ValueError("prepared fit is of another history")
    else:
        features = detector_features(ts, prepared.z)
    calibration = None
    if _varied(features):
        calibration = fit_forest(features) if forest is None else calibrate_forest(forest, features)
    baseline = prepared.baseline
    low, high, unit = value_range(values, baseline.scale_floor)
    model = DetectorModel(
        baseline, calibration.forest if calibration else None, prepared.z_centre,
        prepared.sustained_centre, pd.Timestamp(ts[0]), pd.Timestamp(ts[-1]), step_seconds,
        len(ts), 0.0, range_low=low, range_high=high, range_unit=unit,
        drift_centre=prepared.drift_centre, jitter_centre=prepared.jitter_centre,
        repeat_share=prepared.repeat_share,
    )  # fmt: skip
    share = _alert_share(model, ts, prepared.z, prepared.value_alerts, calibration)
    return replace(model, training_alert_share=share)


def _alert_share(
    model: DetectorModel,
    ts: np.ndarray,
    z: np.ndarray,
    value_alerts: np.ndarray,
    calibration: Calibration | None,
) -> float:
    """How often the model alerts on its own history, from every kind of evidence but
    novelty, which cannot fire there: no training value lies outside the training range.
    With a forest, estimated on the rows the forest was calibrated on (up to a few
    thousand, drawn at random): scoring every row of two weeks again would double the
    cost of a fit for a figure that only needs two digits."""
    log_odds = _evidence_log_odds(model, ts, z)
    if calibration is not None:
        rows = calibration.rows
        log_odds = np.fmax(log_odds[rows], calibration.log_odds)
        z, value_alerts = z[rows], value_alerts[rows]
    alerts = (np.nan_to_num(to_score(log_odds)) >= ALERT_SCORE) | value_alerts
    return float(np.mean(alerts & np.isfinite(z)))


def _centre(
    ts: np.ndarray, evidence: np.ndarray, floor: float, gain: float = Z_CENTRE_GAIN
) -> float:
    """Where the logistic is centred: ``gain`` times the 95th percentile of the training
    evidence, or a fifth above a departure the history reached on ``RECURRING_DAYS``
    different days, or ``floor`` (also when history is too short to have any), whichever
    is largest."""
    finite = np.isfinite(evidence)
    if not finite.any():
        return floor
    typical = gain * float(np.quantile(evidence[finite], Z_QUANTILE))
    return max(typical, RECURRING_GAIN * _recurring(ts[finite], evidence[finite]), floor)


def _habitual_share(ts: np.ndarray, shares: np.ndarray) -> float:
    """The largest repeat share the history reached on ``RECURRING_DAYS`` different days
    (in a shorter history, the largest of all; NaN with none): a source stuck on a day or
    two of the fortnight was an incident, and must not teach the model that the series
    idles, or the next time it sticks nothing would say so."""
    finite = np.isfinite(shares)
    if not finite.any():
        return float("nan")
    days = np.unique(ts[finite].astype("datetime64[D]"))
    if len(days) < RECURRING_DAYS:
        return float(shares[finite].max())
    return _recurring(ts[finite], shares[finite])


def _recurring(ts: np.ndarray, evidence: np.ndarray) -> float:
    """The largest evidence reached on at least ``RECURRING_DAYS`` different UTC days: a
    nightly backup's CPU spike is as unusual as any incident point by point, but the
    history shows it every day; an incident, on one or two days of the window. 0 for a
    history of fewer days."""
    days = ts.astype("datetime64[D]")
    starts = np.flatnonzero(np.concatenate([[True], days[1:] != days[:-1]]))
    if len(starts) < RECURRING_DAYS:
        return 0.0
    daily_max = np.maximum.reduceat(evidence, starts)
    return float(np.sort(daily_max)[-RECURRING_DAYS])


def _sustained(ts: np.ndarray, z: np.ndarray, step_seconds: int) -> np.ndarray:
    """Median residual over the last minutes (at least three steps, for coarse series): a
    shift too noisy to stand out point by point (queue lag, say) still moves the median
    well away from zero."""
    return rolling_median(ts, z, sustained_window(step_seconds), 3)


def sustained_window(step_seconds: int) -> pd.Timedelta:
    return max(SUSTAINED_WINDOW, pd.Timedelta(seconds=3 * step_seconds))


def jitter_window(step_seconds: int) -> pd.Timedelta:
    return max(JITTER_WINDOW, pd.Timedelta(seconds=JITTER_STEPS * step_seconds))


def _moves(ts: np.ndarray, values: np.ndarray, window: pd.Timedelta) -> np.ndarray:
    """Absolute move of each value from the one before it; NaN for the first and across a
    gap longer than ``window`` (that is not a move but missing data)."""
    change = np.abs(np.diff(values, prepend=np.nan))
    gap = np.diff(np.asarray(ts, dtype="datetime64[ns]"), prepend=np.datetime64("NaT", "ns"))
    change[~(gap <= window.to_timedelta64())] = np.nan
    return change


def jitter(
    ts: np.ndarray, deseasonalised: np.ndarray, scale: np.ndarray, step_seconds: int
) -> np.ndarray:
    """Median absolute move of the deseasonalised value from one point to the next, in
    units of the scale at the later point, over the last jitter window (at least
    ``JITTER_STEPS`` moves; NaN before). A move across a gap longer than the window is not
    jitter and is left out."""
    window = jitter_window(step_seconds)
    return rolling_median(ts, _moves(ts, deseasonalised, window) / scale, window, JITTER_STEPS)


def repeats(ts: np.ndarray, values: np.ndarray, step_seconds: int) -> np.ndarray:
    """Share of the moves over the last jitter window that repeat the value before them
    exactly (at least ``JITTER_STEPS`` moves; NaN before). The raw value, not the
    deseasonalised one: a stuck source repeats its reading, whatever the profile does."""
    window = jitter_window(step_seconds)
    moves = _moves(ts, values, window)
    repeated = np.where(np.isnan(moves), np.nan, moves == 0)
    rolling = pd.Series(repeated, index=pd.DatetimeIndex(ts)).rolling(
        window, min_periods=JITTER_STEPS
    )
    return rolling.mean().to_numpy()


def still_log_odds(share: np.ndarray, training_share: np.ndarray | float) -> np.ndarray:
    """``STILL_LOG_ODDS`` where most recent moves repeat in a series whose training
    hardly ever repeated (``MOVING_SHARE``); NaN (no evidence) elsewhere."""
    still = (share > STILL_SHARE) & (np.asarray(training_share) <= MOVING_SHARE)
    return np.where(still, STILL_LOG_ODDS, np.nan)


def rolling_reach(step_seconds: int) -> pd.Timedelta:
    """How far back from a point the values its rolling windows use reach: the jitter's
    moves start up to a window before its window does."""
    return max(ROLLING_WINDOW, sustained_window(step_seconds), 2 * jitter_window(step_seconds))


def _evidence_log_odds(model: DetectorModel, ts: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The baseline's two kinds of evidence, the point and the sustained residual."""
    return np.fmax(
        _z_log_odds(z, model.z_centre),
        _z_log_odds(_sustained(ts, z, model.step_seconds), model.sustained_centre),
    )


def _jitter_log_odds(
    model: DetectorModel, ts: np.ndarray, deseasonalised: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """NaN (no evidence) for a model fitted before the jitter centre was kept."""
    if np.isnan(model.jitter_centre):
        return np.full(len(ts), np.nan)
    moves = jitter(ts, deseasonalised, scale, model.step_seconds)
    return _z_log_odds(moves, model.jitter_centre)


def _still_log_odds(model: DetectorModel, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """NaN (no evidence) for a model fitted before the repeat share was kept."""
    if np.isnan(model.repeat_share):
        return np.full(len(ts), np.nan)
    return still_log_odds(repeats(ts, values, model.step_seconds), model.repeat_share)


def _drift_log_odds(
    model: DetectorModel, ts: np.ndarray, deseasonalised: np.ndarray, level: np.ndarray
) -> np.ndarray:
    return _z_log_odds(_drift(model.baseline, ts, deseasonalised, level), model.drift_centre)


def _combined(model: DetectorModel, ts: np.ndarray, z: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """The score from every kind of evidence; ``extra`` holds the log-odds of those that
    need the values themselves (novelty, drift, jitter and stillness), computed with their
    context."""
    log_odds = np.fmax(_evidence_log_odds(model, ts, z), extra)
    if model.forest is not None and len(ts):
        log_odds = np.fmax(log_odds, model.forest.log_odds(detector_features(ts, z)))
    score = to_score(log_odds)
    score[~np.isfinite(z)] = np.nan
    return score


def score_series(
    model: DetectorModel,
    ts: np.ndarray,
    values: np.ndarray,
    score_from: np.datetime64 | None = None,
) -> pd.DataFrame:
    """Expected value, band and score for each point (rows from ``score_from`` on).

    Points before ``score_from`` are context: they set the level and rolling features
    of the points after them but are not returned.
    """
    ts = np.asarray(ts, dtype="datetime64[ns]")
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    ts, values = ts[finite], values[finite]
    expected, scale, z, seasonal = _z(model.baseline, ts, values)
    keep = np.ones(len(ts), dtype=bool) if score_from is None else ts >= score_from
    # rolling windows need the points they reach before the first returned point
    reach = rolling_reach(model.step_seconds).to_timedelta64()
    start = np.searchsorted(ts, ts[keep][0] - reach) if keep.any() else len(ts)
    drift = _drift_log_odds(model, ts, values - seasonal, expected - seasonal)
    extra = np.fmax(_novelty(model, ts, values), drift)
    extra = np.fmax(extra, _jitter_log_odds(model, ts, values - seasonal, scale))
    extra = np.fmax(extra, _still_log_odds(model, ts, values))[start:]
    score = _combined(model, ts[start:], z[start:], extra)[keep[start:]]
    return pd.DataFrame(
        {
            "ts": ts[keep],
            "expected": expected[keep],
            "lower": (expected - BAND_K * scale)[keep],
            "upper": (expected + BAND_K * scale)[keep],
            "score": score,
        }
    )


def shared_forests() -> SharedParts:
    """Where :meth:`DetectorModel.to_bytes` leaves isolation forests to be stored once."""
    return SharedParts((IsolationForest,))
