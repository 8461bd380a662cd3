"""The NAB harness scores as NAB does: sigmoid values, probation, sweep, normalisation."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.nab.__main__ import detect, evaluate, table
from bench.nab.corpus import (
    DataFile,
    probation_length,
    read_corpus,
    read_result_scores,
    window_rows,
    write_result,
)
from bench.nab.detectors import (
    GAUSSIAN_STEP,
    GAUSSIAN_WINDOW,
    in_order,
    vigil_score,
    windowed_gaussian,
)
from bench.nab.published import subset_score
from bench.nab.scoring import (
    MAX_TP,
    Cost,
    losses,
    normalise,
    scaled_sigmoid,
    score_at,
    score_corpus,
    sweep_rows,
    threshold_curve,
)
from jobs.refit import MIN_POINTS

STANDARD = Cost(tp=1.0, fp=0.11, fn=1.0)
LOW_FP = Cost(tp=1.0, fp=0.22, fn=1.0)


def test_the_scaled_sigmoid_has_nabs_shape() -> None:
    assert scaled_sigmoid(np.array([-1.0]))[0] == pytest.approx(0.986614, abs=1e-6)
    assert pytest.approx(0.986614, abs=1e-6) == MAX_TP
    assert scaled_sigmoid(np.array([0.0]))[0] == pytest.approx(0.0)
    assert scaled_sigmoid(np.array([3.5]))[0] == -1.0
    assert scaled_sigmoid(np.array([0.5]))[0] < 0 < scaled_sigmoid(np.array([-0.5]))[0]


def test_probation_is_fifteen_percent_capped_at_750_rows() -> None:
    assert probation_length(1000) == 150
    assert probation_length(4000) == 600
    assert probation_length(22_000) == 750


def test_the_earliest_detection_in_a_window_is_worth_most() -> None:
    windows = [(100, 149)]
    early, late = np.zeros(200), np.zeros(200)
    early[100], late[149] = 1.0, 1.0
    first = score_at(sweep_rows(early, windows, 10), STANDARD, 0.5)
    last = score_at(sweep_rows(late, windows, 10), STANDARD, 0.5)
    assert first.score == pytest.approx(1.0)  # the earliest row is worth exactly tpWeight
    assert 0 < last.score < 0.1 and first.tp_windows == last.tp_windows == 1


def test_false_alarms_cost_full_before_a_window_and_little_just_after() -> None:
    windows = [(100, 149)]
    before, after = np.zeros(400), np.zeros(400)
    before[50], after[151] = 1.0, 1.0
    cost_before = score_at(sweep_rows(before, windows, 10), STANDARD, 0.5).score
    cost_after = score_at(sweep_rows(after, windows, 10), STANDARD, 0.5).score
    # both miss the window (-1) and pay for one false alarm
    assert cost_before == pytest.approx(-1.0 - 0.11)
    nearly_free = 0.11 * scaled_sigmoid(np.array([(151 - 149) / 49]))[0]
    assert cost_after == pytest.approx(-1.0 + nearly_free) and -1.02 < cost_after < -1.0
    after_far = np.zeros(400)
    after_far[399] = 1.0
    assert score_at(sweep_rows(after_far, windows, 10), STANDARD, 0.5).score == pytest.approx(-1.11)


def test_probationary_rows_are_not_scored() -> None:
    alarms = np.zeros(300)
    alarms[:40] = 1.0  # every alarm inside the probation
    rows = sweep_rows(alarms, [(200, 220)], probation_length(300))
    assert len(rows.anomaly) == 300 - 45
    assert score_at(rows, STANDARD, 0.5).fp_rows == 0


def test_null_scores_zero_and_perfect_scores_one_hundred() -> None:
    windows = [[(300, 339), (700, 739)], [(500, 549)]]
    lengths = [1000, 900]
    perfect = []
    for length, file_windows in zip(lengths, windows, strict=True):
        scores = np.zeros(length)
        for first, _ in file_windows:
            scores[first] = 1.0
        perfect.append(sweep_rows(scores, file_windows, probation_length(length)))
    null = [
        sweep_rows(np.zeros(n), w, probation_length(n))
        for n, w in zip(lengths, windows, strict=True)
    ]
    for cost in (STANDARD, LOW_FP, Cost(1.0, 0.11, 2.0)):
        assert score_corpus(perfect, cost, 3).score == pytest.approx(100.0)
        assert score_corpus(null, cost, 3).score == pytest.approx(0.0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    files=st.integers(1, 3),
    fn=st.sampled_from([1.0, 2.0]),
    fp=st.sampled_from([0.11, 0.22]),
)
def test_the_vectorised_sweep_equals_scoring_each_threshold_directly(
    seed: int, files: int, fn: float, fp: float
) -> None:
    """The corpus curve at every threshold is the sum of per-file direct scores."""
    rng = np.random.default_rng(seed)
    cost = Cost(1.0, fp, fn)
    rows = []
    for _ in range(files):
        length = int(rng.integers(120, 400))
        starts = np.sort(rng.choice(np.arange(40, length - 20, 25), size=2, replace=False))
        windows = [(int(s), int(s) + int(rng.integers(2, 15))) for s in starts]
        scores = rng.choice([0.0, 0.2, 0.5, 0.7, 0.9, 1.0], size=length)
        rows.append(sweep_rows(scores, windows, probation_length(length)))
    curve = threshold_curve(rows, cost)
    for threshold, total, tp in zip(curve.thresholds, curve.scores, curve.tp_windows, strict=True):
        direct = [score_at(r, cost, threshold) for r in rows]
        assert total == pytest.approx(sum(d.score for d in direct), abs=1e-9)
        assert tp == sum(d.tp_windows for d in direct)


def test_each_loss_is_counted_where_it_arises() -> None:
    """A window found at its first row costs nothing, one found at its last row costs its
    lateness, a missed one its miss, a false alarm its weight, and a window inside the
    probation what the perfect score counts for it."""
    windows = [(50, 59), (300, 339), (500, 539), (700, 739)]  # the first inside probation
    scores = np.zeros(1000)
    scores[[200, 300, 539]] = 1.0  # a false alarm, the 2nd window's first row, the 3rd's last
    per_file = [score_at(sweep_rows(scores, windows, probation_length(1000)), STANDARD, 0.5)]
    lost = losses(per_file, STANDARD, labelled_windows=4)
    span = 4 * STANDARD.tp + 3 * STANDARD.fn  # perfect (every window) minus null (3 scorable)
    late_credit = scaled_sigmoid(np.array([-1 / 40]))[0] / MAX_TP
    assert lost.misses == pytest.approx(100 * (STANDARD.tp + STANDARD.fn) / span)
    assert lost.false_positives == pytest.approx(100 * STANDARD.fp / span)
    assert lost.lateness == pytest.approx(100 * (1 - late_credit) / span)
    assert lost.unscorable == pytest.approx(100 * STANDARD.tp / span)
    score = normalise(per_file[0].score, -3 * STANDARD.fn, 4 * STANDARD.tp)
    assert score + sum(dataclasses.astuple(lost)) == pytest.approx(100.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), fn=st.sampled_from([1.0, 2.0]))
def test_the_losses_and_the_score_add_up_to_one_hundred(seed: int, fn: float) -> None:
    rng = np.random.default_rng(seed)
    cost = Cost(1.0, 0.11, fn)
    rows, labelled = [], 0
    for _ in range(3):
        length = int(rng.integers(120, 400))
        starts = np.sort(rng.choice(np.arange(5, length - 20, 25), size=2, replace=False))
        windows = [(int(s), int(s) + int(rng.integers(2, 15))) for s in starts]
        labelled += len(windows)  # some may lie inside the probation
        scores = rng.choice([0.0, 0.2, 0.5, 0.7, 0.9, 1.0], size=length)
        rows.append(sweep_rows(scores, windows, probation_length(length)))
    best = score_corpus(rows, cost, labelled)
    lost = losses([score_at(r, cost, best.threshold) for r in rows], cost, labelled)
    assert min(dataclasses.astuple(lost)) >= 0.0
    assert best.score + sum(dataclasses.astuple(lost)) == pytest.approx(100.0, abs=1e-9)


def test_window_limits_name_rows_by_exact_timestamp() -> None:
    ts = pd.date_range("2026-01-01", periods=100, freq="5min").to_numpy()
    limits = [["2026-01-01 01:00:00.000000", "2026-01-01 02:00:00.000000"]]
    assert window_rows(ts, limits) == ((12, 24),)
    between = [["2026-01-01 01:02:00", "2026-01-01 01:58:00"]]
    assert window_rows(ts, between) == ((13, 23),)


def test_rows_that_step_back_in_time_are_not_shown_to_the_detector() -> None:
    ts = pd.to_datetime(["2026-01-01 00:00", "2026-01-01 00:05", "2026-01-01 00:05",
                         "2026-01-01 00:03", "2026-01-01 00:10"]).to_numpy()  # fmt: skip
    assert in_order(ts).tolist() == [True, True, False, False, True]


def _naive_gaussian(values: np.ndarray) -> np.ndarray:
    """NAB's windowed Gaussian row by row, as its detector's handleRecord does."""
    scores = np.zeros(len(values))
    window: list[float] = []
    buffer: list[float] = []
    mean, std = 0.0, 1.0
    for i, value in enumerate(values):
        if i > 0:
            z = abs(value - mean) / (std if std > 0 else 1e-6)
            scores[i] = 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
        if len(window) < GAUSSIAN_WINDOW:
            window.append(value)
            mean, std = float(np.mean(window)), float(np.std(window))
        else:
            buffer.append(value)
            if len(buffer) == GAUSSIAN_STEP:
                window = window[GAUSSIAN_STEP:] + buffer
                buffer = []
                mean, std = float(np.mean(window)), float(np.std(window))
    return scores


def test_the_windowed_gaussian_matches_nabs_row_by_row_detector() -> None:
    rng = np.random.default_rng(3)
    values = 100 + np.cumsum(rng.normal(0, 1, GAUSSIAN_WINDOW + 3 * GAUSSIAN_STEP + 17))
    ts = pd.date_range("2026-01-01", periods=len(values), freq="5min").to_numpy()
    expected = _naive_gaussian(values)
    np.testing.assert_allclose(windowed_gaussian(ts, values, 0), expected, atol=1e-9)


def test_result_files_use_nabs_layout_and_read_back(tmp_path: Path) -> None:
    data = tmp_path / "data" / "realKnownCause"
    data.mkdir(parents=True)
    ts = pd.date_range("2026-01-01", periods=50, freq="5min")
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": np.arange(50.0)}).to_csv(
        data / "cpu.csv", index=False
    )
    labels = tmp_path / "labels.json"
    window = [[str(ts[20]) + ".000000", str(ts[29]) + ".000000"]]
    labels.write_text(json.dumps({"realKnownCause/cpu.csv": window}))
    (data_file,) = read_corpus(tmp_path / "data", labels)
    assert isinstance(data_file, DataFile) and data_file.windows == ((20, 29),)
    scores = np.linspace(0, 1, 50)
    path = write_result(tmp_path / "out", "vigil", data_file, scores)
    assert path == tmp_path / "out" / "vigil" / "realKnownCause" / "vigil_cpu.csv"
    written = pd.read_csv(path)
    assert written.columns.tolist() == ["timestamp", "value", "anomaly_score", "label"]
    assert written["label"].sum() == 10
    np.testing.assert_allclose(read_result_scores(tmp_path / "out", "vigil", data_file), scores)


def test_published_scores_are_summed_over_the_subset_and_normalised() -> None:
    scores = pd.DataFrame(
        {"Detector": "x", "Profile": "standard", "File": ["a.csv", "b.csv", "c.csv"],
         "Score": [1.5, -1.0, 10.0]}
    )  # fmt: skip
    windows = {"a.csv": [["t0", "t1"], ["t2", "t3"]], "b.csv": [["t0", "t1"]]}
    cost = {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11}
    # raw 0.5 over three windows: null -3, perfect 3 → 100 · 3.5 / 6
    assert subset_score(scores, windows, cost) == pytest.approx(100 * 3.5 / 6)
    assert subset_score(scores, windows, {**cost, "fnWeight": 2.0}) == pytest.approx(100 * 6.5 / 9)
    with pytest.raises(ValueError, match="no published score for"):
        subset_score(scores, {**windows, "d.csv": []}, cost)


def test_vigils_detector_scores_from_the_engines_minimum_history_without_lookahead() -> None:
    """As the engine does, the harness fits a series' first model on its first
    ``MIN_POINTS`` rows and does not wait for the probation; what it writes for a row
    depends on the rows up to it only."""
    ts = pd.date_range("2026-11-01", periods=2 * 288, freq="5min").to_numpy()
    rng = np.random.default_rng(1)
    values = 50 + 10 * np.sin(np.arange(len(ts)) * 2 * np.pi / 288) + rng.normal(0, 1, len(ts))
    values[400] = 120.0
    scores = vigil_score(ts, values, probation_length(len(ts)))
    assert (scores[:MIN_POINTS] == 0).all()
    assert (scores[MIN_POINTS : probation_length(len(ts))] > 0).any()
    assert scores[400] > 0.99 and np.median(scores[MIN_POINTS:]) < 0.5
    cut = 401
    np.testing.assert_array_equal(vigil_score(ts[:cut], values[:cut], 0), scores[:cut])


def test_detection_reports_progress_and_writes_every_result(tmp_path: Path) -> None:
    """The detection phase takes minutes: it reports each finished run, in order, and
    each run's result file is on disk whatever order the pool finished them in."""
    data = tmp_path / "data" / "realKnownCause"
    data.mkdir(parents=True)
    ts = pd.date_range("2026-01-01", periods=80, freq="5min")
    for name, size in (("a.csv", 80), ("b.csv", 60), ("c.csv", 40)):
        frame = pd.DataFrame({"timestamp": ts[:size].strftime("%Y-%m-%d %H:%M:%S"),
                              "value": np.sin(np.arange(size) / 5.0)})  # fmt: skip
        frame.to_csv(data / name, index=False)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({f"realKnownCause/{n}": [] for n in ("a.csv", "b.csv", "c.csv")}))
    files = read_corpus(tmp_path / "data", labels)
    calls: list[tuple[int, int]] = []
    seconds = detect(files, ["windowed_gaussian", "iforest"], tmp_path / "out", 2,
                     lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(n, 6) for n in range(1, 7)]
    assert set(seconds) == {"windowed_gaussian", "iforest"}
    for detector in ("windowed_gaussian", "iforest"):
        for f in files:
            assert len(read_result_scores(tmp_path / "out", detector, f)) == len(f.values)


