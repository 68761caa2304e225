"""`torchrun --nproc-per-node 2 -m inverse train` works on the CPU (gloo backend)."""

import csv
import subprocess
import sys

from dataset_gen.generate import GenerateOptions, generate
from inverse import checkpoint


def test_two_process_ddp_training(tmp_path):
    data = tmp_path / "train.h5"
    generate(GenerateOptions(num_rows=8, out=data, seed=4, batch_size=8), progress=False)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29517",
           "-m", "inverse", "train", "--train", str(data), "--out", str(run), "--epochs", "1", "--batch-size", "2",
           "--widths", "4", "8", "8", "8", "8", "--num-workers", "0", "--device", "cpu"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert len(rows) == 1, "only rank 0 writes the log"
    model, info = checkpoint.load(run / "best")
    assert info["data"]["train_rows"] + info["data"]["val_rows"] == 8
