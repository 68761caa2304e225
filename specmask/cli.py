"""``specmask``: train the mask head on the inverse model's backbone; enhance audio offline or streaming.

Thin argument parsing over :func:`specmask.train.train` and :mod:`specmask.enhance_file`; bad input ends
as ``error: <one line>`` with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields

from inverse.checkpoint import DEFAULT_MODEL as DEFAULT_INVERSE
from specmask.checkpoint import resolve
from specmask.config import GeneratorConfig, LossConfig
from specmask.enhance import MODES
from specmask.mixing import BABBLE_SOURCES, DEFAULT_INTERFERERS, INTERFERERS, MixConfig
from specmask.perceptual import NETWORKS
from specmask.train import MaskTrainConfig, Sources
from synth.errors import (
    InputError,
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
    run_command,
)
from synth.paths import check_output_dir


def _overrides(kind, args: argparse.Namespace, **extra):
    """A config dataclass from its defaults, the options the user gave (same names; a list, from ``nargs``, as the
    tuple the configs hold) and ``extra``."""
    given = {f.name: getattr(args, f.name) for f in fields(kind) if getattr(args, f.name, None) is not None}
    given = {name: tuple(value) if isinstance(value, list) else value for name, value in given.items()}
    return kind(**{**given, **extra})


def _cmd_train(args: argparse.Namespace) -> int:
    from specmask.train import train

    check_output_dir(args.out, "--out")
    losses = LossConfig(**{name: getattr(args, f"{name}_weight") if getattr(args, f"{name}_weight") is not None
                           else getattr(LossConfig, name)
                           for name in ("spectral", "waveform", "adversarial", "perceptual", "sparsity")},
                        waveform_kind=args.waveform_loss, adversarial_kind=args.adversarial_loss)
    mix = _overrides(MixConfig, args, **({"snr_db": tuple(args.snr)} if args.snr else {}))
    config = _overrides(MaskTrainConfig, args, finetune_backbone=args.finetune_backbone,
                        perceptual_network=args.perceptual)
    generator = _overrides(GeneratorConfig, args)
    sources = Sources(wav_dirs=tuple(args.wav_dir or ()), audio_data=args.audio_data,
                      noise_dirs=tuple(args.noise_dir or ()))
    metrics = train(args.out, backbone=args.backbone, generator_config=generator, losses=losses, mix=mix,
                    config=config, sources=sources, device=args.device, resume=args.resume,
                    progress=not args.quiet)
    print(json.dumps(metrics, indent=2))
    return 0


def _cmd_enhance(args: argparse.Namespace) -> int:
    from specmask.enhance_file import EnhanceOptions, enhance_file, enhance_files, stream_file

    options = EnhanceOptions(mode=args.mode, strength=args.strength, floor=args.floor, invert=args.invert,
                             exponent=args.exponent,
                             channels=args.channels, save_mask=args.save_mask, mask=args.mask, rest=args.rest,
                             figure=args.figure, allow_clipped=args.allow_clipped, band_limited=args.band_limited,
                             keep=args.keep)
    if len(args.input) > 1:
        if args.stream:
            raise InputError("--stream enhances one input (a file, or '-' for stdin); several files are enhanced "
                             "offline")
        reports = enhance_files(args.input, args.output, args.model, options, threads=args.threads,
                                on_report=None if args.json else _print_report)
        failed = [report["input"] for report in reports if "error" in report]
        if args.json:
            print(json.dumps(reports, indent=2))
        print(f"note: {len(reports) - len(failed)} of {len(reports)} files enhanced into {args.output}"
              + (f"; failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)
        return 2 if failed else 0
    if args.stream:
        report = stream_file(args.input[0], args.output, args.model, options, block=args.block,
                             lookahead=args.lookahead, input_rate=args.rate, threads=args.threads)
    else:
        report = enhance_file(args.input[0], args.output, args.model, options, threads=args.threads)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 0


def _print_report(report: dict) -> None:
    """One file's notes (stderr) and summary line, or its error (stderr)."""
    if "error" in report:
        print(f"error: {report['error']}", file=sys.stderr, flush=True)
        return
    for note in report.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    print(report["summary"], flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="specmask", description="Spectral-masking CNN-GAN on the inverse "
                                     "model's backbone: noise reduction, source separation, enhancement and "
                                     "creative mask effects, offline or streaming.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("train", help="train the mask head (generator + discriminator)",
                            description="Train the mask generator on the backbone of an inverse checkpoint "
                                        "(frozen, or fine-tuned with --finetune-backbone) against a patch "
                                        "discriminator, on mixtures made on the fly: clean synth renders (and "
                                        "WAV folders / dataset audio) plus coloured noise, hum or another "
                                        "voice, with reverb, EQ and gain. Writes best/last checkpoints holding "
                                        "the backbone and both heads (`inverse predict --model OUT/best` works "
                                        "too), log.csv and resumable state. Runs under torchrun.")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--backbone", default=str(DEFAULT_INVERSE),
                   help="inverse checkpoint whose backbone (and regression head) the mask model shares "
                        "(default: the shipped inverse model)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (raise --epochs to extend)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, help=f"passes of new mixtures (default {MaskTrainConfig.epochs}; "
                                                     "with --minutes: at most this many)")
    g.add_argument("--minutes", type=non_negative_float,
                   help="train about this long: the first epoch is timed (its validation and checkpoints included) "
                        "and the run planned to whole epochs, the learning-rate schedule with it; kept on --resume")
    g.add_argument("--examples-per-epoch", dest="examples_per_epoch", type=positive_int,
                   help=f"new mixtures per epoch (default {MaskTrainConfig.examples_per_epoch})")
    g.add_argument("--val-examples", dest="val_examples", type=positive_int)
    g.add_argument("--batch-size", dest="batch_size", type=positive_int)
    g.add_argument("--lr", type=positive_float, help=f"generator learning rate (default {MaskTrainConfig.lr:g})")
    g.add_argument("--lr-disc", dest="lr_disc", type=positive_float)
    g.add_argument("--seed", type=int, help="initial weights of the new parts")
    g.add_argument("--data-seed", dest="data_seed", type=int,
                   help=f"training mixtures (validation: +1; default {MaskTrainConfig.data_seed})")
    g.add_argument("--num-workers", dest="num_workers", type=non_negative_int, help="processes making mixtures")
    g.add_argument("--init", help="a mask checkpoint on the same backbone (--backbone) whose decoder this run "
                                  "starts from, e.g. to teach a trained model sound classes; with --finetune-backbone "
                                  "its backbone too (a fine-tuned one goes on from where it was)")
    g.add_argument("--finetune-backbone", action="store_true",
                   help="train a copy of the backbone too (stored beside the original in the checkpoint)")
    g.add_argument("--adversarial-start", dest="adversarial_start", type=non_negative_int,
                   help="generator steps before the discriminator joins")
    g = p.add_argument_group("model")
    g.add_argument("--mask-max", dest="mask_max", type=positive_float,
                   help="masks lie in [0, mask_max]; > 1 allows boosting (--mode enhance) (default 1)")
    g.add_argument("--decoder-width", dest="decoder_width", type=positive_int)
    g.add_argument("--subpixel-channels", dest="subpixel_channels", type=positive_int)
    g = p.add_argument_group("losses (weight 0 switches a term off)")
    for name in ("spectral", "waveform", "adversarial", "perceptual", "sparsity"):
        g.add_argument(f"--{name}-weight", dest=f"{name}_weight", type=non_negative_float,
                       help=f"default {getattr(LossConfig, name):g}")
    g.add_argument("--waveform-loss", choices=("mrstft", "sisdr"), default=LossConfig.waveform_kind)
    g.add_argument("--adversarial-loss", choices=("lsgan", "hinge"), default=LossConfig.adversarial_kind)
    g.add_argument("--perceptual", choices=NETWORKS, default="backbone",
                   help="frozen network of the perceptual loss: the inverse backbone (default) or VGGish")
    g.add_argument("--vggish-weights", dest="vggish_weights",
                   help="safetensors file with converted official VGGish weights (see specmask/vggish.py)")
    g = p.add_argument_group("data")
    g.add_argument("--wav-dir", dest="wav_dir", action="append", metavar="[CLASS=]FOLDER",
                   help="folder of clean WAV sources (repeatable). Label every folder with its sound class (e.g. "
                        "speech=data/speech) and the model learns to keep the class it is told (enhance --keep): "
                        "synth renders are class synth, and a voice or babble interferer comes from another class"),
    g.add_argument("--audio-data", dest="audio_data", help="dataset made with `python -m dataset_gen --audio`")
    g.add_argument("--noise-dir", dest="noise_dir", action="append", metavar="FOLDER",
                   help="folder of WAV sounds that are only ever interferers (music, recordings; repeatable): the "
                        "sound interferer loops one from a drawn offset (add sound to --interferers)")
    g.add_argument("--external-share", dest="external_share", type=probability,
                   help="share of sources from --wav-dir/--audio-data (default 0.5)")
    g.add_argument("--snr", nargs=2, type=finite_float, metavar=("LOW", "HIGH"), help="SNR range in dB (default -5 15)")
    g.add_argument("--interferers", nargs="+", choices=INTERFERERS,
                   help=f"drawn uniformly (default: {' '.join(DEFAULT_INTERFERERS)}; babble = {BABBLE_SOURCES} other "
                        "sources at once, opt in; sound = a --noise-dir sound; name a kind twice to draw it twice as "
                        "often)")
    g.add_argument("--reverb-prob", dest="reverb_prob", type=probability)
    g.add_argument("--eq-prob", dest="eq_prob", type=probability)
    g.add_argument("--band-limit-prob", dest="band_limit_prob", type=probability,
                   help="share of mixtures band-limited as a 44.1/48 kHz recording is when resampled to 16 kHz "
                        "(-2.6 dB over 7-7.5 kHz, -7 dB at 8 kHz; default 0)")
    g.add_argument("--lowpass-prob", dest="lowpass_prob", type=probability,
                   help="share of interferers low-passed at a cut-off drawn log-uniformly in --lowpass-hz, 12-48 dB "
                        "per octave (a noise with nothing above 7 kHz: rumble, traffic, a fan; default 0)")
    g.add_argument("--lowpass-hz", dest="lowpass_hz", nargs=2, type=finite_float, metavar=("LOW", "HIGH"),
                   help="the low-pass cut-off's range in Hz (default 1000 7500)")
    g.add_argument("--bandpass-prob", dest="bandpass_prob", type=probability,
                   help="share of white/pink/brown noise interferers with most of their power in one band (1-2 "
                        "band-pass biquads at a Q in --bandpass-q, over a floor 10-30 dB down: a motor's rumble, "
                        "wind, a fan; default 0)")
    g.add_argument("--bandpass-hz", dest="bandpass_hz", nargs=2, type=finite_float, metavar=("LOW", "HIGH"),
                   help="the band's centre range in Hz, drawn log-uniformly (default 60 4000)")
    g.add_argument("--bandpass-q", dest="bandpass_q", nargs=2, type=finite_float, metavar=("LOW", "HIGH"),
                   help="the band's Q range (centre / bandwidth), drawn log-uniformly: low Q = broad rumble, high Q = "
                        "a narrow band much like a held note's partial (default 0.7 4)")
    p.set_defaults(func=_cmd_train)

    p = commands.add_parser("enhance", help="apply a mask model to a WAV file (offline or streaming)",
                            description="Denoise (default), separate (keep the main source; --rest writes "
                                        "the remainder) or enhance (boosts allowed, for models trained with "
                                        "--mask-max > 1) a WAV file of any length, sample rate and channel "
                                        "count. Offline: overlapping 4.088 s windows, cross-faded, in "
                                        "constant memory. --stream: blocks as they arrive (a file or raw "
                                        "16-bit PCM on stdin with INPUT '-'), reporting real-time factor and "
                                        "latency.")
    p.add_argument("input", nargs="+", help="WAV file, or '-' for raw signed 16-bit little-endian PCM on stdin "
                                            "(--stream); several files are enhanced in one process (start-up and "
                                            "model once), each into the folder -o names")
    p.add_argument("-o", "--output", required=True, help="enhanced WAV (same sample rate and channels as input); "
                                                         "with several inputs a folder, each output named as its "
                                                         "input (and --rest, --save-mask, --figure folders too)")
    p.add_argument("--model", default="default", type=resolve,
                   help="mask checkpoint, or a shipped model by name: default (every kind of sound: synth, "
                        "instruments, speech) or speech (the earlier default's decoder fine-tuned on speech in "
                        "stationary noise; the default now scores as well on voices: the README's specmask section "
                        "has both measured). Default: default")
    p.add_argument("--mode", choices=MODES, default="denoise")
    p.add_argument("--keep", help="the sound class to keep, for a model trained with sound classes (`specmask train "
                                  "--wav-dir CLASS=DIR`; the shipped model has none): other sounds count as noise "
                                  "(a voice over a synth note, music under speech). Default: keep every sound, "
                                  "remove noise")
    p.add_argument("--strength", type=non_negative_float, default=1.0, help="wet/dry on the mask, 0..2 (default 1)")
    p.add_argument("--floor", type=non_negative_float, default=0.0, help="lowest mask value, 0..1: limits suppression")
    p.add_argument("--exponent", type=positive_float, default=1.0,
                   help="raise the mask to this power, 0.25..4 (default 1): above 1 cuts deeper where the model only "
                        "half suppresses and leaves what it keeps whole. On speech in steady noise 1.5 gave +0.03 to "
                        "+0.09 wideband PESQ for the same SI-SDR, 2 +0.02 to +0.14 for 0.3 dB less; on instruments "
                        "it costs 0.3-0.6 dB (the README's mask controls)")
    p.add_argument("--invert", action="store_true", help="keep what the mask removes")
    p.add_argument("--save-mask", dest="save_mask", help="write the mask as a PNG (offline: of the first "
                                                          "window; 255 = gain mask_max, same layout as spectrograms)")
    p.add_argument("--mask", help="apply this (edited) mask PNG instead of the model's, to every window")
    p.add_argument("--rest", help="--mode separate: also write input minus output here")
    p.add_argument("--figure", help="write a before/after spectrogram PNG (first 4.088 s) here")
    p.add_argument("--channels", choices=("each", "downmix"), default="each",
                   help="multichannel input: enhance each channel (default) or their mean")
    p.add_argument("--allow-clipped", dest="allow_clipped", action="store_true",
                   help="process an input with clipped samples instead of refusing it")
    p.add_argument("--band-limited", dest="band_limited", action="store_true",
                   help="an input above 16 kHz: enhance at 16 kHz only, so the output stops at 8 kHz (the default "
                        "applies the mask at the input's own rate and keeps the full band)")
    p.add_argument("--stream", action="store_true", help="process blocks as they arrive; report RTF and latency")
    p.add_argument("--block", type=positive_int, default=4096, help="--stream block in samples at 16 kHz")
    p.add_argument("--lookahead", type=non_negative_int, default=1024, help="--stream lookahead in samples at 16 kHz")
    p.add_argument("--rate", type=positive_int, default=16000, help="sample rate of raw PCM on stdin")
    p.add_argument("--threads", type=positive_int, help="CPU threads (default: torch's)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_enhance)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: args.func(args))