def test_the_tables_say_what_each_detector_lost_to_each_cause(tmp_path: Path) -> None:
    """Each table row's score and "lost to" columns add up to 100, per profile."""
    data = tmp_path / "data" / "realKnownCause"
    data.mkdir(parents=True)
    ts = pd.date_range("2026-01-01", periods=600, freq="5min")
    values = np.random.default_rng(3).normal(0.0, 1.0, 600)
    values[[300, 450]] += 12.0  # one spike inside the window, one false alarm after it
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(
        data / "a.csv", index=False
    )
    window = [ts[290].strftime("%Y-%m-%d %H:%M:%S"), ts[340].strftime("%Y-%m-%d %H:%M:%S")]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"realKnownCause/a.csv": [window]}))
    files, out = read_corpus(tmp_path / "data", labels), tmp_path / "out"
    detect(files, ["windowed_gaussian"], out, 1)
    profiles = {
        "standard": {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0},
        "reward_low_FN_rate": {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 2.0},
    }
    results = {"windowed_gaussian": evaluate(files, "windowed_gaussian", profiles, out)}
    for profile in profiles:
        row = table(profile, results).splitlines()[-1].split("|")[1:-1]
        assert row[0].strip() == "windowed_gaussian"
        score, *lost = (float(row[i]) for i in (1, 5, 6, 7, 8))
        assert score + sum(lost) == pytest.approx(100.0, abs=0.25)
        assert lost[1] > 0 and lost[2] > 0  # the false alarm and a detection after the start
