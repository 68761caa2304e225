"""``inverse``: train the model, predict candidate patches for a sound, evaluate a model, search without one.

Thin argument parsing over :func:`inverse.train.train`, :class:`inverse.predict.Predictor`,
:func:`inverse.evaluate.evaluate_model` and :func:`inverse.search.search`; bad input ends as
``error: <one line>`` with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from inverse.checkpoint import DEFAULT_MODEL as DEFAULT_INVERSE_MODEL
from inverse.config import BackboneConfig, HeadConfig, ModelConfig
from inverse.quick import BUDGET_REFINE, QUICK_BELOW_S, quick_budget, quick_defaults, quick_options
from inverse.refine import EAGER_GRADIENT_BELOW, REFINE_METHODS, RefineConfig
from inverse.retrieval import IndexConfig
from inverse.sampling import SamplingConfig
from inverse.search import SEARCH_METHODS
from synth.fast_render import RENDER_PATHS
from synth.fast_render import resolve as resolve_render_path

if TYPE_CHECKING:  # the training code is imported by the train command only: predict stays light
    from inverse.predict import Prediction
    from inverse.train import TrainConfig
from synth.errors import (
    InputError,
    json_kind,
    non_negative_float,
    non_negative_int,
    note,
    one_line,
    positive_float,
    positive_int,
    probability,
    run_command,
)
from synth.paths import check_input_file, check_output_dir, distinct_stems


def _read_config(path: str) -> tuple[ModelConfig, TrainConfig]:
    """``--config FILE`` (``best_config.json`` of ``inverse tune``, or written by hand) -> its model and training
    configs (a missing section: the defaults); anything malformed is one line naming the file and the section."""
    from inverse.train import TrainConfig

    check_input_file(path)
    try:
        saved = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: expected a JSON config, could not parse it ({one_line(error)})") from None
    if not isinstance(saved, dict):
        raise InputError(f"{path}: expected a JSON object with 'model' and/or 'train' sections, got "
                         f"{json_kind(saved)}")

    def section(name: str, build, default):
        try:
            return build(saved[name]) if name in saved else default
        except InputError as error:
            raise InputError(f"{path}: in '{name}': {error}") from None

    return (section("model", ModelConfig.from_json, ModelConfig()),
            section("train", TrainConfig.from_json, TrainConfig()))


def _check_init(args: argparse.Namespace) -> None:
    """``--init`` trains a checkpoint's model as it is: no model options beside it."""
    if args.init and (args.widths or args.stem_stride):
        raise InputError("--init trains that model as it is: leave out --widths and --stem-stride")


def _model_config(args: argparse.Namespace) -> ModelConfig:
    """The model of ``--widths`` / ``--stem-stride`` (defaults where not given)."""
    backbone = {"widths": tuple(args.widths) if args.widths else None, "stem_stride": args.stem_stride}
    return ModelConfig(BackboneConfig(**{k: v for k, v in backbone.items() if v is not None}), HeadConfig())


def _cmd_train(args: argparse.Namespace) -> int:
    from inverse.train import TrainConfig, train

    check_output_dir(args.out, "--out")
    _check_init(args)
    base = TrainConfig()
    if args.config:
        model_config, base = _read_config(args.config)
    else:
        model_config = _model_config(args)
    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
                 if getattr(args, f.name, None) is not None}
    config = TrainConfig.from_json({**{f.name: getattr(base, f.name) for f in fields(TrainConfig)}, **overrides})
    metrics = train(args.train, args.out, val_path=args.val, model_config=model_config, config=config,
                    device=args.device, resume=args.resume, init=args.init)
    print(json.dumps(metrics, indent=2))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from inverse.finish_early import FinishEarly
    from inverse.predict import Predictor

    _check_out(args)
    _check_targets(args)
    if quick_budget(args.seconds) and not args.quick:
        print(f"note: --seconds {args.seconds:g} is under the {QUICK_BELOW_S:g} s the default pool may take on 2 CPU "
              "cores: answering as --quick does, its best candidate refined in what is left (options given beside it "
              "count)", file=sys.stderr, flush=True)
    refine = RefineConfig(method=args.refine, steps=args.steps, lr=args.refine_lr, pitch_step=args.pitch_step,
                          budget=args.budget, seed=args.seed, rows=args.refine_rows, retune=args.retune,
                          fine_pitch=args.fine_pitch)
    flow = None if args.sampler == "latent" else (args.flow or "auto")
    index = None if args.index == "none" else (args.index or "auto")
    predictor = Predictor.from_checkpoint(args.model, device="cpu", flow=flow, index=index)
    if args.sampler == "flow" and predictor.flow is None:
        raise InputError("--sampler flow: no flow sampler for this model; pass --flow runs/FLOW/best (`inverse "
                         "train-flow`)")
    render = _render_path(args)
    finish = FinishEarly()

    def answer(job: _Job, progress: _StageLines | None) -> Prediction:
        def told(fraction: float, stage: str) -> None:  # the stage lines say that Ctrl-C was heard
            progress(fraction, f"{stage} (Ctrl-C: finishing with what there is; again: stop at once)"
                     if finish() else stage)
        return predictor.predict(job.path, args.samples, pool=args.pool, retrieved=args.retrieved, sigma=args.sigma,
                                 min_distance=args.min_distance, within=args.within,
                                 match_within=args.match_within, expand=args.expand,
                                 spread=args.spread, plain=args.plain, refit=args.refit, chords=args.chords,
                                 glides=args.glides, modulation=args.modulation, harmonics=args.harmonics,
                                 seed=args.seed,
                                 convert=args.convert, downmix=args.downmix, start=job.start, align=args.align,
                                 gate_noise=args.gate_noise, length=job.length,
                                 refine=refine, pitch_check=not args.no_pitch_check,
                                 pitch_rounds=args.pitch_rounds, pitch_fill=args.pitch_fill,
                                 render=render, seconds=args.seconds, progress=None if progress is None else told,
                                 stop=finish)
    with finish:
        return _answer_each(args, answer, stage_lines=True, stop=finish)


