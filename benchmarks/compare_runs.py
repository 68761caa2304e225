"""Two runs of ``inverse_quality.py`` on the same targets, paired target by target: what a change of ``predict``
did (issue 13).

    python benchmarks/compare_runs.py BEFORE_DIR AFTER_DIR [--method hybrid_refined] [--after-method hybrid]

Reads each directory's per-target records (``inverse_quality.partial.jsonl``, or ``records.jsonl`` as results
folders keep it: git ignores the partial file) and pairs the targets both hold.
Per group (in-domain, sox, fluidsynth, espeak-ng): mean best-of-10 MSS before and after, the relative change with
its 95 % bootstrap interval over targets and on how many targets it got better or worse; the mean diversity of the
returned candidates before and after (its change and interval the same way); then, on the targets with a clear
pitch, how often the first candidate has the target's pitch before and after, by CREPE, by pYIN, and by pYIN on the
targets both trackers read alike (the two-tracker rule), with the targets that gained or lost it, and, where both
runs recorded it, how many of all returned candidates have it ("all K", CREPE).
``--after-method`` pairs another method of the later run with ``--method`` of the earlier one (e.g. ``hybrid``,
predict without refinement, against the default). Writes ``compare_<BEFORE>.{json,md}`` into AFTER_DIR.

Answers made by other render builds (another CPU, or this VM booted on another host:
:func:`benchmarks.common.render_build`) differ without any change of ``predict``: the report counts the paired
targets whose records name other builds (or none: records older than 6 December) and warns where any do.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import command_line, git_commit, write_results  # noqa: E402
from benchmarks.inverse_quality import GROUPS, change_interval, merge_records  # noqa: E402

RECORDS = ("inverse_quality.partial.jsonl", "records.jsonl")  # a run's own file first, then a results folder's
JUDGES = {"CREPE": ("pitch", False), "pYIN": ("pitch_pyin", False), "pYIN, two-tracker rule": ("pitch_pyin", True)}


def records_file(folder: Path) -> Path | None:
    """The per-target records in ``folder`` (:data:`RECORDS`, the first that exists), else None."""
    return next((folder / name for name in RECORDS if (folder / name).exists()), None)


def records(folder: Path) -> dict[tuple[str, str], dict]:
    lines = [json.loads(line) for line in records_file(folder).read_text().splitlines()]
    return {(r["group"], r["name"]): r for r in merge_records(lines)}


def pitch_within(record: dict, method: str, key: str, agreed_only: bool) -> bool | None:
    """Whether ``method``'s first candidate has the target's pitch by the judge ``key``; None where not judged."""
    pitch = record.get("target_pitch") or {}
    judged = record["methods"].get(method, {}).get(key)
    if not pitch.get("clear") or judged is None or (agreed_only and not pitch.get("trackers_agree")):
        return None
    return bool(judged["within"])


def build_agreement(before: dict, after: dict, method: str, later: str) -> str:
    """``same``, ``other`` or ``unknown``: whether one paired target's two records name the same render build."""
    builds = (before.get("render_build", {}).get(method), after.get("render_build", {}).get(later))
    return "unknown" if None in builds else "same" if builds[0] == builds[1] else "other"


def compare(before: dict, after: dict, method: str, after_method: str | None = None) -> dict:
    """Per group, ``method`` of ``before`` against ``after_method`` (default: the same) of ``after``."""
    later = after_method or method
    out = {}
    for group in GROUPS:
        keys = sorted(k for k in after if k[0] == group and k in before
                      and method in before[k]["methods"] and later in after[k]["methods"])
        if not keys:
            continue
        old = [before[k]["methods"][method]["best_mss"] for k in keys]
        new = [after[k]["methods"][later]["best_mss"] for k in keys]
        entry: dict = {"targets": len(keys), "best_mss_before": sum(old) / len(keys),
                       "best_mss_after": sum(new) / len(keys), "change": sum(new) / sum(old) - 1,
                       "change_interval": change_interval(new, old),
                       "better": sum(b < a - 1e-6 for a, b in zip(old, new)),
                       "worse": sum(b > a + 1e-6 for a, b in zip(old, new)), "pitch": {}}
        agreement = [build_agreement(before[k], after[k], method, later) for k in keys]
        entry["builds"] = {kind: agreement.count(kind) for kind in ("same", "other", "unknown")}
        old_div = [before[k]["methods"][method]["diversity"] for k in keys]
        new_div = [after[k]["methods"][later]["diversity"] for k in keys]
        entry["diversity"] = {"before": sum(old_div) / len(keys), "after": sum(new_div) / len(keys),
                              "change": sum(new_div) / sum(old_div) - 1,
                              "change_interval": change_interval(new_div, old_div)}
        for judge, (key, agreed_only) in JUDGES.items():
            pairs = {k[1]: (pitch_within(before[k], method, key, agreed_only),
                            pitch_within(after[k], later, key, agreed_only)) for k in keys}
            pairs = {name: p for name, p in pairs.items() if None not in p}
            entry["pitch"][judge] = {"judged": len(pairs), "before": sum(p[0] for p in pairs.values()),
                                     "after": sum(p[1] for p in pairs.values()),
                                     "gained": [n for n, p in pairs.items() if p[1] and not p[0]],
                                     "lost": [n for n, p in pairs.items() if p[0] and not p[1]]}
        pairs_all = [(before[k]["methods"][method]["pitch_all"], after[k]["methods"][later]["pitch_all"])
                     for k in keys if "pitch_all" in before[k]["methods"][method]
                     and "pitch_all" in after[k]["methods"][later]]
        entry["pitch_all"] = {"targets": len(pairs_all),
                              "candidates": sum(a["candidates"] for a, _ in pairs_all),
                              "before": sum(a["within"] for a, _ in pairs_all),
                              "after": sum(b["within"] for _, b in pairs_all)}
        out[group] = entry
    return out


