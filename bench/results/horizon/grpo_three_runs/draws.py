"""draws.py BASE DRAWS: the ten draws of three 100-step runs averaged (a-e: /work/runs/s22, f-j: /work/runs/s23),
GRPO's (soupQ*) and SFT's (soupP*), each paired against BASE (points), over draws with a Student-t 95%
interval; then GRPO's minus SFT's, draw by draw. DRAWS: which draws, e.g. abcdefghij."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_temperature"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_soup"))
from members import names
from seeds import differences, minus, over_seeds, table
base, draws = sys.argv[1], sys.argv[2]


def ev(kind, draw):
    return f"/work/runs/{'s22' if draw in 'abcde' else 's23'}/ev_soup{kind}{draw}"


def against_base(label, runs):
    return [over_seeds(differences(base, runs, st, sp)) for st, sp, _ in names]


def grpo_minus_sft(label, draws):
    q, p = [ev("Q", d) for d in draws], [ev("P", d) for d in draws]
    return [over_seeds(minus(base, q, p, st, sp)) for st, sp, _ in names]


table("averages (draws)", [f"GRPO, three 100-step runs averaged:{','.join(ev('Q', d) for d in draws)}",
                           f"SFT control, the same:{','.join(ev('P', d) for d in draws)}"], against_base, names)
print()
table("draw by draw (draws)", [f"GRPO's average minus SFT's:{','.join(draws)}"], grpo_minus_sft, names)
