"""``--tries``: the closest of several seeds' answers, judged by each one's first candidate's match."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import torch

from inverse.tries import answer_tries, best_try


@dataclass
class Answer:  # the two fields best_try reads and writes
    candidates: SimpleNamespace
    tries: dict | None = None


def answer_with(first_match: float) -> Answer:
    return Answer(SimpleNamespace(match=torch.tensor([first_match, first_match + 0.1])))


def test_the_closest_first_candidate_wins_and_a_tie_keeps_the_earlier_seed():
    kept = best_try([(5, answer_with(0.4)), (6, answer_with(0.3)), (7, answer_with(0.3))])
    assert kept.tries == {"seeds": [5, 6, 7], "best_match": [0.4, 0.3, 0.3], "kept_seed": 6}
    alone = answer_with(0.2)
    assert best_try([(0, alone)]) is alone and alone.tries is None  # one try: the answer as it was


def test_ctrl_c_starts_no_further_try_and_bad_counts_are_refused():
    asked, heard = [], []

    def answer(seed: int, k: int) -> Answer:
        asked.append((seed, k))
        heard.append(k == 1)  # Ctrl-C during the second try
        return answer_with(1.0 - k)
    kept = answer_tries(answer, 10, 4, stop=lambda: heard[-1])
    assert asked == [(10, 0), (11, 1)] and kept.tries["kept_seed"] == 11
    for tries in (0, 11):
        with pytest.raises(ValueError, match="tries must be 1..10"):
            answer_tries(answer, 0, tries)
