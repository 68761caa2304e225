"""benchmarks/inverse_quality.py (run from the repository root) with a log (TRIGGERED_LOG, one line per target) of
the targets where select_spread's fill order chose other rows than the rule at c77f3c2 in any call: elsewhere the
answers are the same bytes under both rules."""
import ast
import json
import os
import subprocess
import sys

sys.path.insert(0, "benchmarks")
sys.argv = ["benchmarks/inverse_quality.py", *sys.argv[1:]]
import inverse_quality as iq  # noqa: E402
import torch  # noqa: E402

import inverse.sampling as S  # noqa: E402

LOG = os.environ.get("TRIGGERED_LOG", "select_rule_changed.jsonl")
source = subprocess.run(["git", "show", "c77f3c2:inverse/sampling.py"], capture_output=True, text=True,
                        check=True).stdout
tree = ast.parse(source)
fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "select_spread")
namespace = {"torch": torch, "closest_pair": S.closest_pair}
exec(compile(ast.Module(body=[fn], type_ignores=[]), "old_select_spread", "exec"),
     {**vars(S), **namespace}, namespace)
old_rule, new_rule = namespace["select_spread"], S.select_spread
state = {"triggered": False, "calls": 0}


def select_spread(*args, **kwargs):
    new = new_rule(*args, **kwargs)
    state["calls"] += 1
    if old_rule(*args, **kwargs) != new:
        state["triggered"] = True
    return new


S.select_spread = select_spread
evaluate = iq.evaluate_target


def evaluate_target(context, names, target, truth, *args, **kwargs):
    state["triggered"], state["calls"] = False, 0
    result = evaluate(context, names, target, truth, *args, **kwargs)
    with open(LOG, "a") as handle:
        handle.write(json.dumps({"source": target.source, "index": context.index, "triggered": state["triggered"],
                                 "calls": state["calls"]}) + "\n")
    return result


iq.evaluate_target = evaluate_target
raise SystemExit(iq.main())
