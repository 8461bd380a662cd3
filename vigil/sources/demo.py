"""The demo estate: a deterministic, realistic production estate with scripted incidents.

Vigil must look alive on first start and needs ground truth to check its alerts against.
Every value is a pure function of (seed, series, timestamp): noise comes from a generator
seeded per series and UTC day, smooth parts are functions of absolute time, and incidents
sit in fixed 16-hour slots counted from the epoch. Any window can therefore be generated on
its own and agrees with every other window that overlaps it, which is what lets the same
estate be backfilled once and then streamed a minute at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa

from vigil.labels import series_key

DAY = 86_400
_WEEK = 7 * DAY
_EPOCH_MONDAY = 4 * DAY  # 1970-01-05 was a Monday
SLOT_SECONDS = 16 * 3600
_SLOT_LEAD = 3600  # earliest start inside a slot
_GAP = 2 * 3600  # quiet time kept after every incident
_SLOT_SALT = 7919
_SERVICE_SALT = 5003
_HOST_SALT = 31
_BLOCK_DAYS = 7  # bounds memory on long windows; values do not depend on it
_SEED_MASK = 0xFFFFFFFF  # SeedSequence wants non-negative words

KINDS: tuple[str, ...] = ("spike", "level_shift", "leak", "latency_cascade", "missing_data")

DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "gateway": ("orders",),
    "orders": ("payments", "inventory", "kafka"),
    "payments": ("mysql",),
    "inventory": ("mysql", "redis"),
    "mysql": (),
    "redis": (),
    "kafka": (),
}

# app service: (instances, peak requests/s of the whole service, p99 seconds at low load)
_APPS: dict[str, tuple[int, float, float]] = {
    "gateway": (3, 900.0, 0.18),
    "orders": (3, 450.0, 0.32),
    "payments": (2, 180.0, 0.45),
    "inventory": (2, 520.0, 0.12),
}
_INFRA: dict[str, int] = {"mysql": 2, "redis": 1, "kafka": 2}
SERVICES: tuple[str, ...] = (*_APPS, *_INFRA)
# what people call the services when they ask about them (the orders service runs checkout)
ALIASES: dict[str, tuple[str, ...]] = {
    "gateway": ("api", "frontend", "storefront", "网关", "前端"),
    "orders": ("checkout", "order", "下单", "订单", "结算"),
    "payments": ("payment", "pay", "支付", "付款"),
    "inventory": ("stock", "库存"),
    "mysql": ("database", "db", "数据库"),
    "redis": ("cache", "缓存"),
    "kafka": ("queue", "消息队列"),
}

# node metrics per service: (cpu at zero load, cpu added at peak, receive bytes/s at peak)
_NODE: dict[str, tuple[float, float, float]] = {
    "gateway": (0.06, 0.45, 9.0e6),
    "orders": (0.07, 0.50, 5.0e6),
    "payments": (0.05, 0.35, 2.0e6),
    "inventory": (0.06, 0.40, 4.0e6),
    "mysql": (0.08, 0.45, 8.0e6),
    "redis": (0.04, 0.25, 12.0e6),
    "kafka": (0.07, 0.30, 6.0e6),
}

# metric, unit, offset, amplitude at peak load, load power, wander, iid noise (log scale)
_Template = tuple[str, str, float, float, float, float, float]
_INFRA_METRICS: dict[str, tuple[_Template, ...]] = {
    "mysql": (
        ("mysql_queries_per_second", "queries/s", 50.0, 1400.0, 1.0, 0.04, 0.04),
        ("mysql_query_duration_p99_seconds", "s", 0.012, 0.008, 2.0, 0.05, 0.08),
        ("mysql_connections", "count", 30.0, 110.0, 1.0, 0.05, 0.05),
    ),
    "redis": (
        ("redis_commands_per_second", "commands/s", 200.0, 4200.0, 1.0, 0.04, 0.04),
        ("redis_memory_used_ratio", "ratio", 0.55, 0.03, 1.0, 0.03, 0.003),
        ("redis_command_duration_p99_seconds", "s", 0.0012, 0.0006, 2.0, 0.05, 0.10),
    ),
    "kafka": (
        ("kafka_messages_in_per_second", "messages/s", 10.0, 380.0, 1.0, 0.04, 0.04),
        ("kafka_consumer_lag_messages", "count", 40.0, 80.0, 1.0, 0.20, 0.50),
    ),
}
_INTEGER_METRICS = frozenset({"mysql_connections", "kafka_consumer_lag_messages"})
_FILL_SHARE = 0.9  # share of a disk cycle spent filling up
_WANDER_PERIODS = np.array([3.1 * 3600, 11.3 * 3600, 2.7 * DAY])


@dataclass(frozen=True)
class DemoSeries:
    """One series of the estate, as the catalog describes it."""

    key: str
    metric: str
    labels: Mapping[str, str] = field(hash=False)
    unit: str
    service: str
    host: str


@dataclass(frozen=True)
class DemoIncident:
    """Ground truth: what broke, where it started, and which series really changed."""

    incident_id: str
    kind: str
    title: str
    service: str
    series_keys: tuple[str, ...]
    affected_services: tuple[str, ...]
    affected_series: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    cause: str = ""
    fix: str = ""


@dataclass(frozen=True)
class _Effect:
    """One change to one series inside [start, end) seconds; ``op`` names the shape."""

    series: int
    start: int
    end: int
    op: str  # mul, add, band, ramp, ramp_mul, drop
    a: float = 0.0
    b: float = 0.0


@dataclass(frozen=True)
class _Scripted:
    incident: DemoIncident
    effects: tuple[_Effect, ...]
    start: int
    end: int


# what an incident builder returns: root service, title, root series, other services, effects
_Built = tuple[str, str, list[int], list[str], list[_Effect]]


@dataclass(frozen=True)
class _Params:
    """Per-series generator parameters, one array entry per series, in catalog order."""

    offset: np.ndarray
    amp: np.ndarray
    power: np.ndarray
    wander: np.ndarray
    noise: np.ndarray
    trend_amp: np.ndarray
    trend_period: np.ndarray
    trend_phase: np.ndarray
    phases: np.ndarray  # (n, len(_WANDER_PERIODS))
    service: np.ndarray
    ratio: np.ndarray
    integer: np.ndarray


def _hosts() -> list[tuple[str, str]]:
    """(host, service) pairs: every instance runs on a host of its own."""
    counts = {**{s: n for s, (n, _, _) in _APPS.items()}, **_INFRA}
    return [(f"{svc}-{i}", svc) for svc, n in counts.items() for i in range(1, n + 1)]


def _host_templates(service: str, factor: float, rng: np.random.Generator) -> list[_Template]:
    """The metric templates of one host; ``factor`` is its share of the service's load."""
    cpu0, cpu1, net = _NODE[service]
    mem = rng.uniform(0.42, 0.68)
    disk = rng.uniform(0.28, 0.5)
    rows: list[_Template] = [
        ("node_cpu_utilisation_ratio", "ratio", cpu0, cpu1 * factor, 1.0, 0.05, 0.04),
        ("node_memory_used_ratio", "ratio", mem, 0.02, 1.0, 0.03, 0.004),
        ("node_filesystem_used_ratio", "ratio", disk, 0.0, 1.0, 0.0, 0.0005),
        (
            "node_network_receive_bytes_per_second",
            "bytes/s",
            0.05 * net,
            net * factor,
            1.0,
            0.04,
            0.05,
        ),
    ]
    if service in _APPS:
        n, rps, p99 = _APPS[service]
        rows += [
            ("http_requests_per_second", "req/s", 0.0, rps / n * factor, 1.0, 0.04, 0.03),
            ("http_request_duration_p99_seconds", "s", p99, 0.5 * p99, 2.0, 0.05, 0.07),
            ("http_errors_ratio", "ratio", 0.0012, 0.0018, 1.0, 0.10, 0.35),
        ]
    else:
        n = _INFRA[service]
        rows += [
            (m, u, o, a * factor / n, p, w, z) for m, u, o, a, p, w, z in _INFRA_METRICS[service]
        ]
    return rows


