"""Two runs' records paired target by target (hand-made records: nothing here runs the benchmark)."""

import json

import pytest

from benchmarks.compare_runs import main


def _record(name: str, mss: float, pitch: dict | None = None, crepe: bool = True, pyin: bool = True,
            diversity: float = 0.3, all_k: int | None = None) -> dict:
    record = {"group": "in_domain", "name": name,
              "methods": {"hybrid_refined": {"best_mss": mss, "diversity": diversity}}}
    if pitch is not None:
        record["target_pitch"] = pitch
        record["methods"]["hybrid_refined"] |= {"pitch": {"within": crepe}, "pitch_pyin": {"within": pyin}}
    if all_k is not None:
        record["methods"]["hybrid_refined"]["pitch_all"] = {"within": all_k, "candidates": 10}
    return record


def _write(folder, records, name="inverse_quality.partial.jsonl"):
    folder.mkdir()
    lines = [{"settings": {}}, *records]
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in lines))


def test_pairs_targets_and_counts_gains_and_losses(tmp_path):
    clear, agreed = {"clear": True, "trackers_agree": False}, {"clear": True, "trackers_agree": True}
    _write(tmp_path / "before", [_record("row0", 0.4, diversity=0.2), _record("row1", 0.2, agreed, pyin=False),
                                 _record("row2", 0.3, clear, all_k=4), _record("row3", 0.5)])
    _write(tmp_path / "after", [_record("row0", 0.2), _record("row1", 0.2, agreed, pyin=True, all_k=9),
                                _record("row2", 0.3, clear, crepe=False, all_k=7)])  # row3 not yet run: not paired
    main([str(tmp_path / "before"), str(tmp_path / "after")])
    result = json.loads((tmp_path / "after" / "compare_before.json").read_text())["groups"]["in_domain"]
    assert result["targets"] == 3 and (result["better"], result["worse"]) == (1, 0)
    assert result["best_mss_before"] == pytest.approx(0.3) and result["change"] == pytest.approx(0.7 / 0.9 - 1)
    crepe, pyin, two = (result["pitch"][k] for k in ("CREPE", "pYIN", "pYIN, two-tracker rule"))
    assert (crepe["judged"], crepe["before"], crepe["after"], crepe["lost"]) == (2, 2, 1, ["row2"])
    assert (pyin["before"], pyin["after"], pyin["gained"]) == (1, 2, ["row1"])
    assert (two["judged"], two["gained"]) == (1, ["row1"])
    diversity = result["diversity"]
    assert (diversity["before"], diversity["after"]) == (pytest.approx(0.8 / 3), pytest.approx(0.3))
    assert diversity["change"] == pytest.approx(0.9 / 0.8 - 1)
    # "all K" only where both runs recorded it (row1's before did not): row2, 4 -> 7 of 10.
    assert result["pitch_all"] == {"targets": 1, "candidates": 10, "before": 4, "after": 7}
    report = (tmp_path / "after" / "compare_before.md").read_text()
    assert "| in_domain | 3 | 0.300 | 0.233 |" in report and "| in_domain | 1 | 10 | 4 | 7 |" in report


def test_refuses_a_folder_without_records(tmp_path):
    with pytest.raises(SystemExit):
        main([str(tmp_path), str(tmp_path)])


def test_reads_a_results_folders_records_file(tmp_path):
    _write(tmp_path / "before", [_record("row0", 0.4)], name="records.jsonl")  # as benchmarks/results keeps it
    _write(tmp_path / "after", [_record("row0", 0.2)])
    main([str(tmp_path / "before"), str(tmp_path / "after")])
    result = json.loads((tmp_path / "after" / "compare_before.json").read_text())["groups"]["in_domain"]
    assert result["change"] == pytest.approx(-0.5)


def test_pairs_another_method_of_the_later_run(tmp_path):
    _write(tmp_path / "before", [_record("row0", 0.4), _record("row1", 0.2)])
    later = [_record("row0", 0.5), _record("row1", 0.3)]
    for record in later:
        record["methods"] = {"hybrid": record["methods"]["hybrid_refined"]}  # predict without refinement
    _write(tmp_path / "after", later)
    main([str(tmp_path / "before"), str(tmp_path / "after"), "--after-method", "hybrid"])
    result = json.loads((tmp_path / "after" / "compare_before.json").read_text())
    assert result["groups"]["in_domain"]["change"] == pytest.approx(0.8 / 0.6 - 1)
    assert result["groups"]["in_domain"]["worse"] == 2
    assert (tmp_path / "after" / "compare_before.md").read_text().startswith("# `hybrid_refined` -> `hybrid`:")


def test_counts_targets_made_by_other_render_builds(tmp_path, capsys):
    def built(name: str, build: str | None) -> dict:
        record = _record(name, 0.3)
        if build is not None:
            record["render_build"] = build  # as inverse_quality.py writes it: one per target line
        return record

    _write(tmp_path / "before", [built("row0", "voice-a gradient-b"), built("row1", "voice-a gradient-b"),
                                 built("row2", None)])
    _write(tmp_path / "after", [built("row0", "voice-a gradient-b"), built("row1", "voice-c gradient-d"),
                                built("row2", "voice-a gradient-b")])
    main([str(tmp_path / "before"), str(tmp_path / "after")])
    result = json.loads((tmp_path / "after" / "compare_before.json").read_text())["groups"]["in_domain"]
    assert result["builds"] == {"same": 1, "other": 1, "unknown": 1}
    assert "**other on 1**" in (tmp_path / "after" / "compare_before.md").read_text()
    assert "warning: Render builds of the 3 paired targets: the same on 1, other on 1" in capsys.readouterr().err


def test_says_when_every_pair_shares_its_build(tmp_path, capsys):
    before, after = _record("row0", 0.4), _record("row0", 0.2)
    before["render_build"] = after["render_build"] = "voice-a gradient-b"
    _write(tmp_path / "before", [before])
    _write(tmp_path / "after", [after])
    main([str(tmp_path / "before"), str(tmp_path / "after")])
    assert "Render builds: the same on all 1 paired targets." in (tmp_path / "after" / "compare_before.md").read_text()
    assert "warning" not in capsys.readouterr().err
