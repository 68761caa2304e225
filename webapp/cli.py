"""``inverse app`` / ``python -m webapp``: start the local web app.

Binds to 127.0.0.1 unless ``--host`` names another address *and* ``--allow-remote`` is given (the app has no
accounts: anyone who reaches the port can use it). Everything the app writes (uploads, enhanced audio, edited
patches, gradio's cache) goes into one temporary directory that is removed when the app stops (Ctrl-C or
SIGTERM). Bad options end as ``error: <one line>`` with exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from synth.errors import InputError, positive_float, run_command
from synth.paths import check_input_file

DEFAULT_PORT = 7860
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from webapp.uploads import MAX_UPLOAD_MB

    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--allow-remote", dest="allow_remote", action="store_true",
                   help="allow a --host other than this machine (the app has no login: anyone who reaches the port "
                        "can use it)")
    p.add_argument("--model", help="sound-matching checkpoint (runs/NAME/best); default: the shipped model")
    p.add_argument("--mask-model", dest="mask_model",
                   help="mask checkpoint, or a shipped mask model by name (default, speech: see `specmask enhance "
                        "--help`); default: default")
    p.add_argument("--max-upload-mb", dest="max_upload_mb", type=positive_float, default=MAX_UPLOAD_MB,
                   help=f"largest upload accepted, in MB (default {MAX_UPLOAD_MB})")


def check_host(host: str, allow_remote: bool) -> None:
    """Only a loopback address without ``--allow-remote``."""
    local = host in LOCAL_HOSTS
    if not local:
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
    if not local and not allow_remote:
        raise InputError(f"--host {host}: the app would be reachable from other machines and has no login; pass "
                         "--allow-remote as well if that is what you want")


def check_port(host: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise InputError(f"--port: expected 1-65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InputError(f"--port {port}: cannot listen on {host}:{port} ({error.strerror}); is the app already "
                             "running? pass another --port") from None


def serve(args: argparse.Namespace) -> int:
    """Check the options, load the models, start the server and block until interrupted; then clean up."""
    check_host(args.host, args.allow_remote)
    check_port(args.host, args.port)
    if args.mask_model:
        from specmask.checkpoint import resolve

        args.mask_model = str(resolve(args.mask_model))
    for option in ("model", "mask_model"):
        path = getattr(args, option)
        if path:
            check_input_file(str(Path(path).with_suffix(".json")))
    workdir = Path(tempfile.mkdtemp(prefix="inverse-app-"))
    # gradio reads these at import: its uploads and cache go below workdir, and it reports nothing anywhere.
    os.environ["GRADIO_TEMP_DIR"] = str(workdir / "gradio")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    # torch's compiler caches (touched by the optimiser of --refine gradient) too, unless the user chose a place
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(workdir / "torchinductor"))
    os.environ.setdefault("TRITON_CACHE_DIR", str(workdir / "triton"))
    os.environ.setdefault("MPLCONFIGDIR", str(workdir / "matplotlib"))  # its font list: 0.2 s to rebuild
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _serve(args, workdir)
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"removed {workdir}", file=sys.stderr)


def _serve(args: argparse.Namespace, workdir: Path) -> int:
    from inverse.predict import Predictor
    from specmask.checkpoint import SHIPPED

    try:
        from webapp.ui import CSS, Services, build
    except ImportError as error:
        raise InputError(f"the web app needs gradio ({error}); `make` installs it from the lock file, or "
                         "pip install 'inverse-synth[app]'") from None

    mask_models = {Path(args.mask_model).name: Path(args.mask_model)} if args.mask_model else dict(SHIPPED)
    services = Services(Predictor.from_checkpoint(args.model), mask_models, workdir,
                        args.max_upload_mb)
    app = build(services)
    app.queue(max_size=32, default_concurrency_limit=1)
    local = args.host in LOCAL_HOSTS or not args.allow_remote
    where = "this machine only" if local else "REACHABLE FROM OTHER MACHINES"
    print(f"inverse app: http://{args.host}:{args.port} ({where}); temporary files in {workdir}; Ctrl-C stops",
          file=sys.stderr, flush=True)
    try:
        app.launch(server_name=args.host, server_port=args.port, max_file_size=f"{args.max_upload_mb:g}mb",
                   show_error=False, quiet=True, css=CSS, footer_links=[], ssr_mode=False, inbrowser=False,
                   prevent_thread_lock=True)
        while True:  # until Ctrl-C or SIGTERM (a KeyboardInterrupt: _interrupt)
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server = getattr(app, "server", None)  # gradio's uvicorn server, once launched
        if server is not None:  # stop at once: waiting for an open browser tab's connections took ~5 s
            server.force_exit = True
        # the cancelled lifespan task is logged as an error with a traceback: stopping is no error
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        app.close()
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m webapp", description=__doc__.split("\n\n")[0].strip("`"))
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: serve(args))
