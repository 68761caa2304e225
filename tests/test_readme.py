"""The README's parameter table is generated, never hand-edited: it must match the generator."""

from pathlib import Path

from synth.cli import README_MARKERS, param_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_parameter_table_is_in_sync():
    text = README.read_text()
    start, end = README_MARKERS
    block = text[text.index(start) + len(start):text.index(end)].strip()
    assert block == param_table("markdown"), "regenerate with: make docs"
