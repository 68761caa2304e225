"""``synth.threads.torch_threads``: a thread count for one block, restored after it, even after an error."""

import pytest
import torch

from synth.errors import InputError
from synth.threads import torch_threads


def test_the_count_holds_inside_and_is_restored_after():
    before = torch.get_num_threads()
    other = 1 if before > 1 else 2
    with torch_threads(other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(other):
        raise RuntimeError("a failed command")
    assert torch.get_num_threads() == before
    with torch_threads(None):  # no --threads: left as it is
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("count", [0, -2, 1.5, True])
def test_a_bad_count_is_a_clear_error(count):
    with pytest.raises(InputError, match="--threads must be at least 1"), torch_threads(count):
        pass