def _build(seed: int) -> tuple[list[DemoSeries], _Params]:
    """The catalog and its generator parameters; the same seed always builds the same."""
    series: list[DemoSeries] = []
    cols: list[tuple] = []
    for h, (host, service) in enumerate(_hosts()):
        rng = np.random.default_rng([seed, _HOST_SALT, h])
        factor = rng.uniform(0.88, 1.12)
        for metric, unit, *shape in _host_templates(service, factor, rng):
            job = "node" if metric.startswith("node_") else service
            labels = {"service": service, "instance": host, "job": job, "env": "prod"}
            key = series_key(metric, labels)
            series.append(DemoSeries(key, metric, MappingProxyType(labels), unit, service, host))
            cols.append(
                (
                    *shape,
                    metric == "node_filesystem_used_ratio",
                    SERVICES.index(service),
                    unit == "ratio",
                    metric in _INTEGER_METRICS,
                )
            )
    n = len(series)
    phase_rngs = [np.random.default_rng([seed, i]) for i in range(n)]
    phases = np.array([r.uniform(0, 2 * np.pi, len(_WANDER_PERIODS)) for r in phase_rngs])
    trend = np.array(
        [(r.uniform(0.15, 0.25), r.uniform(40, 70) * DAY, r.random()) for r in phase_rngs]
    )
    offset, amp, power, wander, noise, is_fs, svc, ratio, integer = np.array(cols, dtype=float).T
    params = _Params(
        offset=offset,
        amp=amp,
        power=power,
        wander=wander,
        noise=noise,
        trend_amp=np.where(is_fs, trend[:, 0], 0.0),
        trend_period=trend[:, 1],
        trend_phase=trend[:, 2],
        phases=phases,
        service=svc.astype(int),
        ratio=ratio.astype(bool),
        integer=integer.astype(bool),
    )
    return series, params


