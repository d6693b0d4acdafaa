"""The verdict paragraph says what the numbers say, worse included, and compares like with like."""

from __future__ import annotations

from thermolab.training.verdict import MIN_COMPARED_STEPS, verdict


def summary(**values) -> dict:
    base = {
        "status": "finished",
        "steps": 300,
        "val_loss": 2.0,
        "tokens_per_second": 1000.0,
        "ece": 0.05,
        "target_val_loss": 2.5,
        "steps_to_target": 100,
        "joules_per_token": [{"kind": "estimated", "source": "model", "joules": 0.01}],
    }
    return base | values


def test_a_worse_tsu_run_is_called_worse_with_its_numbers():
    text = verdict(
        summary(),
        summary(
            val_loss=2.05,
            tokens_per_second=700.0,
            ece=0.07,
            steps_to_target=None,
            joules_per_token=[
                {"kind": "estimated", "source": "model", "joules": 0.014},
                {"kind": "projected", "source": "smtj", "joules": 2e-12},
            ],
        ),
    )
    assert text.startswith("After 300 steps each, TSU reached a validation loss 0.050 nats/token")
    assert "higher (worse)" in text and "(2.050 vs 2.000" in text
    assert "0.70× the baseline's tokens per second (slower" in text
    assert "1.40× the estimated energy per token (more: 0.014 vs 0.01 J/token)" in text
    assert "projected 2e-12 J/token" in text and "not a measurement" in text
    assert "0.070 against 0.050 (worse" in text
    assert "did not reach the target loss of 2.5; the baseline did, at step 100" in text


def test_a_better_tsu_run_is_called_better():
    text = verdict(summary(), summary(val_loss=1.9, ece=0.01, steps_to_target=80))
    assert "0.100 nats/token lower (better)" in text
    assert "(better; lower is better)" in text
    assert "at step 80, the baseline at step 100" in text


def test_energy_of_different_kinds_or_sources_is_never_divided():
    text = verdict(
        summary(joules_per_token=[{"kind": "measured", "source": "NVML", "joules": 1.0}]),
        summary(joules_per_token=[{"kind": "estimated", "source": "model", "joules": 2.0}]),
    )
    assert "×" not in text.split("tokens per second")[1]
    assert "energy per token" not in text


def test_missing_numbers_are_left_out_and_a_stopped_run_says_so():
    text = verdict(
        {"status": "stopped", "steps": 300},
        {"status": "stopped", "steps": 300, "joules_per_token": []},
    )
    assert text == (
        "After 300 steps each, TSU used energy that was not metered (meter off or unavailable)"
        " (training was stopped before its last step)."
    )
    same = verdict(summary(), summary(val_loss=2.0002, ece=0.0502))
    assert "same validation loss" in same and "calibration error was the same" in same


def test_the_review_area_is_compared_when_both_runs_have_one():
    assert "AURC" not in verdict(summary(), summary())
    text = verdict(summary(aurc=0.30), summary(aurc=0.25))
    assert "risk–coverage area (AURC) was 0.250 against 0.300 (better; lower is better)" in text
    text = verdict(summary(aurc=0.20), summary(aurc=0.25))
    assert "(worse; lower is better)" in text
    text = verdict(summary(), summary(aurc=0.25))
    assert "AURC) of 0.250; the baseline has no predictive samples to rank by" in text


def test_a_run_below_the_minimum_of_steps_is_too_short_to_compare_speed_and_energy():
    """A 3-step run: warm-up dominates its step times; no ratio of speed or energy is given,
    and the losses are still compared."""
    text = verdict(
        summary(steps=3),
        summary(steps=3, tokens_per_second=1460.0, joules_per_token=[
            {"kind": "estimated", "source": "model", "joules": 0.0083},
        ]),
    )  # fmt: skip
    assert "too short to compare speed and energy (3 steps; a comparison needs at least " in text
    assert f"{MIN_COMPARED_STEPS}" in text
    assert "tokens per second" not in text and "energy per token" not in text
    assert "same validation loss" in text
    long_enough = verdict(summary(), summary(tokens_per_second=1460.0))
    assert (
        "too short" not in long_enough and "1.46× the baseline's tokens per second" in long_enough
    )


