"""draws.py BASE DRAWS [ROOT] [--reasoning]: the draws of three 100-step runs averaged (a-e: /work/runs/s22, f-j:
/work/runs/s23; with ROOT, all of them under ROOT: ../second_model/runs.sh), GRPO's (soupQ*) and SFT's (soupP*),
each paired against BASE (points), over draws with a Student-t 95% interval; then GRPO's minus SFT's, draw by
draw. DRAWS: which draws, e.g. abcdefghij. --reasoning adds the reasoning prompts' columns (draws.md has none)."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_temperature"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_soup"))
from members import names
from seeds import differences, minus, over_seeds, table
args = [a for a in sys.argv[1:] if a != "--reasoning"]
base, draws = args[0], args[1]
root = args[2] if len(args) > 2 else None
if "--reasoning" in sys.argv:
    names = names + [("p3_tiles_reasoning", "test", "reasoning, in-domain"),
                     ("p3_tiles_reasoning", "test_backgrounds", "reasoning, held-out floor")]


def ev(kind, draw):
    return f"{root or '/work/runs/' + ('s22' if draw in 'abcde' else 's23')}/ev_soup{kind}{draw}"


def against_base(label, runs):
    return [over_seeds(differences(base, runs, st, sp)) for st, sp, _ in names]


def grpo_minus_sft(label, draws):
    q, p = [ev("Q", d) for d in draws], [ev("P", d) for d in draws]
    return [over_seeds(minus(base, q, p, st, sp)) for st, sp, _ in names]


table("averages (draws)", [f"GRPO, three 100-step runs averaged:{','.join(ev('Q', d) for d in draws)}",
                           f"SFT control, the same:{','.join(ev('P', d) for d in draws)}"], against_base, names)
print()
table("draw by draw (draws)", [f"GRPO's average minus SFT's:{','.join(draws)}"], grpo_minus_sft, names)