def _wander(t: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Smooth unit-variance drift, (n, len(t)): a few slow sinusoids of absolute time."""
    angle = 2 * np.pi * (t[None, None, :] / _WANDER_PERIODS[None, :, None])
    waves = np.sin(angle + phases[:, :, None]).sum(axis=1)
    return waves / np.sqrt(len(_WANDER_PERIODS) / 2)


def _fill_cycle(t: np.ndarray, period: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Disk fill in [0, 1], (n, len(t)): slow growth for most of a period, then a clean-up
    spread over days, so no unscripted cliff looks like an incident."""
    x = (t[None, :] / period[:, None] + phase[:, None]) % 1.0
    return np.where(x < _FILL_SHARE, x / _FILL_SHARE, (1 - x) / (1 - _FILL_SHARE))


def _weekend(t: np.ndarray) -> np.ndarray:
    """0 on weekdays, 1 on weekends, eased over six hours around midnight."""
    pos = (t - _EPOCH_MONDAY) % _WEEK
    ease = 6 * 3600
    into = np.clip((pos - (5 * DAY - ease / 2)) / ease, 0, 1)
    out = np.clip((_WEEK + ease / 2 - pos) / ease, 0, 1)
    wrap = np.clip((ease / 2 - pos) / ease, 0, 1)
    return np.minimum(into, out) + wrap


def _service_load(seed: int, t: np.ndarray) -> np.ndarray:
    """Relative traffic per service, (services, len(t)): 1 at a weekday peak, ~0.35 at night."""
    rngs = [np.random.default_rng([seed, _SERVICE_SALT, i]) for i in range(len(SERVICES))]
    shape = np.array([(r.uniform(0.3, 0.4), r.uniform(14, 16), r.uniform(0.3, 0.4)) for r in rngs])
    phases = np.array([r.uniform(0, 2 * np.pi, len(_WANDER_PERIODS)) for r in rngs])
    floor, peak, drop = shape[:, :1], shape[:, 1:2], shape[:, 2:]
    hour = (t[None, :] % DAY) / 3600.0
    daily = (0.5 - 0.5 * np.cos(2 * np.pi * (hour - peak + 12) / 24)) ** 1.5
    load = (floor + (1 - floor) * daily) * (1 - drop * _weekend(t)[None, :])
    return load * (1 + 0.03 * _wander(t, phases))


def _noise(seed: int, n_series: int, t: np.ndarray, step: int) -> np.ndarray:
    """Standard normal noise, (n, len(t)); one generator per (series, UTC day) keeps every
    value independent of the window it was asked for."""
    z = np.empty((n_series, t.size))
    days = t // DAY
    cuts = np.flatnonzero(np.diff(days)) + 1
    per_day = -(-DAY // step)
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, t.size], strict=True):
        day = int(days[lo]) & _SEED_MASK
        pos = (t[lo:hi] - days[lo] * DAY) // step
        for i in range(n_series):
            z[i, lo:hi] = np.random.default_rng([seed, i, day]).standard_normal(per_day)[pos]
    return z


