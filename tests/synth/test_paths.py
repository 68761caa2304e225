"""Path checks and the names of several inputs' outputs."""

import pytest

from synth.errors import InputError
from synth.paths import check_outputs, distinct_stems


def test_distinct_stems_keep_order_and_number_repeats():
    assert distinct_stems(["x/a.wav", "y/a.wav", "b.png", "z/a.flac", "a-2.wav"]) == ["a", "a-2", "b", "a-3", "a-2-2"]
    assert distinct_stems([]) == []


def test_an_output_that_is_an_input_or_another_output_is_refused(tmp_path):
    source = tmp_path / "in.wav"
    source.write_bytes(b"x")
    with pytest.raises(InputError, match="same file as the input"):
        check_outputs({"-o": source}, inputs={"the input": source})
    with pytest.raises(InputError, match="same file as -o"):
        check_outputs({"-o": tmp_path / "a.wav", "--rest": tmp_path / "a.wav"})
    check_outputs({"-o": tmp_path / "a.wav", "--rest": tmp_path / "b.wav"}, inputs={"the input": source})