def _check_targets(args: argparse.Namespace) -> None:
    """Every target file before any work: a typo in the 20th is not found after 19 answers."""
    for path in args.target:
        check_input_file(path)


@dataclass(frozen=True)
class _Job:
    """One answer of ``predict`` or ``search``: the target file ``path`` read from ``start`` seconds for ``length``
    (None: all of the window), named ``label`` in lines and ``folder`` under ``--out`` when there are several;
    ``melody_phrase``: one note of a melody (``--each-note``), the whole melody as phrase text
    (:func:`inverse.melody.melody_phrase`), which its answer's JSON carries."""

    path: str
    label: str
    folder: str
    start: float
    length: float | None
    melody_phrase: str | None = None


def _jobs(args: argparse.Namespace) -> list[_Job]:
    """One job per target file, or with ``--each-note`` one per held note of each file whose pitch steps through
    several (:func:`inverse.melody.note_parts`) and one per sounding part of each file whose sound comes in several
    with silence between them (:func:`inverse.parts.part_spans`; the others answered whole, with a note)."""
    stems = distinct_stems(args.target)
    if not args.each_note:
        return [_Job(path, path, stem, args.start, args.length) for path, stem in zip(args.target, stems)]
    from inverse.melody import melody_phrase, note_parts
    from inverse.parts import part_spans
    from inverse.target import load_any_target

    jobs = []
    for path, stem in zip(args.target, stems):
        try:
            target = load_any_target(path, convert=args.convert, downmix=args.downmix, start=args.start,
                                     align=args.align, gate_noise=args.gate_noise, length=args.length)
        except InputError:  # answered whole: it fails there, alone where there are several
            jobs.append(_Job(path, path, stem, args.start, args.length))
            continue
        if target.reconstructed:
            raise InputError(f"{path}: --each-note cuts an audio file into its notes; a spectrogram cannot be cut")
        phrase = None
        if target.melody:
            names = [f"note {k} ({held.name})" for k, held in enumerate(target.melody, start=1)]
            folders = [f"{stem}_note{k}_{held.name}" for k, held in enumerate(target.melody, start=1)]
            spans, phrase = note_parts(target.melody), melody_phrase(target.melody)
        elif target.parts:
            spans = part_spans(target.parts)
            names = [f"part {k} (at {target.start_s + begin:.2f} s)" for k, (begin, _) in enumerate(spans, start=1)]
            folders = [f"{stem}_part{k}" for k in range(1, len(spans) + 1)]
        else:
            note(f"{path}: --each-note: neither does its pitch step through several held notes nor does its sound "
                 "come in several parts with silence between them; answered whole")
            jobs.append(_Job(path, path, stem, args.start, args.length))
            continue
        for name, folder, (begin, length) in zip(names, folders, spans):
            if args.length is not None:  # a part ends where the kept part of the file does
                length = min(length or args.length, args.length - begin)
            jobs.append(_Job(path, f"{path} {name}", folder, round(target.start_s + begin, 4),
                             None if length is None else round(length, 4), phrase))
    return jobs


def _write_melodies(jobs: list[_Job], answers: list[dict], out: Path) -> list[str]:
    """For each file answered note by note (``--each-note``), its melody played back by each note's best candidate
    (:func:`inverse.melody.replayed`): ``out/STEM_melody.wav``, to hear the answers as one. Returns their names."""
    import torch

    from inverse.melody import replayed
    from synth.audio_io import write_wav
    from synth.spectrogram import DEFAULT_CONFIG

    melodies: dict[tuple[str, str, str], list[dict]] = {}
    written = []
    for job, answer in zip(jobs, answers):
        if job.melody_phrase:
            stem = job.folder[:job.folder.rindex("_note")]
            melodies.setdefault((job.path, stem, job.melody_phrase), []).append(answer)
    for (path, stem, phrase), notes in melodies.items():
        patches = [torch.tensor(a["candidates"][0]["normalized"]) if a.get("candidates") else None for a in notes]
        wav = out / f"{stem}_melody.wav"
        write_wav(wav, replayed(phrase, patches), DEFAULT_CONFIG.sample_rate)
        note(f"{path}: its melody played back, each note by its answer's best candidate: {wav}")
        written.append(wav.name)
    return written


