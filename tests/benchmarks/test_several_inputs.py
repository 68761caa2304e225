"""The several-inputs benchmark's pieces: its command lines, its output comparison and its report (nothing here runs
`inverse predict` or `specmask enhance`)."""

import json
from pathlib import Path

from benchmarks.several_inputs import markdown, same_outputs, together_and_alone


def test_one_command_line_for_all_inputs_and_one_per_input(tmp_path):
    inputs = [Path("a.wav"), Path("b.wav")]
    together, alone = together_and_alone("enhance", inputs, tmp_path)
    assert together[-5:] == ["a.wav", "b.wav", "-o", str(tmp_path / "together"), "--json"]
    assert [argv[-4:] for argv in alone] == [[name, "-o", str(tmp_path / f"alone{k}.wav"), "--json"]
                                             for k, name in enumerate(("a.wav", "b.wav"))]
    together, alone = together_and_alone("predict", inputs, tmp_path)
    assert together.count("--out") == 1 and "a.wav" in together and "b.wav" in together and len(alone) == 2


def test_outputs_are_compared_byte_for_byte_and_answer_for_answer(tmp_path):
    inputs = [Path("x/a.wav"), Path("x/b.wav")]
    (tmp_path / "together").mkdir()
    for k, name in enumerate(("a.wav", "b.wav")):
        (tmp_path / "together" / name).write_bytes(b"same")
        (tmp_path / f"alone{k}.wav").write_bytes(b"same")
    assert same_outputs("enhance", inputs, tmp_path, "", [])
    (tmp_path / "alone1.wav").write_bytes(b"other")
    assert not same_outputs("enhance", inputs, tmp_path, "", [])
    answers = [{"candidates": [1]}, {"candidates": [2]}]
    assert same_outputs("predict", inputs, tmp_path, json.dumps(answers), [json.dumps(a) for a in answers])
    assert not same_outputs("predict", inputs, tmp_path, json.dumps(answers), [json.dumps(a) for a in answers[::-1]])


def test_the_report_gives_each_way_per_input_and_their_ratio():
    def way(seconds):
        return {"wall_s": [seconds], "median_wall_s": seconds, "median_peak_mib": 700, "per_input_s": seconds / 4}
    results = {"command": "python benchmarks/several_inputs.py", "commit": "abc123", "inputs": 4, "repeats": 1,
               "machine": {"cpu_model": "a CPU", "cpus": 2, "torch": "2.11.0"}, "load_before": [1.0] * 3,
               "load_after": [1.2] * 3,
               "measured": {"enhance": {"readings": {"one process": way(3.0), "a process each": way(12.0)},
                                        "same_outputs": True}}}
    text = markdown(results)
    assert "| `specmask enhance` | one process | 3.0 s (3.0) | 0.75 s | 700 MiB |" in text
    assert "enhance: one process / a process each: wall time x0.25 (2.25 s less per input)" in text
    assert "byte for byte): yes." in text
