"""inverse predict on the power-chord WAVs under the fill rule of HEAD ("new") or of c77f3c2 ("old")."""
import ast
import glob
import subprocess
import sys

import torch

import inverse.sampling as S
from inverse import cli

rule = sys.argv[1]
if rule == "old":
    source = subprocess.run(["git", "show", "c77f3c2:inverse/sampling.py"], capture_output=True, text=True).stdout
    fn = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "select_spread")
    ns = {"torch": torch, "closest_pair": S.closest_pair}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "old", "exec"), {**vars(S), **ns}, ns)
    S.select_spread = ns["select_spread"]
wavs = sorted(glob.glob("/tmp/fifths/fifth*.wav"))
sys.exit(cli.main(["predict", *wavs, "--json", "--out", f"/tmp/fifths/out_{rule}"]))