def _answer_each(args: argparse.Namespace, answer: Callable[[_Job, _StageLines | None], Prediction],
                 stage_lines: bool, stop: Callable[[], bool] | None = None) -> int:
    """``answer(job, progress) -> Prediction`` for each of :func:`_jobs` in turn, each reported as it is done
    (:func:`_report`; several: each into ``--out/FOLDER/``, the JSON as one list at the end). With several, a
    job that cannot be answered (its file unreadable, its part silent) fails alone: an ``error:`` line, its JSON
    entry ``{"source", "error"}``, the others answered, exit status 2. ``stage_lines``: ``progress`` is a
    :class:`_StageLines` on a terminal, else None. ``stop()`` true (Ctrl-C heard while answering,
    :mod:`inverse.finish_early`): the answer under way is finished and reported, no further job is started, and the
    exit status is 130."""
    jobs = _jobs(args)
    several = len(jobs) > 1
    folders = [str(Path(args.out) / job.folder) if several and args.out else args.out for job in jobs]
    answers, failed = [], []
    for number, (job, out) in enumerate(zip(jobs, folders), start=1):
        target = job.label
        prefix = f"[{number}/{len(jobs)}] {target}: " if several else ""
        # the files (the comparison figure most) take about a tenth of the time
        terminal = stage_lines and sys.stderr.isatty()
        progress = _StageLines(share=0.9 if out else 1.0, prefix=prefix) if terminal else None
        failure = None
        try:
            prediction = answer(job, progress)
            if job.label != job.path:  # one note of a file (--each-note): named so in the lines and the JSON
                prediction.target.source = prediction.target.source.replace(job.path, job.label, 1)
                prediction.file_melody = job.melody_phrase
            if progress is not None and out:
                progress(1.0, f"writing the files to {out}")  # the last line while _report writes them
        except InputError as error:
            if not several:
                raise
            failure = one_line(error) if target in str(error) else f"{target}: {one_line(error)}"
        finally:
            if progress is not None:
                progress.close()
        if failure is None:
            answers.append(_report(prediction, args, out, several))
        else:  # the others are still answered
            print(f"error: {failure}", file=sys.stderr, flush=True)
            failed.append(target)
            answers.append({"source": target, "error": failure})
        if stop is not None and stop():
            break
    if args.out and several:
        from inverse.listening_page import PAGE, answers_page

        melodies = _write_melodies(jobs, answers, Path(args.out))
        answered = [(job.folder, answer) for job, answer in zip(jobs, answers)]
        (Path(args.out) / PAGE).write_text(answers_page(answered, melodies), encoding="utf-8")
        note(f"every answer on one page: {Path(args.out) / PAGE}")
    interrupted = stop is not None and stop()
    if interrupted:
        note("interrupted (Ctrl-C): the answer under way was finished and written" +
             (f"; {len(jobs) - len(answers)} of {len(jobs)} targets not started" if several else ""))
    if several:
        if args.json:
            print(json.dumps(answers, indent=2))
        done = len(answers) - len(failed)
        note(f"{done} of {len(jobs)} targets answered" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 130 if interrupted else 2 if failed else 0


class _StageLines:
    """predict's progress on a terminal (stderr; a prediction takes ~10-30 s): a line per stage, ``[ 22%] stage
    ...``, rewritten in place when the same stage is reported again further on (refinement's steps). ``share``:
    the part of the command's time that predict's fractions cover; ``prefix``: what each line starts with (which
    target, when there are several)."""

    def __init__(self, share: float = 1.0, prefix: str = "") -> None:
        self.share, self.prefix = share, prefix
        self.stage: str | None = None

    def __call__(self, fraction: float, stage: str) -> None:
        start = "\r" if stage == self.stage else ("\n" if self.stage is not None else "")
        print(f"{start}{self.prefix}[{self.share * fraction:4.0%}] {stage} ...", end="", file=sys.stderr, flush=True)
        self.stage = stage

    def close(self) -> None:
        """End the last line (before the table, or an error message, goes to the terminal)."""
        if self.stage is not None:
            print(file=sys.stderr, flush=True)
            self.stage = None


def _cmd_index(args: argparse.Namespace) -> int:
    from inverse.retrieval import build_index

    check_input_file(args.data)
    check_output_dir(str(Path(args.out).parent), "--out's folder")
    index = build_index(args.data, IndexConfig(components=args.components, rows=args.rows), progress=not args.quiet)
    weights = index.save(args.out)
    summary = {"index": str(weights), "rows": len(index), "components": args.components,
               "explained_variance": index.info["explained_variance"], "data": index.info["data"],
               "size_mb": round(weights.stat().st_size / 2**20, 2)}
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from inverse.finish_early import FinishEarly
    from inverse.predict import Prediction
    from inverse.search import SearchConfig, search
    from inverse.target import load_any_target

    _check_out(args)
    _check_targets(args)
    config = SearchConfig(method=args.method, budget=args.budget, time_budget_s=args.time_budget,
                          samples=args.samples, min_distance=args.min_distance, seed=args.seed,
                          render=args.render)
    try:
        config.validate()
    except ValueError as error:
        raise InputError(str(error)) from None
    config = replace(config, render=_render_path(args))
    finish = FinishEarly()

    def answer(job: _Job, progress: None) -> Prediction:  # search draws its own progress bar
        target = load_any_target(job.path, convert=args.convert, downmix=args.downmix, start=job.start,
                                 align=args.align, gate_noise=args.gate_noise, length=job.length)
        found = search(target, config, progress=not args.json, stop=finish)
        target.source = f"{target.source} (search: {args.method})"
        return Prediction(target, found)
    with finish:
        return _answer_each(args, answer, stage_lines=False, stop=finish)


def _check_out(args: argparse.Namespace) -> None:
    if args.out:
        check_output_dir(args.out, "--out")


def _report(prediction, args: argparse.Namespace, out: str | None = None, several: bool = False) -> dict:
    """Notes to stderr; files in ``out``; the ranked table, or JSON with --json. One of ``several`` targets: the
    table under a line naming the target, and the JSON left to the caller (one list for all). Returns the JSON."""
    for message in prediction.notes:
        note(message)
    if out:
        prediction.write(out, figure=args.figure)
    answer = prediction.to_json()
    if args.json:
        if not several:
            print(json.dumps(answer, indent=2))
        return answer
    if several:
        print(f"== {prediction.target.source}")
    print(prediction.table())
    if out:
        melody = ", melody.mid (the target's melody: `python -m synth play rankNN.patch.json --midi melody.mid`)" \
            if prediction.melody_phrase else ""
        figure = ", comparison.png" if args.figure else ""
        print(f"wrote candidates.json, rankNN.{{patch.json,wav,png}}, target.{{wav,png}}{figure}{melody} and "
              f"index.html (open it in a browser to listen to the target and every candidate) to {out}")
    if several:
        print()
    return answer


def _cmd_train_flow(args: argparse.Namespace) -> int:
    from inverse.flow_train import CONFIG_FIELDS, FlowTrainConfig, train_flow

    check_output_dir(args.out, "--out")
    config = FlowTrainConfig(**{name: getattr(args, name) for name in CONFIG_FIELDS
                                if getattr(args, name, None) is not None})
    metrics = train_flow(args.train, args.val, args.out, model_path=args.model, config=config, resume=args.resume,
                         init=args.init, progress=not args.quiet)
    print(json.dumps(metrics, indent=2))
    return 0


def _cmd_train_online(args: argparse.Namespace) -> int:
    from inverse.online_train import CONFIG_FIELDS, OnlineTrainConfig, train_online

    check_output_dir(args.out, "--out")
    config = OnlineTrainConfig(**{name: getattr(args, name) for name in CONFIG_FIELDS
                                  if getattr(args, name, None) is not None})
    _check_init(args)
    metrics = train_online(args.out, model_config=_model_config(args), config=config, device=args.device,
                           resume=args.resume, init=args.init, init_flow=args.init_flow, progress=not args.quiet)
    print(json.dumps(metrics, indent=2))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from inverse.export import export

    result = export(args.model, args.out, flow_path=args.flow, flow_out=args.flow_out, half=not args.full,
                    guidance=args.guidance)
    print(json.dumps(result, indent=2))
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from inverse.tune import TuneConfig, tune

    check_output_dir(args.out, "--out")
    config = TuneConfig(trials=args.trials, epochs=args.epochs, eval_targets=args.eval_targets,
                        eval_pool=args.eval_pool, num_workers=args.num_workers, seed=args.seed)
    summary = tune(args.train, args.val, args.out, config, storage=args.storage, study_name=args.study,
                   progress=not args.quiet)
    print((Path(args.out) / "summary.txt").read_text() if not args.json else json.dumps(summary, indent=2))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from inverse import checkpoint
    from inverse.evaluate import evaluate_model, format_table
    model, _ = checkpoint.load(args.model)
    config = SamplingConfig(pool=args.pool, samples=args.samples, sigma=args.sigma, min_distance=args.min_distance,
                            seed=args.seed)
    result = evaluate_model(model, args.data, args.targets, config)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from webapp.cli import serve

    return serve(args)


def _candidate_options(p: argparse.ArgumentParser) -> None:
    """The targets and the output options that `predict` and `search` share."""
    p.add_argument("target", nargs="+", help="512x512 spectrogram PNG, audio file (WAV, FLAC, OGG, MP3, ...; "
                                             "resampled to 16 kHz; 4.088 s of it, see --start and --no-align), or "
                                             ".npy; several are answered one after another in one process (start-up "
                                             "and loading once), each into --out/STEM/, with --json as one list")
    p.add_argument("--convert", action="store_true", help="convert colour or resize a non-512x512 image")
    p.add_argument("--downmix", action=argparse.BooleanOptionalAction, default=True,
                   help="average a stereo (or multichannel) audio file's channels (its loudest channel where they "
                        "cancel, out of phase), noted on stderr (the default; --no-downmix refuses such a file)")
    p.add_argument("--start", type=non_negative_float, default=0.0, metavar="SECONDS",
                   help="where in an audio file the 4.088 s to match begin (default 0)")
    p.add_argument("--length", type=positive_float, default=None, metavar="SECONDS",
                   help="keep only this much of an audio file from where the match begins, silence after it (one "
                        "note of a melody, one hit of a loop: a patch plays one note; a target whose pitch steps "
                        "through several notes is noted on stderr with the --start and --length of its first)")
    p.add_argument("--each-note", dest="each_note", action="store_true",
                   help="answer each held note of an audio file whose pitch steps through several (a melody, an "
                        "arpeggio) on its own, from its part of the file, each into --out/STEM_noteK_NAME/; likewise "
                        "each part of a file whose sound comes in several with silence between them (a drum loop's "
                        "hits, staccato notes), each into --out/STEM_partK/; any other file is answered whole")
    p.add_argument("--no-align", dest="align", action="store_false",
                   help="keep an audio file's lead-in: by default the 4.088 s begin where the sound rises out of "
                        "silence or steady noise (the synth's notes start at 0 s; a skip is noted on stderr)")
    p.add_argument("--keep-noise", dest="gate_noise", action="store_false",
                   help="match an audio file's steady noise floor (hiss, room tone) and mains hum (50/60 Hz) as they "
                        "are: by default they are taken out first, since no patch holds either after its note ends "
                        "(noted on stderr)")
    p.add_argument("--samples", type=positive_int, default=10, help="candidates returned (default 10)")
    p.add_argument("--min-distance", dest="min_distance", type=non_negative_float, default=SamplingConfig.min_distance,
                   help="minimum mean |difference| of normalised parameters between candidates (predict: between "
                        "the refined starting points; the returned ones are spread as far apart as the pool allows) "
                        f"(default {SamplingConfig.min_distance:g})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same candidates")
    p.add_argument("--out", help="directory for candidates.json, patches, WAVs, PNGs, comparison.png, the target as "
                                 "matched (target.wav, target.png) and index.html, a page that plays them all")
    p.add_argument("--no-figure", dest="figure", action="store_false",
                   help="with --out, leave out comparison.png (~0.6 s of plotting an answer: for many targets)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of the table")
    p.add_argument("--render", choices=RENDER_PATHS, default="auto",
                   help="how candidates are rendered: fast (the synth and its gradient compiled ahead of time for "
                        "this machine; built on first use, 3-6 minutes once), eager (PyTorch ops), or auto "
                        "(default: fast when already built, see `python -m synth fast-render build`, else eager)")


def _render_path(args: argparse.Namespace) -> str:
    """--render fast: build what is missing first (with notes on stderr); auto: a hint on a terminal when the fast
    render is not built. Returns the path to pass on (auto decides per render, with or without gradients)."""
    if args.render == "fast":
        return resolve_render_path("fast", log=note, gradients=getattr(args, "refine", None) == "gradient")
    if args.render == "auto" and resolve_render_path("auto") == "eager" and sys.stderr.isatty():
        print("note: rendering on the eager path; `python -m synth fast-render build` (3-6 minutes, once per "
              "machine) makes this several times faster", file=sys.stderr, flush=True)
    return args.render


def _backbone_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--widths", type=positive_int, nargs="+",
                   help=f"backbone channels per stage (default {' '.join(map(str, BackboneConfig().widths))})")
    p.add_argument("--stem-stride", dest="stem_stride", type=positive_int,
                   help=f"patchify stride of the first layer (default {BackboneConfig().stem_stride})")