def timed(mean: float, sd: float, n: int = 300, **values) -> dict:
    return summary(step_seconds_mean=mean, step_seconds_sd=sd, timed_steps=n, **values)


def test_a_step_time_difference_within_the_noise_is_too_short_to_compare():
    """Mean step times 100 ms and 101 ms with 20 ms spread over 300 steps each: the standard
    error of the difference is sqrt(2 × 0.02² / 300) = 1.63 ms, so 1 ms is within two of them;
    30 ms is not."""
    noisy = verdict(timed(0.100, 0.02), timed(0.101, 0.02, tokens_per_second=990.0))
    assert "too short to compare speed and energy" in noisy
    assert "+1.0 ms, within the measured noise of step times (±3.3 ms" in noisy
    assert "tokens per second" not in noisy and "energy per token" not in noisy
    clear = verdict(timed(0.100, 0.02), timed(0.130, 0.02, tokens_per_second=770.0))
    assert "too short" not in clear and "0.77× the baseline's tokens per second" in clear


def optimized(optimizer: str, mean_ms: float, **values) -> dict:
    """A summary with `optimizer` and 200 timed steps of mean `mean_ms` and sd 2 ms: the
    noise bound on a difference of two such means is 2 × √(2 · 2²/200) = 0.4 ms."""
    fields = {"attention": "softmax", "n_stochastic_parameters": 0, "timed_steps": 200}
    return summary(
        **(fields | values),
        optimizer=optimizer,
        step_seconds_mean=mean_ms / 1e3,
        step_seconds_sd=0.002,
    )


def test_langevin_better_than_adamw_is_said_with_its_numbers():
    text = verdict(
        optimized("adamw", 40.0, val_loss=2.0, ece=0.05),
        optimized("langevin", 38.0, val_loss=1.9, ece=0.03),
    )
    langevin = text.split("Langevin (in the TSU run) against AdamW (in the baseline)")[1]
    assert "it bought lower validation loss (1.900 vs 2.000 nats/token)" in langevin
    assert "lower expected calibration error (0.030 vs 0.050)" in langevin
    assert "less time per step (38.0 vs 40.0 ms)" in langevin
    assert "it cost nothing measured here" in langevin
    assert "not Langevin's alone" not in langevin  # the runs differ in the optimizer only


def test_langevin_worse_than_adamw_is_called_a_cost():
    text = verdict(
        optimized("langevin", 45.0, val_loss=2.2, ece=0.09),
        optimized("adamw", 40.0, val_loss=2.0, ece=0.05, n_stochastic_parameters=100),
    )
    langevin = text.split("Langevin (in the baseline) against AdamW (in the TSU run)")[1]
    assert "it bought nothing measured here" in langevin
    assert "it cost higher validation loss (2.200 vs 2.000 nats/token)" in langevin
    assert "higher expected calibration error (0.090 vs 0.050)" in langevin
    assert "more time per step (45.0 vs 40.0 ms)" in langevin
    assert "also differ in their weights" in langevin and "not Langevin's alone" in langevin


def test_langevin_step_time_within_noise_is_not_compared():
    text = verdict(optimized("adamw", 40.0), optimized("langevin", 40.3, val_loss=2.0002))
    langevin = text.split("against AdamW")[1]
    assert "bought nothing measured here" in langevin and "cost nothing" in langevin
    assert "left the same validation loss (2.000 vs 2.000 nats/token)" in langevin
    assert "time per step (40.3 vs 40.0 ms), within the noise of ±0.4 ms" in langevin


def test_no_langevin_sentence_when_both_runs_share_the_optimizer():
    for optimizer in ("adamw", "langevin"):
        assert "against AdamW" not in verdict(
            optimized(optimizer, 40.0), optimized(optimizer, 41.0)
        )
    assert "against AdamW" not in verdict(summary(), summary())  # optimizers not recorded
