"""Baseline vs TSU TinyGPT training: validation loss, wall time and tokens/s, in one run.

Both runs go through ThermoLab's trainer with the same settings, seed and batches; the loop
alternates one baseline step and one TSU step, so both see the same machine load. Defaults
follow the issue: Tiny Shakespeare (`../shared/data/tinyshakespeare.txt` when present, else
the offline default corpus), the "CPU quick" preset, batch 12, 2000 steps.

Reported per run: final validation loss (TSU: K-sample predictive mean, and mean weights),
training wall time (the timed steps only; evaluation excluded), tokens/s, median step time,
and energy per token by kind (measured / estimated / projected; never added together).
Targets: baseline validation loss ≤ 1.95 nats; TSU median step time ≤ 1.3 × baseline's.

Usage:
    python bench/training.py                       # 2000 steps, ~10 min on 2 cores
    python bench/training.py --steps 500 --threads 2
    python bench/training.py --quick               # a few seconds (smoke test)
    python bench/training.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_TEXT = REPO.parent / "shared" / "data" / "tinyshakespeare.txt"
TARGET_VAL_LOSS = 1.95
TARGET_STEP_RATIO = 1.3


def _median_step_seconds(store, run_id: str) -> float:
    _steps, seconds = store.metrics(run_id, ["step_seconds"])["step_seconds"]
    return statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--corpus", default=str(SHARED_TEXT) if SHARED_TEXT.exists() else "default")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "training.json")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    import torch

    from thermolab.runs import RunStore
    from thermolab.training import TrainConfig, compare, prepare, train

    steps = 20 if args.quick else args.steps
    config = TrainConfig(
        corpus="default" if args.quick else args.corpus,
        steps=steps,
        batch_size=4 if args.quick else args.batch_size,
        eval_every=10 if args.quick else min(args.eval_every, steps),
        eval_batches=2 if args.quick else 20,
        warmup_steps=5 if args.quick else 100,
        threads=args.threads,
        meter="auto",
        target_val_loss=TARGET_VAL_LOSS + 0.3,
        sample_chars=20 if args.quick else 200,
    )
    with tempfile.TemporaryDirectory(prefix="thermolab-bench-") as directory:
        store = RunStore(directory)
        _, run_ids = prepare(config, store)
        print(f"training baseline and TSU side by side: {steps} steps on {config.corpus!r} …")
        result = train(config, store, run_ids)
        step_seconds = {
            mode: _median_step_seconds(store, run_id) for mode, run_id in run_ids.items()
        }
    summaries = result.summaries
    base, tsu = summaries["baseline"], summaries["tsu"]
    ratio = step_seconds["tsu"] / step_seconds["baseline"]

    print()
    print(
        f"{'run':<9} {'val loss':>9} {'(mean w)':>9} {'wall s':>8} {'tokens/s':>9} {'step ms':>8}"
    )
    for mode, summary in summaries.items():
        mean_w = summary.get("val_loss_mean_weights")
        print(
            f"{mode:<9} {summary['val_loss']:>9.4f} "
            f"{'' if mean_w is None else f'{mean_w:.4f}':>9} {summary['train_seconds']:>8.1f} "
            f"{summary['tokens_per_second']:>9.0f} {1e3 * step_seconds[mode]:>8.2f}"
        )
    print()
    for row in compare(base, tsu):
        if row["quantity"].startswith("energy per token"):
            b, t = row["baseline"], row["tsu"]
            fmt = lambda v: "—" if v is None else f"{v:.3e}"  # noqa: E731
            print(
                f"{row['quantity']:<34} baseline {fmt(b)}  TSU {fmt(t)}  J/token  [{row['source']}]"
            )
    val_ok = base["val_loss"] <= TARGET_VAL_LOSS
    ratio_ok = ratio <= TARGET_STEP_RATIO
    print()
    verdict = {True: "PASS", False: "MISS"}
    print(f"baseline val loss {base['val_loss']:.4f} ≤ {TARGET_VAL_LOSS}: {verdict[val_ok]}")
    print(f"TSU / baseline step time {ratio:.3f} ≤ {TARGET_STEP_RATIO}: {verdict[ratio_ok]}")

    report = {
        "config": config.to_dict(),
        "quick": args.quick,
        "median_step_seconds": step_seconds,
        "step_time_ratio": ratio,
        "targets": {
            "baseline_val_loss": {
                "target": TARGET_VAL_LOSS,
                "value": base["val_loss"],
                "met": val_ok,
            },
            "step_time_ratio": {"target": TARGET_STEP_RATIO, "value": ratio, "met": ratio_ok},
        },
        "summaries": summaries,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
