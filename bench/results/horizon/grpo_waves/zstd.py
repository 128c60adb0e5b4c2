"""zstd.py RUN...: each GRPO run's mean share of zero-std groups and mean reward, from its checkpoint's log history."""
import json, sys
for r in sys.argv[1:]:
    h = json.load(open(f"{r}/actial_checkpoint.json")).get("log_history", [])
    z = [e["frac_reward_zero_std"] for e in h if "frac_reward_zero_std" in e]
    a = [e["rewards/accuracy_reward/mean"] for e in h if "rewards/accuracy_reward/mean" in e]
    rt = [e["train_runtime"] for e in h if "train_runtime" in e]
    print(f"{r}: zero-std {sum(z)/max(len(z),1):.3f} (first 10 logs {sum(z[:10])/max(len(z[:10]),1):.3f}, last 10 {sum(z[-10:])/max(len(z[-10:]),1):.3f}), accuracy reward {sum(a)/max(len(a),1):.3f}, runtime {rt}")