def _apply(values: np.ndarray, present: np.ndarray, t: np.ndarray, effects: list[_Effect]) -> None:
    """Write incident effects into the block in place; ``drop`` removes samples."""
    for e in effects:
        lo, hi = np.searchsorted(t, [e.start, e.end])
        if lo == hi:
            continue
        seg = values[e.series, lo:hi]
        ramp = (t[lo:hi] - e.start) / (e.end - e.start)
        if e.op == "mul":
            seg *= e.a
        elif e.op == "add":
            seg += e.a
        elif e.op == "band":  # saturates towards 0.99 from a floor of b
            seg[:] = e.b + (0.99 - e.b) * (1 - np.exp(-e.a * seg))
        elif e.op == "ramp":  # from the usual level b up to a, noise kept
            seg += (e.a - e.b) * ramp
        elif e.op == "ramp_mul":
            seg *= 1 + e.a * ramp**2
        elif e.op == "drop":
            present[e.series, lo:hi] = False


def _to_ns(ts: pd.Timestamp | str) -> int:
    """Nanoseconds since the epoch of a naive-UTC or tz-aware timestamp."""
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.as_unit("ns").value)


def _key_column(keys: list[str], codes: np.ndarray) -> pd.Series:
    """The series_key column, built in Arrow: two million Python strings convert slowly."""
    taken = pa.array(keys, type=pa.large_string()).take(pa.array(codes))
    dtype = pd.Series([], dtype="str").dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pd.Series(taken.to_pandas(types_mapper={pa.large_string(): dtype}.get))
    return pd.Series(taken.to_numpy(zero_copy_only=False), dtype="str")


def _stamp(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(seconds * 1_000_000_000)


def _empty_samples() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_key": pd.Series([], dtype="str"),
            "ts": pd.Series([], dtype="datetime64[ns]"),
            "value": pd.Series([], dtype="float64"),
        }
    )


