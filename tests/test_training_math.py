"""Schedules, the free energy's terms and the calibration / uncertainty measures."""

import itertools
import math

import pytest
import torch

from thermolab.training.calibration import reliability, uncertainty_split
from thermolab.training.objectives import free_energy
from thermolab.training.schedules import LearningRateSchedule, TemperatureSchedule


@pytest.mark.parametrize("kind", ["exponential", "linear", "cosine"])
def test_temperature_schedules_run_from_start_to_end(kind):
    schedule = TemperatureSchedule(kind, 2.0, 0.5)
    assert schedule(0, 100) == pytest.approx(2.0)
    assert schedule(100, 100) == pytest.approx(0.5)
    values = [schedule(t, 100) for t in range(101)]
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(values))


def test_temperature_schedule_formulae_at_midpoint():
    assert TemperatureSchedule("exponential", 4.0, 1.0)(50, 100) == pytest.approx(2.0)
    assert TemperatureSchedule("linear", 4.0, 1.0)(25, 100) == pytest.approx(3.25)
    assert TemperatureSchedule("cosine", 4.0, 1.0)(50, 100) == pytest.approx(2.5)
    assert TemperatureSchedule("constant", 0.3, 9.0)(70, 100) == 0.3


def test_bad_temperature_schedules_are_refused():
    with pytest.raises(ValueError, match="exponential"):
        TemperatureSchedule("exponential", 1.0, 0.0)
    with pytest.raises(ValueError, match="one of"):
        TemperatureSchedule("sawtooth", 1.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        TemperatureSchedule("linear", math.nan, 1.0)


def test_learning_rate_warms_up_then_decays_to_the_floor():
    schedule = LearningRateSchedule(peak=1e-3, floor=1e-4, warmup_steps=10)
    warmup = [schedule(t, 110) for t in range(10)]
    assert warmup == sorted(warmup) and warmup[-1] < 1e-3
    assert schedule(10, 110) == pytest.approx(1e-3)
    assert schedule(60, 110) == pytest.approx(5.5e-4)
    assert schedule(110, 110) == pytest.approx(1e-4)
    with pytest.raises(ValueError):
        LearningRateSchedule(peak=1e-3, floor=1e-2)


def test_free_energy_at_zero_temperature_is_the_negative_elbo_per_token():
    loss, entropy, kl = torch.tensor(2.0), torch.tensor(-50.0), torch.tensor(300.0)
    terms = free_energy(loss, entropy, kl, temperature=0.0, kl_weight=1.0, n_train_tokens=1000)
    assert float(terms.objective) == pytest.approx(2.0 + 300.0 / 1000)
    hot = free_energy(loss, entropy, kl, temperature=2.0, kl_weight=0.5, n_train_tokens=1000)
    assert float(hot.objective) == pytest.approx(2.0 + 2.0 * 50.0 / 1000 + 0.5 * 300.0 / 1000)
    with pytest.raises(ValueError):
        free_energy(loss, entropy, kl, temperature=-1.0, kl_weight=1.0, n_train_tokens=10)


def test_calibrated_predictions_have_small_ece_and_overconfident_ones_do_not():
    generator = torch.Generator().manual_seed(0)
    n, vocab = 20_000, 5
    confidence = 0.3 + 0.6 * torch.rand(n, generator=generator, dtype=torch.float64)
    probabilities = torch.empty(n, vocab, dtype=torch.float64)
    probabilities[:, 0] = confidence
    probabilities[:, 1:] = ((1 - confidence) / (vocab - 1)).unsqueeze(1)
    # Calibrated: class 0 is right with probability equal to its confidence.
    hit = torch.rand(n, generator=generator, dtype=torch.float64) < confidence
    targets = torch.where(hit, 0, 1)
    calibrated = reliability(probabilities, targets, n_bins=10)
    # Each bin's |accuracy − confidence| is a binomial error of size ~ sqrt(p(1-p)/n_bin).
    standard_error = math.sqrt(0.25 * 10 / n)
    assert calibrated.ece < 3 * standard_error
    assert sum(calibrated.counts) == n
    overconfident = reliability(
        probabilities, torch.where(hit & (confidence > 0.6), 0, 1), n_bins=10
    )
    assert overconfident.ece > 0.15


def test_uncertainty_split_separates_disagreement_from_noise():
    agree = torch.full((4, 3, 2), 0.5, dtype=torch.float64)
    split = uncertainty_split(agree)
    assert torch.allclose(split.total, torch.full((3,), math.log(2), dtype=torch.float64))
    assert torch.allclose(split.epistemic, torch.zeros(3, dtype=torch.float64))
    disagree = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]], dtype=torch.float64)
    split = uncertainty_split(disagree)
    assert float(split.epistemic[0]) == pytest.approx(math.log(2))
    assert float(split.aleatoric[0]) == pytest.approx(0.0, abs=1e-12)


def test_projection_uses_the_cited_default_or_says_it_is_user_set():
    from thermolab.energy.ledger import SMTJ_SOURCE, project_operations
    from thermolab.training.config import TrainConfig

    default = TrainConfig().operation_energy()
    assert default.source == SMTJ_SOURCE
    custom = TrainConfig(joules_per_pbit=1e-12).operation_energy()
    assert "user-set" in custom.source
    counts = {"samples": 1000, "random_numbers": 1000}
    assert project_operations(counts, custom).joules == pytest.approx(1e-9)
    assert project_operations(counts, default).joules == pytest.approx(1000 * 20e-15)
    with pytest.raises(ValueError):
        TrainConfig(joules_per_pbit=math.inf)


def test_meter_and_power_model_settings_are_checked():
    from thermolab.training.config import TrainConfig

    with pytest.raises(ValueError, match="meter"):
        TrainConfig(meter="wattmeter")
    with pytest.raises(ValueError, match="max_watts"):
        TrainConfig(estimate_idle_watts=50.0, estimate_max_watts=20.0)
    model = TrainConfig(estimate_idle_watts=5.0, estimate_max_watts=45.0).power_model()
    assert model.watts(0.5) == pytest.approx(25.0)
    assert TrainConfig(block_size=31).min_corpus_chars == 640
