"""Per target: best MSS, how many of the ten within 1.5x it, the first on the target's pitch, how many on it, the
median MSS; under the fill rule of c77f3c2 (old) and of d0e54f9 (new); SAME where the ten are identical."""
import json


def load(path: str) -> dict:
    answers = json.load(open(path))
    return {a["target"]["source"]: a for a in (answers if isinstance(answers, list) else [answers])}


def stats(answer: dict) -> str:
    mss = [c["mss"] for c in answer["candidates"]]
    best = min(mss)
    inside = sum(x <= 1.5 * best + 1e-9 for x in mss)
    on_pitch = sum(c.get("pitch_agrees", False) for c in answer["candidates"])
    first = answer["candidates"][0].get("pitch_agrees")
    return f"best {best:.3f} in1.5x {inside} first {first} all {on_pitch} med {sorted(mss)[5]:.3f}"


new, old = load("/tmp/fifths/new.json"), load("/tmp/fifths/old.json")
for source, answer in new.items():
    same = "SAME" if answer["candidates"] == old[source]["candidates"] else ""
    print(source.split("/")[-1], "old", stats(old[source]), "| new", stats(answer), same)
