"""chains.py --data DIR [--split S]... [--family F]... [--prompt reasoning|direct] MODEL...: where a model's
motion chain goes wrong.

The recipe's answers think ``moved X, turned Y; camera: Z`` before the letter (questions.motion_think,
``frame``). For each row this sorts the greedy completion by the first step that disagrees with the
row's true chain: the motion read from the images (``moved``/``turned``), the frame word's direction
given that motion (``camera: Z``), the letter given that direction, or none (right); and how often the letter is right while
the chain's frame word does not follow from the motion it read (errors that cancel). Tells a model that
misreads the images from one that reads them and then answers something else. Prints a markdown table
(percent of the rows; n in the header) and, with --json, writes the counts.
"""
import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from training import labels as L  # noqa: E402
from training import questions as Q  # noqa: E402
from training.dataset import iter_rows  # noqa: E402
from training.evaluate import InProcessAnswerer  # noqa: E402
from training.rewards import parse_answer  # noqa: E402

CHAIN = re.compile(r"<think>\s*moved (\S+(?: movement)?), turned (\S+(?: movement)?); (\w+): (.+?)\s*</think>")
COLUMNS = ["id", "family", "split", "images", "question", "options", "answer", "answer_text", "yaw_deg",
           "lateral_m"]
KINDS = ("right", "motion misread", "frame word wrong", "letter wrong", "no chain", "right letter, chain at odds")
FRAME = {"ego_translation": ("camera", lambda moved, turned: moved),
         "object_translation": ("object", lambda moved, turned: L.mirrored(moved)),
         "ego_rotation": ("turn", lambda moved, turned: turned)}


def at_odds(row: dict, text: str) -> bool:
    """The letter is right but the chain's frame word does not follow from the motion the chain itself read:
    errors that cancel, which an answer-only reward pays for as if the chain were right."""
    m = CHAIN.search(text)
    if m is None or row["family"] not in FRAME:
        return False
    moved, turned, word, said = m.groups()
    frame, follows = FRAME[row["family"]]
    right = parse_answer(text).strip().rstrip(".").upper() == str(row["answer"]).upper()
    return right and (word != frame or said.strip() != follows(moved, turned))


def classify(row: dict, text: str) -> str:
    truth = Q.motion_think(row["family"], row["question"], row["answer_text"], row["yaw_deg"],
                           row["lateral_m"], frame=True)
    true_moved, true_turned = re.match(r"moved (.+?), turned (.+?);", truth).groups()
    m = CHAIN.search(text)
    if m is None:
        return "no chain"
    moved, turned, word, said = m.groups()
    options = list(row["options"] or [])
    letter = parse_answer(text).strip().rstrip(".").upper()
    picked = options[Q.LETTERS.index(letter)] if letter in Q.LETTERS[:len(options)] else None
    if (moved, turned) != (true_moved, true_turned):
        return "motion misread"
    # the motion was read right: the frame word and its direction follow from it and the family
    if f"{word}: {said.strip()}" != truth.rsplit("; ", 1)[1]:
        return "frame word wrong"
    if picked != said.strip():
        return "letter wrong"
    return "right"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", action="append", default=None)
    ap.add_argument("--family", action="append", default=None)
    ap.add_argument("--prompt", choices=("reasoning", "direct"), default="reasoning")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--temperature", type=float, default=0.0, help="sample instead of greedy (GRPO's: 1.5)")
    ap.add_argument("--samples", type=int, default=1, help="completions per row (with --temperature)")
    args = ap.parse_args()
    splits, fams = set(args.split or ["test", "test_backgrounds"]), set(args.family or Q.PAPER_FAMILIES)
    rows = [r for r in iter_rows(args.data, columns=COLUMNS) if r["split"] in splits and r["family"] in fams]
    counts = {}
    for path in args.models:
        answerer = InProcessAnswerer.from_pretrained(path)
        c = Counter()
        for i in range(0, len(rows), args.batch_size):
            batch = rows[i:i + args.batch_size]
            for k in range(args.samples):
                texts = answerer.answer(batch, reasoning=args.prompt == "reasoning", temperature=args.temperature,
                                        seed=1000 * k + i)
                for row, text in zip(batch, texts):
                    c[(row["split"], row["family"], classify(row, text))] += 1
                    c[(row["split"], row["family"], "right letter, chain at odds")] += at_odds(row, text)
        counts[str(path)] = c
    print(f"| model | split | family | n | " + " | ".join(KINDS) + " |")
    print("|---|---|---|---:|" + "---|" * len(KINDS))
    for path, c in counts.items():
        for sp in sorted(splits):
            for fam in sorted(fams):
                n = sum(v for (s, f, k), v in c.items() if (s, f) == (sp, fam) and k != KINDS[-1])
                if n:
                    cells = " | ".join(f"{100 * c[(sp, fam, k)] / n:.1f}" for k in KINDS)
                    print(f"| {Path(path).name} | {sp} | {fam} | {n} | {cells} |")
    if args.json:
        args.json.write_text(json.dumps({p: {"|".join(k): v for k, v in c.items()} for p, c in counts.items()},
                                        indent=1))


if __name__ == "__main__":
    main()
