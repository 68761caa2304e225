"""Rendering in worker processes, one per CPU, for ``python -m dataset_gen``.

One process with two torch threads renders a 2-core machine's rows at ~1.3x one thread's speed: the compiled
kernels and FFTs split every batch in two and wait for each other, and the Python and small operations between
them run on one core. Two processes with one thread each, each pinned to its own CPU, render whole batches side
by side: on a 2-core AMD EPYC 221-245 against 198-222 examples/s render-only, and ``python -m dataset_gen --n
5000`` 1.24x faster end to end (``benchmarks/results/dataset_speed.md``).

A worker pinned to one CPU sees one CPU, so its fast render is the library built for one thread
(:func:`synth.aot_compile.build_threads` is part of the cache key; the first worker builds it on first use,
~45 s, and the others wait for it). Its audio is the same, bit for bit, as the library built for the machine's
CPUs (``tests/dataset_gen/test_render_workers.py``), and every row depends only on its index, so a dataset
written by workers holds the same bytes as one written in one process, and verifies on the same path.

Batch ``j`` goes to worker ``j mod W`` and comes back in order; each worker holds at most :data:`QUEUED` batches,
so memory does not grow with the number of rows. Workers are forked (no second ``import torch``) before the
caller starts any thread, ignore Ctrl-C (the main process saves what it has and stops them) and exit when the
main process goes away.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection

import torch

from dataset_gen.chunks import StoredBatch, stored
from dataset_gen.rendering import ExampleRenderer, RenderedBatch
from synth.errors import InputError, note, one_line


class WorkerError(RuntimeError):
    """A render worker could not start, failed or stopped (its error, in one line, in the message)."""


#: Batches queued per worker (one rendering, one waiting): enough to keep every worker busy.
QUEUED = 2
#: Seconds a worker gets to exit once its pipe is closed before it is terminated.
EXIT_SECONDS = 5.0


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (``os.sched_getaffinity``; ``range(os.cpu_count())`` where that is missing)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def auto_workers(device: str, rows: int, batch_size: int) -> int:
    """``--workers auto``: one worker per usable CPU on the CPU device when there are at least two CPUs and two
    batches to render, else 1 (render in this process)."""
    batches = -(-rows // max(1, batch_size))
    if device != "cpu" or batches < 2 or not hasattr(os, "sched_setaffinity"):
        return 1
    count = len(usable_cpus())
    return min(count, batches) if count >= 2 else 1


def check_workers(workers: int, device: str) -> None:
    """Raise :class:`InputError` for a worker count that cannot run here."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers must be a positive number or auto, got {workers!r}")
    if workers == 1:
        return
    if device != "cpu":
        raise InputError(f"--workers {workers}: render workers run on the CPU; with --device {device} pass --workers 1")
    if not hasattr(os, "sched_setaffinity"):
        raise InputError(f"--workers {workers}: render workers need CPU pinning (Linux); pass --workers 1")
    cpus = len(usable_cpus())
    if workers > cpus:
        raise InputError(f"--workers {workers}: this process may use {cpus} CPU(s), one worker each at most")