def markdown(results: dict) -> str:
    methods = f"`{results['method']}`" + (f" -> `{results['after_method']}`" if results.get("after_method") else "")
    lines = [f"# {methods}: {results['before']} -> {results['after']}", "",
             f"Command: `{results['command']}` (commit {results['commit']}). Targets paired by name; best-of-10 MSS "
             "(lower is better) with the relative change's 95 % bootstrap interval over targets; first candidate "
             "within 50 cents of the target's pitch on the targets with a clear one.", "", builds_line(results), "",
             "| group | targets | best-of-10 MSS before | after | change | better / worse | diversity before | after "
             "| change |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for group, e in results["groups"].items():
        low, high = e["change_interval"]
        d = e["diversity"]
        d_low, d_high = d["change_interval"]
        lines.append(f"| {group} | {e['targets']} | {e['best_mss_before']:.3f} | {e['best_mss_after']:.3f} | "
                     f"{100 * e['change']:+.1f} % ({100 * low:+.1f} .. {100 * high:+.1f}) | "
                     f"{e['better']} / {e['worse']} | {d['before']:.3f} | {d['after']:.3f} | "
                     f"{100 * d['change']:+.1f} % ({100 * d_low:+.1f} .. {100 * d_high:+.1f}) |")
    lines += ["", "| group | judge | judged | before | after | gained | lost |", "|---|---|---:|---:|---:|---|---|"]
    for group, e in results["groups"].items():
        for judge, p in e["pitch"].items():
            lines.append(f"| {group} | {judge} | {p['judged']} | {p['before']} | {p['after']} | "
                         f"{', '.join(p['gained'])} | {', '.join(p['lost'])} |")
    every = {group: e["pitch_all"] for group, e in results["groups"].items() if e["pitch_all"]["targets"]}
    if every:
        lines += ["", "All K: every returned candidate within 50 cents of the target's pitch (CREPE), on the clear "
                  "targets both runs judged so.", "", "| group | clear targets | candidates | before | after |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {group} | {a['targets']} | {a['candidates']} | {a['before']} | {a['after']} |"
                  for group, a in every.items()]
    return "\n".join(lines) + "\n"


def builds_line(results: dict) -> str:
    """One sentence: on how many paired targets both records name the same render build."""
    total = {kind: sum(e["builds"][kind] for e in results["groups"].values()) for kind in ("same", "other", "unknown")}
    paired = sum(total.values())
    if total["same"] == paired:
        return f"Render builds: the same on all {paired} paired targets."
    parts = [f"the same on {total['same']}"]
    if total["other"]:
        parts.append(f"**other on {total['other']}** (another CPU: these differ without any change of predict)")
    if total["unknown"]:
        parts.append(f"unknown on {total['unknown']} (records without one, older than 6 December)")
    return f"Render builds of the {paired} paired targets: {', '.join(parts)}."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="directory of the earlier run's records")
    parser.add_argument("after", type=Path, help="directory of the later run's records (the report goes here)")
    parser.add_argument("--method", default="hybrid_refined", help="the method compared (default: predict's)")
    parser.add_argument("--after-method", dest="after_method",
                        help="the later run's method paired with --method (default: the same)")
    args = parser.parse_args(argv)
    for folder in (args.before, args.after):
        if records_file(folder) is None:
            parser.error(f"{folder} holds neither {' nor '.join(RECORDS)} (inverse_quality.py's per-target records)")
    results = {"command": command_line(), "commit": git_commit(), "method": args.method,
               "after_method": args.after_method, "before": args.before.name, "after": args.after.name,
               "groups": compare(records(args.before), records(args.after), args.method, args.after_method)}
    paths = write_results(args.after, f"compare_{args.before.name}", results, markdown(results))
    if any(e["builds"]["other"] for e in results["groups"].values()):
        print(f"warning: {builds_line(results).replace('**', '')}", file=sys.stderr)
    print(f"wrote {paths[0]} and {paths[1]}")


if __name__ == "__main__":
    main()
