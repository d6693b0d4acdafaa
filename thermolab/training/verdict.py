"""The verdict under the result table: one paragraph, in words, of what TSU cost and bought,
and, when the two runs trained with different optimizers, what Langevin bought and cost
against AdamW.

Every number in it comes from the two run summaries and also stands in the table of
`thermolab.training.summary.compare`; a comparison whose numbers are missing is left out
rather than guessed, and energy is compared only within one kind and source. Speed and energy
are not compared at all for a run too short to tell them apart: fewer than MIN_COMPARED_STEPS
steps (the first steps pay for warm-up: allocation, caches, the first calls of each kernel), or
mean step times that differ by less than NOISE_STANDARD_ERRORS standard errors of that
difference (from each run's measured spread of step times).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["verdict"]

SAME_LOSS = 5e-4  # nats/token: differences below this read as "the same" at 3 decimals
MIN_COMPARED_STEPS = 20  # fewer steps than this: too short to compare speed and energy
NOISE_STANDARD_ERRORS = 2.0  # a step-time difference within this many standard errors is noise


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _loss_clause(baseline: dict[str, Any], tsu: dict[str, Any]) -> str | None:
    b, t = _number(baseline.get("val_loss")), _number(tsu.get("val_loss"))
    if b is None or t is None:
        return None
    difference = t - b
    if abs(difference) < SAME_LOSS:
        return f"reached the same validation loss as the baseline ({t:.3f} nats/token)"
    worse = "higher (worse)" if difference > 0 else "lower (better)"
    return (
        f"reached a validation loss {abs(difference):.3f} nats/token {worse} than the "
        f"baseline's ({t:.3f} vs {b:.3f}, its K-sample predictive mean)"
    )


def _throughput_clause(baseline: dict[str, Any], tsu: dict[str, Any]) -> str | None:
    b, t = _number(baseline.get("tokens_per_second")), _number(tsu.get("tokens_per_second"))
    if not b or t is None:
        return None
    ratio = t / b
    pace = "slower" if ratio < 1 else "faster"
    return (
        f"trained at {ratio:.2f}× the baseline's tokens per second ({pace}: {t:,.0f} vs {b:,.0f})"
    )


def _too_short_clause(baseline: dict[str, Any], tsu: dict[str, Any]) -> str | None:
    """Why speed and energy cannot be compared, or None when they can."""
    steps = [_number(summary.get("steps")) for summary in (baseline, tsu)]
    known = [int(n) for n in steps if n is not None]
    if known and min(known) < MIN_COMPARED_STEPS:
        return (
            f"ran too short to compare speed and energy ({min(known)} steps; a comparison needs "
            f"at least {MIN_COMPARED_STEPS}: the first steps are dominated by warm-up)"
        )
    difference = _step_time_difference(baseline, tsu)
    if difference is None:
        return None
    change, noise = difference
    if abs(change) > noise:
        return None
    return (
        f"ran too short to compare speed and energy: its mean step time differs from the "
        f"baseline's by {1e3 * change:+.1f} ms, within the measured noise of step times "
        f"(±{1e3 * noise:.1f} ms, {NOISE_STANDARD_ERRORS:g} standard errors)"
    )


def _step_time_difference(
    reference: dict[str, Any], other: dict[str, Any]
) -> tuple[float, float] | None:
    """(other's mean step time − reference's, the noise bound on that difference) in s: the
    bound is NOISE_STANDARD_ERRORS standard errors of the difference of two independent means,
    from each run's measured spread of step times. None when a number is missing."""
    means = [_number(summary.get("step_seconds_mean")) for summary in (reference, other)]
    spreads = [_number(summary.get("step_seconds_sd")) for summary in (reference, other)]
    counts = [_number(summary.get("timed_steps")) for summary in (reference, other)]
    if None in means or None in spreads or not all(counts):
        return None
    (r, o), (sd_r, sd_o), (n_r, n_o) = means, spreads, counts
    error = math.sqrt(sd_r**2 / n_r + sd_o**2 / n_o)
    return o - r, NOISE_STANDARD_ERRORS * error


