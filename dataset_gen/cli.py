"""``python -m dataset_gen``: parse arguments and call the functions that do the work.

Exit status: 0 success; 1 ``verify`` found a problem; 2 bad input (one ``error: ...`` line on stderr);
130 interrupted (the rows written so far are kept for a resume).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from dataset_gen.layout import COMPRESSIONS
from synth.errors import InputError
from synth.prior import LATEST_PRIOR, PRIOR_VERSIONS, SAMPLERS
from synth.threads import torch_threads

SUBCOMMANDS = ("generate", "info", "verify", "merge", "export-png")

_DESCRIPTION = """\
Render paired (params, spectrogram[, audio]) HDF5 datasets.

  python -m dataset_gen --n N --out FILE [options]   render a dataset (or one --shard i/N of it)
  python -m dataset_gen info FILE                     attributes, counts, sizes
  python -m dataset_gen verify FILE                   re-render rows and compare with what is stored
  python -m dataset_gen merge SHARDS... -o FILE       combine shards into one dataset (virtual datasets)
  python -m dataset_gen export-png FILE --index I -o spec.png
                                                      one stored spectrogram as a PNG (same bytes)

`python -m dataset_gen COMMAND --help` describes each command."""


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are an :class:`InputError` (one ``error:`` line) instead of usage + error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see {self.prog} --help)")


def _generate_parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, required=True, help="rows in the whole dataset (all shards together)")
    p.add_argument("--out", type=Path, required=True, help="output file; written as FILE.partial until complete")
    p.add_argument("--seed", type=int, default=0, help="example i depends only on (seed, i) (default 0)")
    p.add_argument("--sampler", default="uniform", choices=SAMPLERS, help="prior sampler (default uniform)")
    p.add_argument("--prior", default=LATEST_PRIOR, choices=PRIOR_VERSIONS,
                   help=f"prior version (synth.prior): 1 random patches, 2 random + musical (default {LATEST_PRIOR})")
    p.add_argument("--batch-size", type=int, default=32, help="rows rendered at once; never changes content "
                   "(default 32)")
    p.add_argument("--audio", action="store_true", help="also store the audio (/audio)")
    p.add_argument("--audio-dtype", choices=("float16", "float32"), default=None,
                   help="dtype of /audio (default float16; implies --audio)")
    p.add_argument("--compression", default="lzf", choices=tuple(COMPRESSIONS),
                   help="lzf (default: fastest to read), gzip (smaller, readable by every HDF5 tool) or none")
    p.add_argument("--device", default="cpu", help="where to render: cpu (default) or cuda")
    p.add_argument("--render", choices=("fast", "eager"), default=None,
                   help="synth render path: fast (default on the CPU: the synth compiled ahead of time for this "
                        "machine, built on first use in 1-2 minutes and cached; see `python -m synth fast-render`) "
                        "or eager (PyTorch ops; the default on cuda). Recorded in the file; verify re-renders on it")
    p.add_argument("--shard", default="0/1", help="write only shard i of N (contiguous rows), e.g. 3/8; "
                   "combine shards with `merge`")
    p.add_argument("--workers", type=_workers, default="auto",
                   help="render processes, each pinned to one CPU with one thread (the same bytes; 1.1-1.25x faster "
                        "than one process on 2 cores); 1: render in this process (default auto: one per CPU this "
                        "process may use on --device cpu, 1 with --threads, on cuda or for a single batch). With the "
                        "fast render they use its one-CPU build (built on first use, ~45 s)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads when rendering in this process (--workers 1, the default when this is "
                   "given; default: torch's choice; the fast render's compiled loops run on the CPUs this process "
                   "may use whatever this says)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output, and start over instead of resuming FILE.partial")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _workers(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of worker processes or auto, got {text!r}") from None


def _info_parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"{prog} info", description="Describe a dataset file: status, attributes, datasets, sizes.")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def _verify_parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"{prog} verify", description="Check structure, attributes and completeness; compare every "
                "row's parameters with the prior and re-render rows (all rows of files up to 256 rows, a random "
                "256 otherwise) comparing the bytes. Exit status 1 on any problem.")
    p.add_argument("file", type=Path)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--sample", type=int, default=None, help="re-render this many random rows")
    group.add_argument("--all", action="store_true", help="re-render every row")
    p.add_argument("--sample-seed", type=int, default=0, help="which random rows (default 0)")
    p.add_argument("--device", default=None, help="re-render on this device (default: the one recorded)")
    p.add_argument("--render", choices=("fast", "eager"), default=None,
                   help="re-render on this synth path (default: the one recorded; files made before paths were "
                        "recorded: eager)")
    p.add_argument("--tolerance", type=int, default=0,
                   help="allowed difference in 8-bit levels (default 0; 1 across devices)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def _merge_parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"{prog} merge", description="Combine shard files into one dataset of HDF5 virtual "
                "datasets (no data is copied: keep the shards next to it). Shards must come from one dataset "
                "definition and cover every row exactly once.")
    p.add_argument("shards", type=Path, nargs="+")
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    return p


def _export_parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"{prog} export-png", description="Write one stored spectrogram as a 512x512 PNG holding "
                "the same bytes (high frequencies on top).")
    p.add_argument("file", type=Path)
    p.add_argument("--index", type=int, required=True, help="row of the file")
    p.add_argument("-o", "--out", type=Path, required=True)
    return p


def _run_generate(args: argparse.Namespace) -> int:
    from dataset_gen.generate import GenerateOptions, generate
    from dataset_gen.layout import NO_AUDIO, Shard
    from dataset_gen.render_workers import auto_workers

    audio_dtype = args.audio_dtype or ("float16" if args.audio else NO_AUDIO)
    shard = Shard.parse(args.shard)
    workers = args.workers
    if workers == "auto":  # this shard's rows, about (options.validate() checks the split)
        rows = max(args.n, 0) // shard.count
        workers = 1 if args.threads is not None else auto_workers(args.device, rows, args.batch_size)
    options = GenerateOptions(num_rows=args.n, out=args.out, seed=args.seed, sampler=args.sampler, prior=args.prior,
                              batch_size=args.batch_size, compression=args.compression, audio_dtype=audio_dtype,
                              device=args.device, render=args.render or ("fast" if args.device == "cpu" else "eager"),
                              shard=shard, overwrite=args.overwrite, workers=workers)
    try:
        with torch_threads(args.threads):
            summary = generate(options, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"interrupted: {_saved_rows(args.out)}; run the same command again to resume", file=sys.stderr)
        return 130
    print("\n".join(summary.lines()))
    return 0


def _saved_rows(out: Path) -> str:
    from dataset_gen.layout import FileAttrs, open_h5, partial_path

    partial = partial_path(out)
    try:
        with open_h5(partial) as f:
            attrs = FileAttrs.read(f, partial)
        return f"{attrs.complete_rows} of {attrs.num_rows} rows are saved in {partial}"
    except (InputError, OSError):
        return f"the rows written so far are in {partial}"


def _run_info(args: argparse.Namespace) -> int:
    from dataset_gen.info import describe, format_description

    info = describe(args.file)
    print(json.dumps(info, indent=2) if args.json else "\n".join(format_description(info)))
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    from dataset_gen.verify import verify

    with torch_threads(args.threads):
        report = verify(args.file, sample=args.sample, all_rows=args.all, sample_seed=args.sample_seed,
                        device=args.device, render=args.render, tolerance=args.tolerance,
                        progress=not args.json and sys.stderr.isatty())
    print(json.dumps(report.to_json(), indent=2) if args.json else "\n".join(report.lines()))
    return 0 if report.ok else 1


def _run_merge(args: argparse.Namespace) -> int:
    from dataset_gen.merge import merge

    print("\n".join(merge(args.shards, args.out, overwrite=args.overwrite).lines()))
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from dataset_gen.export import export_png

    export_png(args.file, args.index, args.out)
    print(f"wrote {args.out} (row {args.index} of {args.file})")
    return 0


_COMMANDS = {
    "generate": (_generate_parser, _run_generate),
    "info": (_info_parser, _run_info),
    "verify": (_verify_parser, _run_verify),
    "merge": (_merge_parser, _run_merge),
    "export-png": (_export_parser, _run_export),
}


def main(argv: Sequence[str] | None = None, prog: str = "python -m dataset_gen") -> int:
    """Run one command (``argv`` without the program name). Returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in SUBCOMMANDS else "generate"
    make_parser, run = _COMMANDS[command]
    try:
        return run(make_parser(prog).parse_args(argv))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        from dataset_gen.layout import short_reason

        name = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"error: {name}{exc.strerror or short_reason(exc)}", file=sys.stderr)
        return 2
