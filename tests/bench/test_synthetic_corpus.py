"""The synthetic corpus: seeded, labelled where its failures are, in NAB's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.nab.__main__ import category_table, detect, evaluate
from bench.nab.corpus import load_profiles, probation_length, read_corpus, read_result_scores
from bench.nab.failures import FAILURES
from bench.nab.processes import PROCESSES
from bench.nab.scoring import Cost, score_at, sweep_rows
from bench.nab.synthetic import (
    NO_FAILURE,
    SAMPLINGS,
    Labelled,
    corpus,
    main,
    make_series,
    write_corpus,
)

HOUR = np.timedelta64(3600, "s")
GRADUAL = ("drift", "missing_habit")
CASES = [
    (failure, process, sampling, irregular)
    for failure in FAILURES
    for process in FAILURES[failure].processes
    for sampling, irregular in ((SAMPLINGS[1], False), (SAMPLINGS[2], True))
]


def _series(failure: str, process: str, sampling, irregular: bool, seed: int = 7) -> Labelled:
    entropy = np.random.SeedSequence([seed, len(failure), len(process), sampling.step])
    return make_series(FAILURES[failure], PROCESSES[process], sampling, irregular, entropy)


def _spread(s: Labelled) -> float:
    low, high = np.percentile(s.normal, [1, 99])
    return float(high - low)


def test_a_seed_makes_the_same_corpus_and_another_seed_another() -> None:
    first, again, other = corpus(3, 1), corpus(3, 1), corpus(4, 1)
    assert [s.relative_path for s in first] == [s.relative_path for s in again]
    assert all(
        np.array_equal(a.values, b.values) and a.labels == b.labels
        for a, b in zip(first, again, strict=True)
    )
    assert any(
        a.relative_path != b.relative_path or not np.array_equal(a.values, b.values)
        for a, b in zip(first, other, strict=True)
    )


@pytest.mark.parametrize(("failure", "process", "sampling", "irregular"), CASES)
def test_a_failure_changes_nothing_before_its_label_and_something_after(
    failure: str, process: str, sampling, irregular: bool
) -> None:
    s = _series(failure, process, sampling, irregular)
    assert s.labels and list(s.labels) == sorted(s.labels)
    before = slice(0, s.labels[0])
    if failure in GRADUAL:  # labelled once a quarter spread away, not where they begin
        assert np.abs(s.values[before] - s.normal[before]).max(initial=0) <= _spread(s) / 4
    else:
        assert np.array_equal(s.values[before], s.normal[before])
    for label, (_, last) in zip(s.labels, s.windows, strict=True):
        assert np.any(s.values[label : last + 1] != s.normal[label : last + 1])
    floor = PROCESSES[process].floor
    assert floor is None or s.values.min() >= floor


@pytest.mark.parametrize(("failure", "process", "sampling", "irregular"), CASES)
def test_each_failure_is_as_large_as_its_kind_says(
    failure: str, process: str, sampling, irregular: bool
) -> None:
    s = _series(failure, process, sampling, irregular)
    spread, label = _spread(s), s.labels[0]
    after = s.values[label:] - s.normal[label:]
    hours = (s.ts[label:] - s.ts[label]) / HOUR
    if failure == "spike":
        assert s.values[label] >= s.normal.max() + 0.5 * spread
    elif failure == "dip":
        assert s.values[label] < s.normal[label] - 0.1 * spread or s.values[label] < s.normal.min()
    elif failure == "level_shift":  # half a spread, unless a floor clips it
        assert abs(np.median(after)) == pytest.approx(0.5 * spread, rel=0.2)
    elif failure == "drift":  # a quarter spread at the label, a full one by the end, no step
        departure = s.values[label - 1] - s.normal[label - 1]
        assert departure < spread / 4 <= after[0]
        assert after[-1] == pytest.approx(spread)
        assert np.abs(np.diff(after)).max() < 0.1 * spread
    elif failure == "variance":
        assert np.std(after[hours < 6]) > 0.1 * spread
    elif failure == "flatline":
        stuck = s.values[label:][hours < 6]
        assert np.all(stuck == s.values[label]) and not np.all(
            s.normal[label:][hours < 6] == s.normal[label]
        )
    elif failure == "missing_habit":
        assert abs(after[0]) > spread / 4
    else:
        pytest.fail(f"no size test for {failure}")


def test_windows_are_sized_and_centred_as_nab_sizes_them_after_the_probation() -> None:
    for s in corpus(1, 2):
        if s.failure == NO_FAILURE:
            assert s.labels == () and np.array_equal(s.values, s.normal)
            continue
        half = int(0.1 * s.values.size / len(s.labels)) // 2
        assert s.windows == [(row - half, row + half) for row in s.labels]
        assert s.windows[0][0] > probation_length(s.values.size)
        assert all(a[1] < b[0] for a, b in zip(s.windows, s.windows[1:], strict=False))


def test_irregular_series_have_jitter_dropped_rows_and_a_gap() -> None:
    regular = _series("spike", "cpu", SAMPLINGS[0], False)
    irregular = _series("spike", "cpu", SAMPLINGS[0], True)
    steps = np.diff(regular.ts).astype(int)
    assert set(steps) == {60}
    steps = np.diff(irregular.ts).astype(int)
    assert steps.min() > 0 and len(set(steps)) > 10 and steps.max() >= 2 * 3600
    assert irregular.values.size < 0.99 * regular.values.size


def test_the_harness_reads_the_written_corpus_with_its_windows(tmp_path: Path) -> None:
    made = corpus(2, 1)
    write_corpus(tmp_path, made)
    files = {
        f.relative_path: f
        for f in read_corpus(tmp_path / "data", tmp_path / "labels" / "combined_windows.json")
    }
    assert set(files) == {s.relative_path for s in made}
    for s in made:
        f = files[s.relative_path]
        assert np.allclose(f.values, s.values) and list(f.windows) == s.windows
    profiles = load_profiles(tmp_path / "profiles.json")
    assert (
        profiles["standard"]["fpWeight"] == 0.11
        and profiles["reward_low_FP_rate"]["fpWeight"] == 0.22
    )
    assert profiles["reward_low_FN_rate"]["fnWeight"] == 2.0
    listed = (tmp_path / "anomalies.csv").read_text().splitlines()
    assert len(listed) == 1 + sum(len(s.labels) for s in made)


def test_the_command_writes_a_corpus_the_harness_scores(tmp_path: Path, capsys) -> None:
    corpus_dir, out = tmp_path / "corpus", tmp_path / "results"
    assert main(["--out", str(corpus_dir), "--seed", "5", "--per-failure", "1"]) == 0
    assert "8 series" in capsys.readouterr().out
    files = read_corpus(corpus_dir / "data", corpus_dir / "labels" / "combined_windows.json")
    profiles = load_profiles(corpus_dir / "profiles.json")
    detect(files, ["windowed_gaussian"], out, jobs=1)
    scored = evaluate(files, "windowed_gaussian", profiles, out)
    labelled = sum(len(f.windows) for f in files)
    assert labelled >= 7 and all(r.windows == labelled for r, _ in scored.values())
    rows = category_table(out, ["windowed_gaussian"], "standard").splitlines()[4:]
    by_category = {row.split("|")[1].strip(): row.split("|")[2].strip() for row in rows}
    assert set(by_category) == {*FAILURES, NO_FAILURE}
    per_file = [
        score_at(r, Cost.from_matrix(profiles["standard"]), scored["standard"][0].threshold)
        for r in (
            sweep_rows(read_result_scores(out, "windowed_gaussian", f), f.windows, f.probation)
            for f in files
        )
    ]
    for name, cell in by_category.items():
        mine = [s for f, s in zip(files, per_file, strict=True) if f.category == name]
        found = sum(s.tp_windows for s in mine)
        expected = f"{found} / {sum(s.windows for s in mine)}, {sum(s.fp_rows for s in mine)}"
        assert cell == expected


@pytest.mark.parametrize("bad", [["--per-failure", "0"], []])
def test_the_command_refuses_bad_input_and_writes_nothing(tmp_path: Path, bad: list[str]) -> None:
    in_use = tmp_path / "in_use"
    in_use.mkdir()
    (in_use / "notes.txt").write_text("mine")
    target = tmp_path / "fresh" if bad else in_use
    with pytest.raises(SystemExit) as refused:
        main(["--out", str(target), *bad])
    assert refused.value.code == 2
    assert not (tmp_path / "fresh").exists()
    assert [p.name for p in in_use.iterdir()] == ["notes.txt"]
