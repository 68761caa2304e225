"""Ctrl-C while ``inverse predict`` refines (:mod:`inverse.finish_early`): the first one asks the work to finish, a
second one stops it at once; outside the main thread nothing changes. The command's answer when stopped:
``tests/inverse/test_predict.py``."""

import os
import signal
import threading

import pytest

from inverse.finish_early import FinishEarly


def test_the_first_ctrl_c_asks_to_finish_and_a_second_stops():
    before = signal.getsignal(signal.SIGINT)
    with FinishEarly() as finish:
        assert not finish()
        os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler at the next bytecode: no exception here
        assert finish()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            signal.getsignal(signal.SIGINT)  # a bytecode or two for the handler to run
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_the_main_thread_nothing_changes():
    seen = {}

    def work():
        with FinishEarly() as finish:
            seen["handler"] = signal.getsignal(signal.SIGINT)
            seen["requested"] = finish()
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen == {"handler": signal.getsignal(signal.SIGINT), "requested": False}
