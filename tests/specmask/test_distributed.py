"""`torchrun --nproc-per-node 2 -m specmask train` works on the CPU (gloo backend): one GAN step per process."""

import csv
import subprocess
import sys

from specmask import checkpoint


def test_two_process_ddp_mask_training(tmp_path, inverse_ckpt):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29519",
           "-m", "specmask", "train", "--backbone", str(inverse_ckpt), "--out", str(run), "--epochs", "1",
           "--examples-per-epoch", "4", "--batch-size", "2", "--val-examples", "2", "--adversarial-start", "0",
           "--decoder-width", "8", "--subpixel-channels", "8", "--num-workers", "0", "--device", "cpu", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert len(rows) == 1 and rows[0]["step"] == "1", "only rank 0 writes the log; 4 examples = 2 ranks x 1 step x 2"
    generator, info = checkpoint.load(run / "best")
    assert info["mask_data"]["examples"] == 4