class DemoEstate:
    """Seven services on fifteen hosts, with seasonality, noise and scripted incidents."""

    def __init__(self, seed: int = 1, step_seconds: int = 60) -> None:
        if seed < 0 or step_seconds <= 0:
            raise ValueError("the demo estate needs seed >= 0 and step_seconds > 0")
        self.seed = int(seed)
        self.step_seconds = int(step_seconds)
        self._series, self._params = _build(self.seed)
        self._keys = np.array([s.key for s in self._series], dtype=object)
        self._order = np.argsort(self._keys, kind="stable")
        self._index = {(s.metric, s.host): i for i, s in enumerate(self._series)}
        self._slots: dict[int, _Scripted] = {}

    # -- catalog -------------------------------------------------------------------------

    def series(self) -> list[DemoSeries]:
        """Every series of the estate, in a stable order."""
        return list(self._series)

    def hosts(self, service: str | None = None) -> list[str]:
        """Host names, optionally of one service, in catalog order."""
        return [h for h, s in _hosts() if service is None or s == service]

    # -- samples -------------------------------------------------------------------------

    def samples(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Samples on the step grid in [start, end): series_key, ts (naive UTC), value.

        Sorted by series_key then ts. Series that are down in a ``missing_data`` incident
        simply have no rows there, as a scrape target that stopped answering would.
        """
        step_ns = self.step_seconds * 1_000_000_000
        first = -(-_to_ns(start) // step_ns) * step_ns
        t_ns = np.arange(first, _to_ns(end), step_ns, dtype=np.int64)
        if t_ns.size == 0:
            return _empty_samples()
        block = max(1, _BLOCK_DAYS * DAY // self.step_seconds)
        parts = [
            self._block(t_ns[i : i + block] // 1_000_000_000) for i in range(0, t_ns.size, block)
        ]
        values = np.concatenate([p[0] for p in parts], axis=1)[self._order]
        present = np.concatenate([p[1] for p in parts], axis=1)[self._order]
        keep = present.ravel()
        codes = np.repeat(np.arange(len(self._keys)), t_ns.size)[keep]
        return pd.DataFrame(
            {
                "series_key": _key_column(list(self._keys[self._order]), codes),
                "ts": np.tile(t_ns, len(self._keys))[keep].view("datetime64[ns]"),
                "value": values.ravel()[keep],
            }
        )

    def _block(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values and presence, (n, len(t)), for grid seconds ``t`` in catalog order."""
        p = self._params
        load = _service_load(self.seed, t)[p.service]
        level = p.offset[:, None] + p.amp[:, None] * load ** p.power[:, None]
        values = level * (1 + p.wander[:, None] * _wander(t, p.phases))
        values *= np.exp(p.noise[:, None] * _noise(self.seed, len(p.offset), t, self.step_seconds))
        values += p.trend_amp[:, None] * _fill_cycle(t, p.trend_period, p.trend_phase)
        present = np.ones(values.shape, dtype=bool)
        effects = [e for s in self._scripted(int(t[0]), int(t[-1]) + 1) for e in s.effects]
        _apply(values, present, t, effects)
        values[p.integer] = np.round(values[p.integer])
        values = np.maximum(values, 0.0)
        values[p.ratio] = np.minimum(values[p.ratio], 1.0)
        return values, present

    # -- incidents -----------------------------------------------------------------------

    def incidents(self, start: pd.Timestamp, end: pd.Timestamp) -> list[DemoIncident]:
        """Scripted incidents overlapping [start, end), by start time."""
        lo, hi = _to_ns(start) // 1_000_000_000, -(-_to_ns(end) // 1_000_000_000)
        found = [s.incident for s in self._scripted(lo, hi)]
        return [i for i in found if _to_ns(i.start) < _to_ns(end) and _to_ns(i.end) > _to_ns(start)]

    def _scripted(self, lo: int, hi: int) -> list[_Scripted]:
        """Scripted incidents whose seconds overlap [lo, hi)."""
        out = []
        for slot in range(lo // SLOT_SECONDS, (hi - 1) // SLOT_SECONDS + 1):
            s = self._slot(slot)
            if s.start < hi and s.end > lo:
                out.append(s)
        return out

    def _slot(self, slot: int) -> _Scripted:
        """The incident of one 16-hour slot: a fixed rotation of kinds, jittered start."""
        if slot not in self._slots:
            rng = np.random.default_rng([self.seed, _SLOT_SALT, slot & _SEED_MASK])
            kind = KINDS[(slot + self.seed) % len(KINDS)]
            lo_min, hi_min = _DURATIONS[kind]
            duration = int(rng.integers(lo_min, hi_min + 1)) * 60
            latest = (SLOT_SECONDS - _GAP - duration) // 60
            start = slot * SLOT_SECONDS + int(rng.integers(_SLOT_LEAD // 60, latest + 1)) * 60
            self._slots[slot] = self._script(kind, rng, slot, start, start + duration)
        return self._slots[slot]

    def _script(
        self, kind: str, rng: np.random.Generator, slot: int, start: int, end: int
    ) -> _Scripted:
        """Turn one kind's effects into ground truth: ids, titles and the series that change."""
        builders: dict[str, Callable[..., _Built]] = {
            "spike": self._spike,
            "level_shift": self._level_shift,
            "leak": self._leak,
            "latency_cascade": self._cascade,
            "missing_data": self._missing,
        }
        service, title, roots, services, effects = builders[kind](rng, start, end)
        affected = list(dict.fromkeys([*roots, *(e.series for e in effects)]))
        incident = DemoIncident(
            incident_id=f"demo-{self.seed}-{slot}",
            kind=kind,
            title=title,
            service=service,
            series_keys=tuple(self._series[i].key for i in roots),
            affected_services=tuple(dict.fromkeys([service, *services])),
            affected_series=tuple(self._series[i].key for i in affected),
            start=_stamp(start),
            end=_stamp(end),
            **_note(kind, title, service),
        )
        return _Scripted(incident, tuple(effects), start, end)

    def _at(self, metric: str, host: str) -> int:
        """Catalog index of one metric on one host."""
        return self._index[(metric, host)]

    def _pick_host(self, rng: np.random.Generator, services: tuple[str, ...]) -> str:
        return str(rng.choice([h for h, s in _hosts() if s in services]))

    def _spike(self, rng: np.random.Generator, start: int, end: int) -> _Built:
        """CPU saturation or a latency jump on one app instance."""
        host = self._pick_host(rng, tuple(_APPS))
        service = self._series[self._at("node_cpu_utilisation_ratio", host)].service
        factor, on_cpu = rng.uniform(3, 6), bool(rng.random() < 0.5)
        latency = self._at("http_request_duration_p99_seconds", host)
        if on_cpu:
            root = self._at("node_cpu_utilisation_ratio", host)
            effects = [
                _Effect(root, start, end, "band", factor, 0.9),
                _Effect(latency, start, end, "mul", 1 + factor / 3),
            ]
            title = f"CPU spike on {host}"
        else:
            root = latency
            errors = self._at("http_errors_ratio", host)
            effects = [
                _Effect(root, start, end, "mul", 1 + factor * 5 / 6),  # 3.5-6x, clear at night
                _Effect(errors, start, end, "mul", 3.0),
            ]
            title = f"Latency spike on {host}"
        return service, title, [root], [], effects

    def _level_shift(self, rng: np.random.Generator, start: int, end: int) -> _Built:
        """A sustained step in one middleware series: consumer lag, query or command rate."""
        service = ("kafka", "mysql", "redis")[int(rng.integers(3))]
        host = self._pick_host(rng, (service,))
        up = service == "kafka" or bool(rng.random() < 0.5)
        if service == "kafka":
            factor, change = rng.uniform(5, 20), ""
        else:
            factor = 1 + rng.uniform(0.4, 0.8) * (1 if up else -1)
            change = f" {abs(factor - 1):.0%}"
        metric, what, companions = _SHIFTS[service]
        root = self._at(metric, host)
        effects = [_Effect(root, start, end, "mul", factor)]
        effects += [
            _Effect(self._at(m, host), start, end, "mul", 1 + (factor - 1) * weight)
            for m, weight in companions
        ]
        title = f"{what} {'up' if up else 'down'}{change} on {host}"
        return service, title, [root], [], effects

    def _leak(self, rng: np.random.Generator, start: int, end: int) -> _Built:
        """Memory of one app host climbs to ~95 % and is released by a restart at the end."""
        host = self._pick_host(rng, tuple(_APPS))
        root = self._at("node_memory_used_ratio", host)
        p = self._params
        usual = float(p.offset[root] + 0.6 * p.amp[root])
        latency = self._at("http_request_duration_p99_seconds", host)
        effects = [
            _Effect(root, start, end, "ramp", 0.95, usual),
            _Effect(latency, start, end, "ramp_mul", rng.uniform(0.8, 1.5)),
        ]
        return self._series[root].service, f"Memory leak on {host}", [root], [], effects

    def _cascade(self, rng: np.random.Generator, start: int, end: int) -> _Built:
        """A slow database or cache; callers up the dependency graph slow down and fail."""
        service = "mysql" if rng.random() < 2 / 3 else "redis"
        host = self._pick_host(rng, (service,))
        metric = {
            "mysql": "mysql_query_duration_p99_seconds",
            "redis": "redis_command_duration_p99_seconds",
        }[service]
        root = self._at(metric, host)
        effects = [_Effect(root, start, end, "mul", rng.uniform(4, 10))]
        if service == "mysql":
            effects.append(
                _Effect(self._at("mysql_connections", host), start, end, "mul", rng.uniform(2, 3))
            )
        callers: list[str] = []
        onset = start
        for level in _caller_levels(service):
            onset += int(rng.integers(2, 6)) * 60
            slower, errors = rng.uniform(2, 4), rng.uniform(0.02, 0.1)
            for caller in level:
                callers.append(caller)
                for h in self.hosts(caller):
                    effects += [
                        _Effect(
                            self._at("http_request_duration_p99_seconds", h),
                            onset,
                            end,
                            "mul",
                            slower,
                        ),
                        _Effect(self._at("http_errors_ratio", h), onset, end, "add", errors),
                    ]
        what = "Slow queries" if service == "mysql" else "Slow commands"
        title = f"{what} on {host} cascade to {', '.join(callers)}"
        return service, title, [root], callers, effects

    def _missing(self, rng: np.random.Generator, start: int, end: int) -> _Built:
        """One host stops answering scrapes: its series have no samples for a while."""
        host = self._pick_host(rng, SERVICES)
        rows = [i for i, s in enumerate(self._series) if s.host == host]
        effects = [_Effect(i, start, end, "drop") for i in rows]
        return self._series[rows[0]].service, f"Metrics missing from {host}", rows, [], effects


# level shifts: root metric, what to call it, series that follow it (with how strongly)
_SHIFTS: dict[str, tuple[str, str, tuple[tuple[str, float], ...]]] = {
    "kafka": ("kafka_consumer_lag_messages", "Kafka consumer lag", ()),
    "mysql": (
        "mysql_queries_per_second",
        "MySQL query rate",
        (("mysql_connections", 0.6), ("node_cpu_utilisation_ratio", 0.5)),
    ),
    "redis": (
        "redis_commands_per_second",
        "Redis command rate",
        (("node_cpu_utilisation_ratio", 0.5),),
    ),
}

_DURATIONS: dict[str, tuple[int, int]] = {  # minutes
    "spike": (10, 25),
    "level_shift": (60, 180),
    "leak": (90, 180),
    "latency_cascade": (20, 60),
    "missing_data": (15, 45),
}


def _caller_levels(service: str) -> list[list[str]]:
    """Services that call ``service``, breadth first: direct callers, their callers, ..."""
    levels: list[list[str]] = []
    seen = {service}
    frontier = [service]
    while frontier:
        frontier = [
            c for c in SERVICES if c not in seen and any(f in DEPENDENCIES[c] for f in frontier)
        ]
        seen.update(frontier)
        if frontier:
            levels.append(frontier)
    return levels


# what the responders wrote down afterwards, so the demo has past incidents to learn from
_NOTES: dict[str, tuple[str, str]] = {
    "CPU spike": (
        "A batch report job was scheduled onto a serving instance and saturated its CPUs; "
        "request latency rose with it.",
        "Moved the batch job to the worker pool and drained the instance until CPU settled.",
    ),
    "Latency spike": (
        "A bad release of {service} retried a slow downstream call in a tight loop; p99 "
        "latency and errors rose on the instance.",
        "Rolled the instance back to the previous release; latency returned to its baseline.",
    ),
    "Kafka consumer lag": (
        "A consumer group rebalance left partitions unassigned; consumers fell behind and "
        "lag grew.",
        "Restarted the stuck consumers and scaled the consumer group out by two members.",
    ),
    "query rate": (
        "A client deploy changed its query pattern (an N+1 loop), shifting the query rate on "
        "the database.",
        "Rolled back the client deploy; the query rate went back to normal.",
    ),
    "command rate": (
        "A cache-key change made clients miss and refetch, shifting the command rate on Redis.",
        "Reverted the key format and warmed the cache.",
    ),
    "Memory leak": (
        "The {service} release leaked connection objects; heap grew until the instance "
        "was restarted.",
        "Restarted the instance, rolled back the release and attached a heap dump to the bug.",
    ),
    "Slow queries": (
        "A schema migration dropped an index; queries on MySQL slowed down and callers up "
        "the call graph timed out.",
        "Recreated the index and killed the long-running queries; callers recovered.",
    ),
    "Slow commands": (
        "A client ran KEYS on a large Redis keyspace, blocking it; callers slowed down.",
        "Replaced KEYS with SCAN in the client and restarted it.",
    ),
    "Metrics missing": (
        "node_exporter on the host crashed after the root disk filled up; scrapes failed.",
        "Freed disk space (rotated logs) and restarted node_exporter.",
    ),
}


def _note(kind: str, title: str, service: str) -> dict[str, str]:
    """The cause and fix the responders recorded for an incident like this one."""
    for marker, (cause, fix) in _NOTES.items():
        if marker in title:
            return {"cause": cause.format(service=service), "fix": fix}
    return {}