def build_parser(quick: bool = False, budget: bool = False) -> argparse.ArgumentParser:
    """The command line; ``quick``: ``predict``'s defaults those of ``--quick`` (:mod:`inverse.quick`; ``budget``:
    under a time budget, which refines its best row), which :func:`parse_args` asks for when the first parse finds
    ``--quick`` or a short ``--seconds``, so that options given beside it count."""
    parser = argparse.ArgumentParser(prog="inverse", description="Sound matching for the 100-parameter synth: "
                                     "spectrogram or sound -> several different patches that sound like it.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("train", help="train the backbone + regression head on an HDF5 dataset",
                            description="Train on a dataset from `python -m dataset_gen`. Writes best/last "
                                        "checkpoints, state for --resume, config.json and log.csv into --out. "
                                        "Run under `torchrun --nproc-per-node K -m inverse train ...` for "
                                        "DistributedDataParallel.")
    p.add_argument("--train", required=True, help="training dataset (.h5)")
    p.add_argument("--val", help="validation dataset (.h5); default: a deterministic split of --train")
    p.add_argument("--out", required=True, help="run directory, e.g. runs/NAME")
    p.add_argument("--config", help="JSON with 'model' and/or 'train' sections (e.g. from `inverse tune`)")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", dest="batch_size", type=positive_int, help="per process")
    p.add_argument("--lr", type=positive_float, help="AdamW peak learning rate")
    p.add_argument("--seed", type=int)
    p.add_argument("--num-workers", dest="num_workers", type=non_negative_int, help="DataLoader workers")
    p.add_argument("--spectral-weight", dest="spectral_weight", type=non_negative_float,
                   help="weight of the spectral loss that renders predictions through the synth (default 0: off)")
    p.add_argument("--spectral-rows", dest="spectral_rows", type=positive_int,
                   help="rows per batch rendered for the spectral loss (default 8)")
    _backbone_options(p)
    p.add_argument("--init", help="start from this model checkpoint instead of fresh weights, its model config too "
                                  "(e.g. inverse/pretrained/default, fine-tuned on your data; a --config's 'model' "
                                  "section is not used). Its flow belongs to the old backbone: train a new one with "
                                  "`inverse train-flow --model OUT/best`")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    p.set_defaults(func=_cmd_train)

    p = commands.add_parser("predict", help="candidate patches for a target spectrogram PNG, WAV or .npy",
                            description="Encode the target and sample --pool candidates around its latent, add the "
                                        "--retrieved training patches nearest to it from the retrieval index, "
                                        "render and rank them all by how they sound (on a clearly pitched target "
                                        "with plain patches at its pitch, --plain), add pitch-aligned copies of "
                                        "the best and their variants by the synth's symmetries, refine the best 16 "
                                        "mutually different ones (--refine) and retune the oscillators of the "
                                        "best (--retune), expand the refined by symmetry again and print "
                                        "--samples that all sound close to the target (MSS within "
                                        "--within x the best's) and differ as much as possible in parameters; "
                                        "where the target has a clear pitch, those off it are moved onto it where "
                                        "they stay as close, those still off it are replaced by other forms of "
                                        "those on it (--pitch-fill), and those with its pitch come first. "
                                        "--seconds S answers in about S seconds: the refinement takes the steps "
                                        "that fit. Ctrl-C while it refines ends the steps there and the answer is "
                                        "finished and written from them (exit status 130; a second Ctrl-C stops at "
                                        "once).")
    _candidate_options(p)
    p.add_argument("--model", help="checkpoint (runs/NAME/best); default: the shipped model")
    p.add_argument("--sampler", choices=("auto", "flow", "latent"), default="auto",
                   help="where the candidate pool comes from: the flow-matching sampler (inverse train-flow) or "
                        "perturbed latents of the regression head; auto: the flow when one is given with --flow "
                        "or shipped for the shipped model, else latent")
    p.add_argument("--flow", help="flow checkpoint trained on --model's latents (runs/FLOW/best)")
    p.add_argument("--pool", type=positive_int, default=SamplingConfig.pool,
                   help=f"model candidates rendered and scored (default {SamplingConfig.pool})")
    p.add_argument("--index", help="retrieval index (`inverse index`) whose nearest training patches join the pool; "
                                   "'none' for the model's candidates only (default: the shipped index)")
    p.add_argument("--retrieved", type=non_negative_int, default=SamplingConfig.retrieved,
                   help=f"nearest index patches added to the pool (default {SamplingConfig.retrieved}; 0: none)")
    p.add_argument("--sigma", type=non_negative_float, default=SamplingConfig.sigma,
                   help=f"latent noise in training-latent spreads (default {SamplingConfig.sigma:g})")
    p.add_argument("--expand", type=non_negative_int, default=SamplingConfig.expand,
                   help="best candidates expanded by the synth's symmetries, before and after refinement (default "
                        f"{SamplingConfig.expand}; 0: off)")
    p.add_argument("--spread", type=non_negative_int, default=SamplingConfig.spread,
                   help="write each returned candidate in the form of its sound (slot order, note vs octave offsets, "
                        "values of inaudible parameters, N random draws of those) farthest from the others', kept "
                        f"where it renders the same (default {SamplingConfig.spread}; 0: as chosen)")
    p.add_argument("--plain", type=non_negative_int, default=SamplingConfig.plain,
                   help="where the target has a clear pitch, add to the pool plain patches (a sine, triangle, saw "
                        "or pulse at its pitch from one oscillator, more in unison where it is loud, everything else "
                        "off, at its level) with the loudness settings of this many of the best pool rows "
                        f"(default {SamplingConfig.plain}; 0: none)")
    p.add_argument("--chords", type=non_negative_int, default=SamplingConfig.chords,
                   help="where the target holds two or more notes at once (a chord; read from its sustained "
                        "spectrum), add to the pool plain patches playing up to this many sets of two or three of "
                        f"them, one oscillator a note (default {SamplingConfig.chords}; 0: none)")
    p.add_argument("--glides", type=non_negative_int, default=SamplingConfig.glides,
                   help="where the target's pitch moves as one bend (a kick's or tom's drop, a riser, a zap; its "
                        "pitch track fitted by the synth's pitch envelope), add to the pool plain patches bent by "
                        "it with the loudness settings of this many of the best pool rows, and those rows bent by it "
                        f"(default {SamplingConfig.glides}; 0: none)")
    p.add_argument("--modulation", type=non_negative_int, default=SamplingConfig.modulation,
                   help="where the target's pitch or level swings periodically (vibrato, tremolo; a sinusoid fitted "
                        "to its pitch track and level), add to the pool copies of this many of the best pool rows "
                        "with their LFOs swinging in step with it, and after refinement such copies of the refined "
                        f"candidates where they come closer (default {SamplingConfig.modulation}; 0: none)")
    p.add_argument("--harmonics", type=non_negative_int, default=SamplingConfig.harmonics,
                   help="where the target has a clear pitch, add to the pool plain patches playing this many of the "
                        "best fits of its partial balance (read from its sustained spectrum) by the three "
                        "oscillators at multiples of its note, each a basic waveform at its own level; 4 came "
                        "3.6 %% closer on instrument notes (11.6 %% on sox notes) with 4-8 %% less diverse candidates "
                        f"(default {SamplingConfig.harmonics}: none)")
    p.add_argument("--refit", type=non_negative_int, default=SamplingConfig.refit,
                   help="give this many of the best mutually different pool rows a copy with the amplifier envelope "
                        "and note gate fitted to the target's level contour and the output gain to its level "
                        f"(default {SamplingConfig.refit}; 0: none)")
    p.add_argument("--within", type=positive_float, default=SamplingConfig.within,
                   help="every returned candidate's multi-scale spectral distance at most this x the best one's "
                        f"(default {SamplingConfig.within:g}; >= 1)")
    p.add_argument("--match-within", type=non_negative_float, default=SamplingConfig.match_within,
                   help="replace a returned candidate whose match distance (multi-scale spectral distance + spectral "
                        "shape, which sees the partials) is above this x the best one's by another form of one that "
                        "is not (a sound that only follows the target's loudness, such as a noise burst for a flute "
                        f"note; default {SamplingConfig.match_within:g}; 0: keep them; else >= 1)")
    p.add_argument("--no-pitch-check", action="store_true",
                   help="keep the match order: do not track the pitch of a pitched target and its candidates "
                        "(the check moves off-pitch candidates onto the target's pitch where they stay as close "
                        "and lists those with its pitch first; ~2-4 s on a pitched target)")
    p.add_argument("--pitch-rounds", dest="pitch_rounds", type=non_negative_int, default=SamplingConfig.pitch_rounds,
                   help="the pitch check's rounds at most (each tracks the candidates new to the choice, moves those "
                        "off the pitch or chooses again without them; default "
                        f"{SamplingConfig.pitch_rounds}; 0: the ten tracked and sorted, none moved)")
    p.add_argument("--pitch-fill", action=argparse.BooleanOptionalAction, default=SamplingConfig.pitch_fill,
                   help="after the pitch check, replace the candidates still off a clear target pitch by other forms "
                        "(slot order, note vs octave offsets, inaudible settings) of those on it that still match "
                        f"(default: {'on' if SamplingConfig.pitch_fill else 'off'}; --no-pitch-fill keeps them)")
    p.add_argument("--refine", choices=REFINE_METHODS, default=RefineConfig.method,
                   help="refine the candidates: gradient descent through the synth on the match distance "
                        "(continuous parameters), CMA-ES around each candidate, or none (default "
                        f"{RefineConfig.method}, {RefineConfig.steps} steps: best-of-10 MSS 5 %% lower than with 10 "
                        "steps on 100 held-out targets, ~5 s longer; --steps 10 for the quicker answer)")
    p.add_argument("--steps", type=non_negative_int, default=RefineConfig.steps,
                   help=f"--refine gradient: steps (default {RefineConfig.steps}; 0: the best pool rows rescored, "
                        "retuned and expanded without a step)")
    p.add_argument("--seconds", type=positive_float,
                   help="time budget per target, start-up not included: --refine gradient takes as many of --steps "
                        "as fit, keeping time for the retune and the choice after them (none when the candidate "
                        "pool, which always runs, used it up) and the pitch check as many rounds; the table and JSON "
                        "say how many ran, and --steps N (--pitch-rounds R) gives the same answer again. Fewer steps, "
                        f"a farther answer: see the README's table. Under {QUICK_BELOW_S:g} s, too short for the "
                        "default pool, it answers as --quick does, its best candidate refined in what that leaves of "
                        "the budget ("
                        + " ".join(f"--{name.replace('_', '-')} {value}" for name, value in BUDGET_REFINE.items())
                        + ")")
    p.add_argument("--quick", action="store_true",
                   help="answer in about a second of compute on 2 CPU cores instead of ~15 s, without refinement and "
                        "from a smaller pool: "
                        + " ".join(f"--{name.replace('_', '-')} {value}" for name, value in quick_defaults().items())
                        + " (options given beside it count instead; with --seconds its best candidate is refined in "
                          "what the budget leaves, as under --seconds; the README's \"The quick answer\" has what it "
                          "costs in closeness)")
    p.add_argument("--refine-rows", dest="refine_rows", type=positive_int, default=RefineConfig.rows,
                   help="refine this many of the best mutually different candidates (default "
                        f"{RefineConfig.rows}: one chunk of the fast render; fewer than {EAGER_GRADIENT_BELOW} take "
                        "their gradient steps on the eager synth, faster for so few)")
    p.add_argument("--refine-lr", dest="refine_lr", type=positive_float, default=RefineConfig.lr,
                   help=f"--refine gradient: step size in normalised units (default {RefineConfig.lr:g})")
    p.add_argument("--pitch-step", dest="pitch_step", type=probability, default=RefineConfig.pitch_step,
                   help="--refine gradient: the note's steps as a share of the other parameters' (its range is 72 "
                        "semitones, so a full step of 0.01 moves it 0.72 semitones off the pitch the candidates were "
                        f"put on; default {RefineConfig.pitch_step:g}: best-of-10 MSS 5 %% lower on held-out synth "
                        "patches, 23 %% on sox notes and 12 %% on instrument notes than with 1)")
    p.add_argument("--budget", type=positive_int, default=RefineConfig.budget,
                   help=f"--refine cmaes: renders per candidate (default {RefineConfig.budget})")
    p.add_argument("--retune", type=non_negative_int, default=RefineConfig.retune,
                   help="after refining, search the oscillators' octave and semitone offsets of this many of the best "
                        "refined candidates, one change at a time (up to 84 renders, ~2 s, each), and add what sounds "
                        f"closer to the pool (default {RefineConfig.retune}; 0: off)")
    p.add_argument("--fine-pitch", dest="fine_pitch", type=non_negative_int, default=RefineConfig.fine_pitch,
                   help="then tune the note of this many of the best refined or retuned candidates in cents (every "
                        "2.5 cents within 30, then every 0.5 around the best: 32 renders each), move the other refined "
                        "ones onto the tuning found, and add what sounds closer to the pool: for bright bass notes, "
                        "whose match hangs on a few cents (default "
                        f"{RefineConfig.fine_pitch}; 0: off; ~0.5-1 s for 1)")
    p.set_defaults(func=_cmd_predict, **({**quick_defaults(budget), "pool": None} if quick else {}))  # None: parse_args

    p = commands.add_parser("index", help="a retrieval index over a dataset, for predict's pool",
                            description="Index the spectrograms of a dataset from `python -m dataset_gen` (PCA of "
                                        "8x8-pooled spectrograms, inverse/retrieval.py): `inverse predict --index "
                                        "OUT` adds the training patches nearest to each target to the candidate "
                                        "pool, where they are ranked, expanded and refined with the model's. "
                                        "Writes OUT.safetensors and OUT.json.")
    p.add_argument("--data", required=True, help="dataset to index (.h5), e.g. the model's training set")
    p.add_argument("--out", required=True, help="index path without suffix, e.g. runs/index")
    p.add_argument("--rows", type=positive_int, help="index only the first N rows (default: all)")
    p.add_argument("--components", type=positive_int, default=IndexConfig.components,
                   help=f"principal components kept (default {IndexConfig.components})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_index)

    p = commands.add_parser("app", help="the local web app: match a sound, enhance a recording, edit a patch",
                            description="Start the web app (webapp/) on http://127.0.0.1:7860 and serve until Ctrl-C. "
                                        "Match: upload or record a sound (or a spectrogram PNG), hear and download "
                                        "the candidates; Enhance: the mask model on a noisy recording; Synth: "
                                        "move the main parameters of a patch and hear it.")
    from webapp.cli import add_arguments as app_arguments  # the launcher only: webapp loads gradio when serving

    app_arguments(p)
    p.set_defaults(func=_cmd_app)

    p = commands.add_parser("search", help="search-only baseline: CMA-ES or random search, no network",
                            description="Render --budget parameter sets chosen by CMA-ES (all 100 parameters, "
                                        "from the centre of the cube) or drawn from the prior, and print the "
                                        "best --samples mutually different ones. The classical answer to "
                                        "compare the network with. Ctrl-C ends the search after the batch under "
                                        "way and answers from what was rendered (exit status 130; a second Ctrl-C "
                                        "stops at once).")
    _candidate_options(p)
    p.add_argument("--budget", type=positive_int, required=True, help="renders to spend")
    p.add_argument("--time-budget", dest="time_budget", type=positive_float, help="also stop after this many seconds")
    p.add_argument("--method", choices=SEARCH_METHODS, default="cmaes", help="cmaes (default) or random")
    p.set_defaults(func=_cmd_search)

    p = commands.add_parser("train-flow", help="train the flow-matching sampler on a trained model's latents",
                            description="Encode --train and --val once with the model's backbone (cached in --out), "
                                        "then train a conditional flow-matching network that samples many different "
                                        "parameter sets per target (inverse/flow.py). Writes best/last flow "
                                        "checkpoints, log.csv and resumable state into --out; `inverse predict "
                                        "--flow OUT/best` uses it.")
    p.add_argument("--train", required=True, help="training dataset (.h5)")
    p.add_argument("--val", required=True, help="validation dataset (.h5): picks the best checkpoint")
    p.add_argument("--out", required=True, help="run directory, e.g. runs/flow")
    p.add_argument("--model", default=str(DEFAULT_INVERSE_MODEL),
                   help="inverse checkpoint whose frozen backbone gives the latents (default: the shipped model)")
    p.add_argument("--epochs", type=positive_int, help="passes over the cached latents (default 60)")
    p.add_argument("--batch-size", dest="batch_size", type=positive_int, help="rows per step (default 256)")
    p.add_argument("--lr", type=positive_float, help="AdamW peak learning rate (default 1e-3)")
    p.add_argument("--seed", type=non_negative_int)
    p.add_argument("--init", help="start from this flow checkpoint, trained on the same --model (e.g. "
                                    "inverse/pretrained/flow to fine-tune the shipped sampler on more data); its "
                                    "config replaces the defaults")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (raise --epochs to extend)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train_flow)

    p = commands.add_parser("train-online", help="train backbone, head and flow sampler on batches rendered on the fly",
                            description="Render every training batch with the synth as it is needed (no dataset file; "
                                        "meant for a GPU, where rendering keeps up with learning) and train the "
                                        "backbone, its regression head and the flow-matching sampler together, the "
                                        "flow's loss flowing into the backbone (inverse/online_train.py). Every "
                                        "--steps-per-epoch steps: validation on rows of --val-seed, best/last model "
                                        "and flow checkpoints, log.csv and state for --resume. `inverse predict "
                                        "--model OUT/best --flow OUT/best_flow` uses the result.")
    p.add_argument("--out", required=True, help="run directory, e.g. runs/online")
    p.add_argument("--steps", type=positive_int, help="optimizer steps in all (default 20000; with --minutes at most)")
    p.add_argument("--minutes", type=non_negative_float,
                   help="train about this long: the first epoch is timed and the total steps set from it")
    p.add_argument("--steps-per-epoch", dest="steps_per_epoch", type=positive_int,
                   help="steps between validations and checkpoints (default 500)")
    p.add_argument("--batch-size", dest="batch_size", type=positive_int, help="rows rendered per step (default 256)")
    p.add_argument("--lr", type=positive_float, help="AdamW peak learning rate (default 1e-3)")
    p.add_argument("--flow-weight", dest="flow_weight", type=non_negative_float,
                   help="weight of the flow loss beside the regression loss (default 1)")
    p.add_argument("--data-seed", dest="data_seed", type=non_negative_int,
                   help="prior seed of training rows (default 11)")
    p.add_argument("--val-seed", dest="val_seed", type=non_negative_int,
                   help="prior seed of validation rows (default 2)")
    p.add_argument("--val-rows", dest="val_rows", type=positive_int, help="validation rows (default 1000)")
    p.add_argument("--prior", help="prior version of the rows (default: the latest)")
    p.add_argument("--seed", type=non_negative_int, help="weights and flow noise (default 0)")
    _backbone_options(p)
    p.add_argument("--init", help="start from this model checkpoint instead of fresh weights (its config too), e.g. "
                                  "inverse/pretrained/default to train the shipped model further; pick a --data-seed "
                                  "whose rows it has not seen (the shipped model saw seeds 11 and 12)")
    p.add_argument("--init-flow", dest="init_flow",
                   help="with --init: the flow trained on that model, e.g. inverse/pretrained/flow (else a fresh flow)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (raise --steps to extend)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train_online)

    p = commands.add_parser("export", help="write a trained model (and its flow) as a pair to ship",
                            description="Rewrite --model (and --flow, the sampler trained on its backbone) to --out "
                                        "(and --flow-out), learned weights as float16 unless --full (half the bytes; "
                                        "loading casts them back), the flow tied to the exported model's bytes. "
                                        "E.g. --model runs/online/best --flow runs/online/best_flow --out "
                                        "inverse/pretrained/default --flow-out inverse/pretrained/flow.")
    p.add_argument("--model", required=True, help="checkpoint to export, e.g. runs/online/best")
    p.add_argument("--flow", help="its flow sampler, e.g. runs/online/best_flow")
    p.add_argument("--out", required=True, help="where the model goes (NAME: NAME.safetensors + NAME.json)")
    p.add_argument("--flow-out", dest="flow_out", help="where the flow goes (default: OUT_flow)")
    p.add_argument("--full", action="store_true", help="keep float32 weights")
    p.add_argument("--guidance", type=non_negative_float,
                   help="the flow's classifier-free guidance scale at sampling (default: as trained; 1 = none)")
    p.set_defaults(func=_cmd_export)

    p = commands.add_parser("tune", help="optuna study over the training's hyperparameters",
                            description="Train --trials models with hyperparameters proposed by optuna (TPE), "
                                        "pruning poor ones on the per-epoch validation loss, and score each by "
                                        "latent sampling's best-of-10 distance on validation targets. The "
                                        "study lives in --storage: rerun the command to resume, or start it "
                                        "in several processes (or machines, with a PostgreSQL URL such as "
                                        "postgresql://user:pass@host/db) to share the work. Writes "
                                        "best_config.json (for `inverse train --config`), summary.txt and "
                                        "summary.png into --out.")
    p.add_argument("--train", required=True, help="training dataset (.h5)")
    p.add_argument("--val", required=True, help="validation dataset (.h5)")
    p.add_argument("--out", required=True, help="directory for trials, tune.db, best_config.json and summary")
    p.add_argument("--trials", type=positive_int, required=True,
                   help="finished trials the study should reach (all processes together)")
    p.add_argument("--storage", help="optuna storage URL (default sqlite:///OUT/tune.db)")
    p.add_argument("--study", default="inverse", help="study name (default inverse)")
    p.add_argument("--epochs", type=positive_int, default=5, help="epochs per trial (default 5)")
    p.add_argument("--eval-targets", dest="eval_targets", type=positive_int, default=16,
                   help="validation rows scored by latent sampling per trial (default 16)")
    p.add_argument("--eval-pool", dest="eval_pool", type=positive_int, default=32,
                   help="sampling pool per target during tuning (default 32)")
    p.add_argument("--num-workers", dest="num_workers", type=non_negative_int, default=2, help="DataLoader workers")
    p.add_argument("--seed", type=int, help="sampler seed (default: differs per process)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_tune)

    p = commands.add_parser("eval", help="sampling quality on a held-out dataset",
                            description="Best-of-K / median-of-K spectral distance, diversity, parameter MAE "
                                        "and discrete accuracy over the first --targets rows.")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--targets", type=positive_int, default=100)
    p.add_argument("--samples", type=positive_int, default=10)
    p.add_argument("--pool", type=positive_int, default=64)
    p.add_argument("--sigma", type=non_negative_float, default=SamplingConfig.sigma, help="latent noise (see predict)")
    p.add_argument("--min-distance", dest="min_distance", type=non_negative_float,
                   default=SamplingConfig.min_distance)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_eval)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line parsed; with ``predict --quick``, or a ``--seconds`` budget too short for the default pool
    (:func:`~inverse.quick.quick_budget`), parsed again with its defaults (:mod:`inverse.quick`), the options given
    beside it kept, and its pool at least ``--samples`` where ``--pool`` is not given."""
    args = build_parser().parse_args(argv)
    if not getattr(args, "quick", False) and not quick_budget(getattr(args, "seconds", None)):
        return args
    args = build_parser(quick=True, budget=args.seconds is not None).parse_args(argv)
    if args.pool is None:
        args.pool = quick_options(args.samples)["pool"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: args.func(args))