class RenderWorkers:
    """``W`` processes that render rows of one dataset (``ExampleRenderer(**renderer)`` each, pinned to one of
    ``cpus``, one torch thread). :meth:`batches` yields the rows of each ``(start, count)`` in order, rendered
    (:class:`RenderedBatch`) or filtered for the file (:class:`StoredBatch`). Use as a context manager (the workers
    are stopped on exit, whatever happened)."""

    def __init__(self, cpus: Sequence[int], renderer: dict, compression: str | None = None) -> None:
        """``renderer``: :class:`ExampleRenderer`'s keyword arguments (``render_path`` as requested: each worker
        resolves it, building its one-CPU fast render where needed). ``compression``: the batches come back as
        :class:`~dataset_gen.chunks.StoredBatch`, filtered for a file with that compression by the workers (None:
        as :class:`RenderedBatch`). Raises :class:`WorkerError` when a worker cannot start."""
        context = multiprocessing.get_context("fork")  # fast (torch is already imported) and nothing re-imported
        self._links: list[Connection] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self.cpus = list(cpus)
        try:
            for cpu in self.cpus:
                ours, theirs = context.Pipe()
                self._links.append(ours)  # a worker closes its copies of these: each pipe ends when we close it
                process = context.Process(target=_serve, args=(theirs, list(self._links), cpu, renderer, compression),
                                          daemon=True, name=f"dataset-render-cpu{cpu}")
                process.start()
                theirs.close()
                self._processes.append(process)
            paths = {self._receive(k, "ready") for k in range(len(self.cpus))}
        except BaseException:
            self.close()
            raise
        if len(paths) != 1:
            self.close()
            raise WorkerError(f"render workers resolved different render paths: {sorted(paths)}")
        #: The render path every worker takes (``fast`` or ``eager``): what the dataset records.
        self.render_path: str = paths.pop()

    def __enter__(self) -> RenderWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def batches(self, ranges: Sequence[tuple[int, int]]) -> Iterator[RenderedBatch | StoredBatch]:
        """The rendered rows of each ``(start, count)`` of ``ranges``, in order (rendered ahead, at most
        :data:`QUEUED` batches per worker)."""
        count = len(self._links)
        ahead = min(len(ranges), QUEUED * count)
        for j in range(ahead):
            self._links[j % count].send(ranges[j])
        for j in range(len(ranges)):
            batch = self._receive(j % count, "batch")
            if ahead < len(ranges):
                self._links[ahead % count].send(ranges[ahead])
                ahead += 1
            yield batch

    def close(self) -> None:
        """Stop every worker: closing this end of its pipe ends it (idle, or blocked sending a batch no one will
        read); one still alive after :data:`EXIT_SECONDS` is terminated."""
        for link in self._links:
            link.close()
        for process in self._processes:
            process.join(EXIT_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join()
        self._links, self._processes = [], []

    def _receive(self, k: int, expected: str):
        """Worker ``k``'s next message of kind ``expected``; its error or its death is a :class:`WorkerError`."""
        try:
            kind, payload = self._links[k].recv()
        except (EOFError, OSError):
            process = self._processes[k]
            process.join(EXIT_SECONDS)
            raise WorkerError(f"the render worker on CPU {self.cpus[k]} stopped (exit code {process.exitcode})"
                              ) from None
        if kind == "error":
            raise WorkerError(f"the render worker on CPU {self.cpus[k]} failed: {payload}")
        if kind != expected:  # a protocol slip, not a user's error
            raise WorkerError(f"render worker on CPU {self.cpus[k]}: expected {expected!r}, got {kind!r}")
        return payload


def _serve(link: Connection, inherited: list[Connection], cpu: int, renderer: dict, compression: str | None) -> None:
    """A worker's life: pin to ``cpu``, one torch thread, build the renderer, answer ``(start, count)`` with
    ``("batch", RenderedBatch)`` (or its :class:`StoredBatch` for ``compression``) until the main process closes
    the pipe or goes away; any failure is sent as ``("error", one line)`` and ends the worker. ``inherited``: the
    main process's ends of the pipes made so far (this one's too), which the fork copied here and which must close
    for a pipe to end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    for end in inherited:
        end.close()
    try:
        os.sched_setaffinity(0, {cpu})
        torch.set_num_threads(1)
        worker = ExampleRenderer(**renderer, log=note)
        link.send(("ready", worker.render_path))
        while True:
            start, count = link.recv()
            batch = worker.render(start, count)
            link.send(("batch", batch if compression is None else stored(batch, compression)))
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the main process closed the pipe, or is gone
        return
    except Exception as error:  # noqa: BLE001 - every failure goes back to the main process as one line
        last = traceback.extract_tb(error.__traceback__)[-1]
        where = f" ({os.path.basename(last.filename)}:{last.lineno})" if last else ""
        try:
            link.send(("error", f"{type(error).__name__}: {one_line(error)}{where}"))
        except OSError:
            pass
