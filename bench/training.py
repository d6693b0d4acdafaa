"""Baseline vs TSU TinyGPT training: validation loss, wall time and tokens/s, in one run.

Both runs go through ThermoLab's trainer with the same settings, seed and batches; the loop
alternates one baseline step and one TSU step, so both see the same machine load. Defaults
follow the issue: Tiny Shakespeare (`../shared/data/tinyshakespeare.txt` when present, else
the offline default corpus), the "CPU quick" preset, batch 12, 2000 steps.

Reported per run: final validation loss (TSU: K-sample predictive mean, and mean weights),
training wall time (the timed steps only; evaluation excluded), tokens/s, median step time,
and energy per token by kind (measured / estimated / projected; never added together).
Targets: baseline validation loss ≤ 1.95 nats; TSU median step time ≤ 1.3 × baseline's.

TinyThermoLM sections (same run, ratios only):
- speed: tokens/s of our softmax baseline vs nanoGPT's own model (its model.py, read from
  `--nanogpt PATH` or $NANOGPT_MODEL; reported n/a without it: nothing of it is shipped here),
  same layers, heads, width, block, batch, each project's own training step (our trainer's
  AdamW, fused where torch has it; nanoGPT's `configure_optimizers` on the CPU, which leaves
  fusion to CUDA), the same learning rate, betas and weight decay, alternating steps, at 1
  torch thread and at every core; step time of softmax vs boltzmann K = 1, 4, 8, 16, gumbel
  and hard attention.
  At 1 thread the step is timed by the thread's CPU time (a shared machine's wall time is
  mostly waiting for a core; the wall time is in the JSON too), at every core by wall time.
  The two models' steps run in pairs (same batch, back to back, order alternating); the
  ratio is the median over `--speed-steps` pairs of nanoGPT's step time ÷ ours, with the
  medians of 5 stretches of steps as its spread and the load average before and after.
  Targets: ours ≥ 1.0 × nanoGPT at both thread counts; boltzmann K = 8 ≤ 1.5 × softmax.
- variants: validation loss, ECE, AURC and step time after `--variant-steps` steps for
  softmax, boltzmann K = 8, TinyThermoLM (boltzmann K = 8 + Gaussian weights), and AdamW vs
  Langevin (pSGLD, cosine-annealed T) and the same steps at T = 0; runs without other
  predictive samples get their AURC from MC p-bit dropout (p = 0.1). Step times compare only
  within a group (softmax vs TinyThermoLM run side by side).

Usage:
    python bench/training.py                       # 2000 steps, ~10 min on 2 cores
    python bench/training.py --steps 500 --threads 2
    python bench/training.py --quick               # a few seconds (smoke test)
    python bench/training.py --json out.json
    python bench/training.py --sections speed,variants --variant-steps 500 --nanogpt model.py
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
TARGET_NANOGPT_RATIO = 1.0
TARGET_BOLTZMANN8_RATIO = 1.5
SECTIONS = ("tsu", "speed", "variants")
#: Attention modes timed in the speed section: (label, thermolab.nn mode, K).
SPEED_MODES = (
    ("softmax", "softmax", 1),
    ("boltzmann K=1", "sampled", 1),
    ("boltzmann K=4", "sampled", 4),
    ("boltzmann K=8", "sampled", 8),
    ("boltzmann K=16", "sampled", 16),
    ("gumbel", "gumbel", 1),
    ("hard", "hard", 1),
)


#: Variant groups of the variants section, each trained side by side in one run:
#: name: (TrainConfig changes, modes, labels of its runs by mode).
VARIANT_GROUPS: dict[str, tuple[dict, tuple[str, ...], dict[str, str]]] = {
    "pair": (
        {"attention": "boltzmann", "baseline_attention": "softmax"},
        ("baseline", "tsu"),
        {"baseline": "softmax · AdamW", "tsu": "TinyThermoLM (boltzmann K=8 + Gaussian w)"},
    ),
    "boltzmann": ({"attention": "boltzmann"}, ("baseline",), {"baseline": "boltzmann K=8"}),
    "langevin": (
        {"optimizer": "langevin", "langevin_t_schedule": "cosine", "langevin_t_end": 0.0},
        ("baseline",),
        {"baseline": "softmax · Langevin (pSGLD, T 1 → 0)"},
    ),
    # The same preconditioned steps without noise (RMSprop): what the noise itself buys.
    "langevin-t0": (
        {"optimizer": "langevin", "langevin_temperature": 0.0},
        ("baseline",),
        {"baseline": "softmax · pSGLD at T = 0 (RMSprop)"},
    ),
}


def _median_step_seconds(store, run_id: str) -> float:
    _steps, seconds = store.metrics(run_id, ["step_seconds"])["step_seconds"]
    return statistics.median(seconds)


def _load_nanogpt(path: str | None):
    """nanoGPT's model module from a model.py the user points to, or None."""
    import importlib.util

    if not path or not Path(path).is_file():
        return None
    spec = importlib.util.spec_from_file_location("nanogpt_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _step_times(
    models: dict, optimizers: dict, vocab: int, batch: int, block: int, steps: int, warmup: int
):
    """Training-step times (s) of each model with its optimizer in `optimizers` (same names),
    steps alternating over models, same batches:
    ({model: [wall seconds per step]}, {model: [seconds of this thread's CPU time per step]}),
    `steps` of each after `warmup` untimed ones.

    The order of the models is reversed every other step, so none always runs first. With one
    torch thread the whole step runs on this thread, so its CPU time is the step's cost
    without the time spent waiting for a core on a shared machine (with more threads it
    misses the other threads' work: use the wall time).
    """
    import contextlib
    import io
    import time

    import torch

    generator = torch.Generator().manual_seed(0)
    times: dict[str, list[float]] = {name: [] for name in models}
    cpu: dict[str, list[float]] = {name: [] for name in models}
    for step in range(warmup + steps):
        x = torch.randint(vocab, (batch, block), generator=generator)
        y = torch.randint(vocab, (batch, block), generator=generator)
        order = list(models.items())
        for name, model in order if step % 2 == 0 else reversed(order):
            started, started_cpu = time.perf_counter(), time.thread_time()
            with contextlib.redirect_stdout(io.StringIO()):
                output = model(x, y)
            loss = output[1] if isinstance(output, tuple) else output.loss
            optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[name].step()
            if step >= warmup:
                times[name].append(time.perf_counter() - started)
                cpu[name].append(time.thread_time() - started_cpu)
    return times, cpu


