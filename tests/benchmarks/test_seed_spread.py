"""Runs with other seeds compared target by target (hand-made records: nothing here runs the benchmark)."""

import json

import pytest

from benchmarks.seed_spread import main


def write_run(folder, values: dict[tuple[str, str], tuple[float, float]]) -> None:
    """``(group, name) -> (best-of-10 MSS, the first candidate's match)``."""
    folder.mkdir()
    lines = [{"group": group, "name": name, "methods": {"hybrid_refined": {"best_mss": mss, "best_match": match}}}
             for (group, name), (mss, match) in values.items()]
    (folder / "records.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_the_spread_and_the_best_of_the_seeds_per_group(tmp_path, capsys):
    write_run(tmp_path / "s0", {("in_domain", "a"): (0.2, 0.5), ("in_domain", "b"): (0.4, 0.6),
                                ("sox", "c"): (0.5, 0.9), ("in_domain", "only_here"): (9.0, 9.0)})
    write_run(tmp_path / "s1", {("in_domain", "a"): (0.3, 0.4), ("in_domain", "b"): (0.4, 0.6),
                                ("sox", "c"): (0.25, 0.3)})
    assert main([str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "out")]) == 0
    groups = json.loads((tmp_path / "out" / "seed_spread.json").read_text())["groups"]
    domain, sox = groups["in_domain"], groups["sox"]
    assert domain["targets"] == 2 and domain["mean_best_mss"] == pytest.approx([0.3, 0.35])  # "only_here": not paired
    assert domain["median_spread"] == pytest.approx(0.25) and domain["max_spread"] == pytest.approx(0.5)
    assert domain["best_of_seeds_vs_first"] == pytest.approx(0.0)  # seed 0 was already the closer one on both
    assert sox["max_spread"] == pytest.approx(1.0) and sox["best_of_seeds_vs_first"] == pytest.approx(-0.5)
    # kept by the closer first candidate: on "a" the farther sound (its match misled it), on "b" (a tie) seed 0
    counts = {group: (row["kept_by_match_closer"], row["kept_by_match_farther"]) for group, row in groups.items()}
    assert domain["kept_by_match_vs_first"] == pytest.approx(0.7 / 0.6 - 1) and counts["in_domain"] == (0, 1)
    assert sox["kept_by_match_vs_first"] == pytest.approx(-0.5) and counts["sox"] == (1, 0)
    assert "| sox | 1 | 0.500 / 0.250 | 100.0 % | 100.0 % | 100.0 % | -50.0 % | -50.0 % (1 / 0) |" in (
        capsys.readouterr().out)


def test_one_run_or_a_folder_without_records_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="at least two runs"):
        main([str(tmp_path / "empty")])
    with pytest.raises(SystemExit, match="no inverse_quality records"):
        main([str(tmp_path / "empty"), str(tmp_path / "empty")])