def _energies(summary: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {
        (entry["kind"], entry["source"]): float(entry["joules"])
        for entry in summary.get("joules_per_token") or []
    }


def _energy_clauses(baseline: dict[str, Any], tsu: dict[str, Any]) -> list[str]:
    b, t = _energies(baseline), _energies(tsu)
    clauses = []
    for kind, source in sorted(set(b) & set(t)):
        if b[kind, source] > 0:
            ratio = t[kind, source] / b[kind, source]
            more = "more" if ratio > 1 else "less"
            clauses.append(
                f"used {ratio:.2f}× the {kind} energy per token ({more}: "
                f"{t[kind, source]:.3g} vs {b[kind, source]:.3g} J/token)"
            )
    for kind, source in sorted(set(t) - set(b)):
        if kind == "projected":
            clauses.append(
                f"its counted random draws (weight noise, sampled attention, Langevin noise) "
                f"would cost a projected {t[kind, source]:.3g} J/token on p-bit hardware (a "
                "projection, not a measurement; the baseline draws none)"
            )
    if not b and not t:
        clauses.append("used energy that was not metered (meter off or unavailable)")
    return clauses


def _calibration_clause(baseline: dict[str, Any], tsu: dict[str, Any]) -> str | None:
    b, t = _number(baseline.get("ece")), _number(tsu.get("ece"))
    if b is None or t is None:
        return None
    if f"{t:.3f}" == f"{b:.3f}":
        return f"its expected calibration error was the same as the baseline's ({t:.3f})"
    better = "better" if t < b else "worse"
    return f"its expected calibration error was {t:.3f} against {b:.3f} ({better}; lower is better)"


def _review_clause(baseline: dict[str, Any], tsu: dict[str, Any]) -> str | None:
    b, t = _number(baseline.get("aurc")), _number(tsu.get("aurc"))
    if t is None:
        return None
    if b is None:
        return (
            f"ranking its tokens by predictive entropy gave a risk–coverage area (AURC) of "
            f"{t:.3f}; the baseline has no predictive samples to rank by"
        )
    if f"{t:.3f}" == f"{b:.3f}":
        return f"its risk–coverage area (AURC) was the same as the baseline's ({t:.3f})"
    better = "better" if t < b else "worse"
    return f"its risk–coverage area (AURC) was {t:.3f} against {b:.3f} ({better}; lower is better)"


def _target_clause(baseline: dict[str, Any], tsu: dict[str, Any]) -> str | None:
    target = _number(tsu.get("target_val_loss"))
    if target is None:
        return None
    b, t = baseline.get("steps_to_target"), tsu.get("steps_to_target")
    if b is None and t is None:
        return f"neither run reached the target validation loss of {target:g}"
    if t is None:
        return f"it did not reach the target loss of {target:g}; the baseline did, at step {b}"
    if b is None:
        return f"it reached the target loss of {target:g} at step {t}; the baseline did not"
    return f"it reached the target loss of {target:g} at step {t}, the baseline at step {b}"


def _langevin_sentence(baseline: dict[str, Any], tsu: dict[str, Any]) -> str | None:
    """When one run of the pair trained with Langevin and the other with AdamW: what Langevin
    bought and cost against AdamW in validation loss, ECE and time per step (the step time
    only outside noise and for runs long enough to compare), and what else the runs differ in.
    None when the two runs share their optimizer (or do not say which)."""
    optimizers = {baseline.get("optimizer"), tsu.get("optimizer")}
    if optimizers != {"adamw", "langevin"}:
        return None
    langevin, adamw = (tsu, baseline) if tsu.get("optimizer") == "langevin" else (baseline, tsu)
    where, elsewhere = ("the TSU run", "the baseline")[:: 1 if langevin is tsu else -1]
    bought, cost, same = [], [], []
    lv, av = _number(langevin.get("val_loss")), _number(adamw.get("val_loss"))
    if lv is not None and av is not None:
        text = f"validation loss ({lv:.3f} vs {av:.3f} nats/token)"
        if abs(lv - av) < SAME_LOSS:
            same.append(text)
        else:
            (bought if lv < av else cost).append(("lower " if lv < av else "higher ") + text)
    le, ae = _number(langevin.get("ece")), _number(adamw.get("ece"))
    if le is not None and ae is not None:
        text = f"expected calibration error ({le:.3f} vs {ae:.3f})"
        if f"{le:.3f}" == f"{ae:.3f}":
            same.append(text)
        else:
            (bought if le < ae else cost).append(("lower " if le < ae else "higher ") + text)
    steps = [_number(summary.get("steps")) for summary in (langevin, adamw)]
    long_enough = all(n is not None and n >= MIN_COMPARED_STEPS for n in steps)
    difference = _step_time_difference(adamw, langevin) if long_enough else None
    if difference is not None:
        change, noise = difference
        lt, at = _number(langevin.get("step_seconds_mean")), _number(adamw.get("step_seconds_mean"))
        text = f"time per step ({1e3 * lt:.1f} vs {1e3 * at:.1f} ms)"
        if abs(change) <= noise:
            same.append(f"{text}, within the noise of ±{1e3 * noise:.1f} ms")
        else:
            (cost if change > 0 else bought).append(("more " if change > 0 else "less ") + text)
    parts = [
        f"bought {' and '.join(bought)}" if bought else "bought nothing measured here",
        f"cost {' and '.join(cost)}" if cost else "cost nothing measured here",
    ]
    if same:
        parts.append(f"left the same {' and '.join(same)}")
    elif not long_enough:
        parts.append("ran too short to compare time per step")
    others = []
    if bool(langevin.get("n_stochastic_parameters")) != bool(adamw.get("n_stochastic_parameters")):
        others.append("weights (Gaussian in the TSU run, point weights in the baseline)")
    if langevin.get("attention") != adamw.get("attention"):
        others.append(f"attention ({langevin.get('attention')} vs {adamw.get('attention')})")
    caveat = (
        f" The two runs also differ in their {' and '.join(others)}, so these differences are "
        "not Langevin's alone."
        if others
        else ""
    )
    return (
        f"Langevin (in {where}) against AdamW (in {elsewhere}), Langevin's number first: it "
        + "; it ".join(parts)
        + "."
        + caveat
    )


def verdict(baseline: dict[str, Any], tsu: dict[str, Any]) -> str:
    """One paragraph comparing the TSU run's summary with the baseline's, from their numbers."""
    too_short = _too_short_clause(baseline, tsu)
    speed_and_energy = (
        [too_short]
        if too_short
        else [_throughput_clause(baseline, tsu), *_energy_clauses(baseline, tsu)]
    )
    clauses = [
        _loss_clause(baseline, tsu),
        *speed_and_energy,
        _calibration_clause(baseline, tsu),
        _review_clause(baseline, tsu),
        _target_clause(baseline, tsu),
    ]
    clauses = [clause for clause in clauses if clause]
    steps = tsu.get("steps")
    opening = f"After {steps} steps each, TSU " if steps else "TSU "
    status = {baseline.get("status"), tsu.get("status")} - {"finished", None}
    closing = (
        f" (training was {' and '.join(sorted(status))} before its last step)" if status else ""
    )
    if not clauses:
        return opening + "has no finished numbers to compare yet" + closing + "."
    langevin = _langevin_sentence(baseline, tsu)
    return opening + "; ".join(clauses) + closing + "." + (f" {langevin}" if langevin else "")