def _medians(per_step: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in per_step.items()}


def _paired_ratio(ours: list[float], peer: list[float], rounds: int) -> dict:
    """Our tokens/s ÷ the peer's from step times taken in pairs (same step, same batch,
    back to back): per step peer seconds ÷ our seconds, so a load change between steps
    cancels. median: over all steps (the headline); rounds: the median of each of `rounds`
    consecutive stretches of steps, and spread: their [min, max] (how much the machine's
    load moved the answer); quartiles: of the per-step ratios."""
    ratios = [p / o for o, p in zip(ours, peer, strict=True)]
    size = max(1, len(ratios) // rounds)
    stretches = [ratios[i : i + size] for i in range(0, size * rounds, size)]
    medians = [statistics.median(stretch) for stretch in stretches if stretch]
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {
        "median": statistics.median(ratios),
        "rounds": medians,
        "spread": [min(medians), max(medians)],
        "quartiles": [quartiles[0], quartiles[2]],
    }


def speed_section(nanogpt_path: str | None, quick: bool, steps: int = 150) -> dict:
    """Tokens/s ours vs nanoGPT at 1 thread and every core (`steps` paired steps each);
    step time per attention mode."""
    import contextlib
    import io

    import torch

    from thermolab.models.tinygpt import PRESETS, TinyGPT, preset_config
    from thermolab.training import TrainConfig
    from thermolab.training.trainer import build_optimizer

    preset, vocab = PRESETS["cpu-quick"], 65  # Tiny Shakespeare's 65 characters
    batch, block = (4, 32) if quick else (preset.batch_size, preset.block_size)
    steps, warmup, mode_steps, rounds = (3, 1, 3, 3) if quick else (steps, 10, 40, 5)
    nanogpt = _load_nanogpt(nanogpt_path)

    def ours(mode: str = "softmax", k: int = 1) -> TinyGPT:
        torch.manual_seed(0)
        config = preset_config(
            "cpu-quick", vocab, block_size=block, attention_mode=mode, attention_samples=k
        )
        return TinyGPT(config)

    recipe = TrainConfig(learning_rate=1e-3, weight_decay=0.1)

    def our_optimizer(model: TinyGPT):
        """Our trainer's own AdamW (fused where torch has it)."""
        return build_optimizer(model, recipe, None, 1, "adamw")

    report: dict = {"nanogpt_model": nanogpt_path if nanogpt else None, "threads": {}}
    cores = os.cpu_count() or 1
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        models = {"thermolab": ours()}
        if nanogpt is not None:
            torch.manual_seed(0)
            config = nanogpt.GPTConfig(
                block_size=block,
                vocab_size=vocab,
                n_layer=preset.n_layer,
                n_head=preset.n_head,
                n_embd=preset.n_embd,
                dropout=0.0,
                bias=True,
            )
            with contextlib.redirect_stdout(io.StringIO()):  # it prints its parameter count
                models["nanogpt"] = nanogpt.GPT(config)
        load_before = os.getloadavg()[0]
        optimizers = {"thermolab": our_optimizer(models["thermolab"])}
        if nanogpt is not None:  # nanoGPT's own recipe: its configure_optimizers, same settings
            with contextlib.redirect_stdout(io.StringIO()):
                optimizers["nanogpt"] = models["nanogpt"].configure_optimizers(
                    recipe.weight_decay, recipe.learning_rate, (0.9, 0.99), "cpu"
                )
        wall, cpu = _step_times(models, optimizers, vocab, batch, block, steps, warmup)
        # One thread: tokens per second of the thread's CPU time (see _step_times).
        seconds = cpu if threads == 1 else wall
        tokens = {name: batch * block / value for name, value in _medians(seconds).items()}
        paired = (
            _paired_ratio(seconds["thermolab"], seconds["nanogpt"], rounds) if nanogpt else None
        )
        report["threads"][threads] = {
            "clock": "thread CPU time" if threads == 1 else "wall time",
            "tokens_per_second": tokens,
            "wall_tokens_per_second": {
                name: batch * block / value for name, value in _medians(wall).items()
            },
            "ratio_vs_nanogpt": paired["median"] if paired else None,
            "ratio_paired": paired,
            "load_average_1min": [load_before, os.getloadavg()[0]],
        }
    torch.set_num_threads(1)
    models = {label: ours(mode, k) for label, mode, k in SPEED_MODES}
    optimizers = {label: our_optimizer(model) for label, model in models.items()}
    wall, cpu = (
        _medians(times)
        for times in _step_times(models, optimizers, vocab, batch, block, mode_steps, warmup)
    )
    report["mode_step_seconds"] = cpu
    report["mode_step_wall_seconds"] = wall
    report["mode_step_ratio"] = {label: value / cpu["softmax"] for label, value in cpu.items()}
    report["batch"], report["block"] = batch, block
    report["steps"], report["rounds"], report["mode_steps"] = steps, rounds, mode_steps
    return report


def _print_speed(report: dict) -> None:
    print(f"\nspeed: CPU quick recipe, batch {report['batch']} × block {report['block']}")
    print(
        f"{'threads':>7} {'clock':<16} {'ours tok/s':>11} {'nanoGPT tok/s':>14} "
        f"{'ours ÷ nanoGPT':>15} {'rounds min–max':>15} {'load':>11}"
    )
    for threads, row in report["threads"].items():
        nano = row["tokens_per_second"].get("nanogpt")
        ratio, paired = row["ratio_vs_nanogpt"], row["ratio_paired"]
        spread = "n/a" if paired is None else "{:.3f}–{:.3f}".format(*paired["spread"])
        load = "{:.1f}→{:.1f}".format(*row["load_average_1min"])
        print(
            f"{threads:>7} {row['clock']:<16} {row['tokens_per_second']['thermolab']:>11.0f} "
            f"{'n/a' if nano is None else f'{nano:.0f}':>14} "
            f"{'n/a' if ratio is None else f'{ratio:.3f}':>15} {spread:>15} {load:>11}"
        )
    print(
        f"({report['steps']} paired steps per row; ratio: median over steps of nanoGPT's step "
        f"time ÷ ours; rounds: medians of {report['rounds']} stretches of steps; "
        "load: 1-min load average before → after)"
    )
    print(f"\n{'attention (1 thread)':<20} {'CPU ms':>8} {'wall ms':>8} {'÷ softmax':>10}")
    for label, seconds in report["mode_step_seconds"].items():
        wall = report["mode_step_wall_seconds"][label]
        print(
            f"{label:<20} {1e3 * seconds:>8.2f} {1e3 * wall:>8.2f} "
            f"{report['mode_step_ratio'][label]:>10.2f}"
        )


def variants_section(
    corpus: str, steps: int, threads: int, quick: bool, groups: list[str] | None = None
) -> dict:
    """Validation loss, ECE, AURC and step time of the TinyThermoLM variants after `steps`;
    groups: names in VARIANT_GROUPS to train (default: all)."""
    import dataclasses

    from thermolab.runs import RunStore
    from thermolab.training import TrainConfig, prepare, train

    base = TrainConfig(
        corpus=corpus,
        steps=steps,
        batch_size=4 if quick else 12,
        block_size=32 if quick else None,
        eval_every=steps,
        eval_batches=2 if quick else 20,
        warmup_steps=2 if quick else min(100, steps // 10),
        threads=threads,
        meter="none",
        sample_chars=20 if quick else 200,
        attention_samples=8,
        review_dropout=0.1,
    )
    rows = {}
    with tempfile.TemporaryDirectory(prefix="thermolab-bench-") as directory:
        store = RunStore(directory)
        for name in groups or VARIANT_GROUPS:
            changes, modes, labels = VARIANT_GROUPS[name]
            config = dataclasses.replace(base, **changes)
            _, run_ids = prepare(config, store, modes=modes)
            print(f"training {', '.join(labels.values())}: {steps} steps …", flush=True)
            result = train(config, store, run_ids)
            for mode, run_id in run_ids.items():
                summary = result.summaries[mode]
                rows[labels[mode]] = {
                    "val_loss": summary["val_loss"],
                    "ece": summary["ece"],
                    "aurc": summary["aurc"],
                    "aurc_mutual_information": (summary.get("review") or {})
                    .get("aurc", {})
                    .get("mutual_information"),
                    "flagged_fraction": summary["flagged_fraction"],
                    "step_seconds": _median_step_seconds(store, run_id),
                }
    return {
        "steps": steps,
        "groups": list(groups or VARIANT_GROUPS),
        "config": base.to_dict(),
        "runs": rows,
    }


def _print_variants(report: dict) -> None:
    print(f"\nvariants after {report['steps']} steps (run side by side in groups)")
    print(
        f"{'run':<44} {'val loss':>9} {'ECE':>7} {'AURC':>7} {'AURC(MI)':>9} {'flagged':>8} "
        f"{'step ms':>8}"
    )
    for label, row in report["runs"].items():
        mi = row["aurc_mutual_information"]
        print(
            f"{label:<44} {row['val_loss']:>9.4f} {row['ece']:>7.4f} {row['aurc']:>7.4f} "
            f"{'n/a' if mi is None else f'{mi:.4f}':>9} {row['flagged_fraction']:>8.3f} "
            f"{1e3 * row['step_seconds']:>8.2f}"
        )


def _resolve_corpus(corpus: str | None) -> str:
    """The corpus to train on: the one asked for, else Tiny Shakespeare from `../shared/data`,
    else the offline default corpus, saying so (its losses are not Tiny Shakespeare's)."""
    if corpus is not None:
        return corpus
    if SHARED_TEXT.exists():
        return str(SHARED_TEXT)
    print(f"note: {SHARED_TEXT} not found; training on the offline default corpus", flush=True)
    return "default"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument(
        "--corpus", default=None, help=f"a text file or 'default' (default: {SHARED_TEXT})"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"any of {SECTIONS}")
    parser.add_argument("--nanogpt", default=os.environ.get("NANOGPT_MODEL"), help="model.py")
    parser.add_argument(
        "--speed-steps", type=int, default=150, help="paired steps per nanoGPT comparison"
    )
    parser.add_argument("--variant-steps", type=int, default=2000)
    parser.add_argument(
        "--variant-groups",
        default=",".join(VARIANT_GROUPS),
        help=f"variant groups to train, any of {tuple(VARIANT_GROUPS)}",
    )
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "training.json")
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {SECTIONS}")
    groups = [name.strip() for name in args.variant_groups.split(",") if name.strip()]
    unknown = sorted(set(groups) - set(VARIANT_GROUPS))
    if unknown:
        parser.error(f"unknown variant groups {unknown}; choose from {tuple(VARIANT_GROUPS)}")

    # --quick is a smoke test: always the small offline corpus. The speed section uses none.
    if args.quick:
        args.corpus = "default"
    elif {"tsu", "variants"} & set(sections):
        args.corpus = _resolve_corpus(args.corpus)

    sys.path.insert(0, str(REPO))
    import torch

    report: dict = {"quick": args.quick, "sections": sections, "corpus": args.corpus}
    if "tsu" in sections:
        report.update(tsu_section(args))
    if "speed" in sections:
        speed = speed_section(args.nanogpt, args.quick, args.speed_steps)
        _print_speed(speed)
        targets = report.setdefault("targets", {})
        for threads, row in speed["threads"].items():
            ratio = row["ratio_vs_nanogpt"]
            targets[f"nanogpt_ratio_{threads}_threads"] = {
                "target": TARGET_NANOGPT_RATIO,
                "value": ratio,
                "met": None if ratio is None else ratio >= TARGET_NANOGPT_RATIO,
            }
        ratio = speed["mode_step_ratio"]["boltzmann K=8"]
        targets["boltzmann8_step_ratio"] = {
            "target": TARGET_BOLTZMANN8_RATIO,
            "value": ratio,
            "met": ratio <= TARGET_BOLTZMANN8_RATIO,
        }
        report["speed"] = speed
    if "variants" in sections:
        steps = 10 if args.quick else args.variant_steps
        report["variants"] = variants_section(args.corpus, steps, args.threads, args.quick, groups)
        _print_variants(report["variants"])
    verdict = {True: "PASS", False: "MISS", None: "n/a"}
    for name, target in report.get("targets", {}).items():
        value = "n/a" if target["value"] is None else f"{target['value']:.3f}"
        print(f"{name}: {value} (target {target['target']}): {verdict[target['met']]}")
    report["machine"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nJSON: {args.json}")
    return 0


def tsu_section(args: argparse.Namespace) -> dict:
    """Baseline vs TSU side by side (the original benchmark); prints its table."""
    from thermolab.runs import RunStore
    from thermolab.training import TrainConfig, compare, prepare, train

    steps = 20 if args.quick else args.steps
    config = TrainConfig(
        corpus=args.corpus,
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

    return {
        "config": config.to_dict(),
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
    }


if __name__ == "__main__":
    raise SystemExit(main())
