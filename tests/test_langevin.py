"""The Langevin optimizer: samples a Gaussian target at fixed T, converges like SGD at T → 0."""

import math

import numpy as np
import pytest
import torch

from thermolab.backends import get_backend
from thermolab.diagnostics import integrated_autocorrelation_time
from thermolab.runs import RunStore
from thermolab.training import TrainConfig, prepare, train
from thermolab.training.langevin import Langevin
from thermolab.training.schedules import TemperatureSchedule

MU = torch.tensor([1.5, -0.5])
SIGMA = torch.tensor([1.0, 0.5])


def _gaussian_loss(theta: torch.Tensor) -> torch.Tensor:
    """Mean loss of a 2-D Gaussian target N(MU, diag SIGMA²) with n_data = 1, per chain."""
    return (((theta - MU) / SIGMA) ** 2 / 2).sum()


def _chains(n_chains, n_steps, lr, temperature, *, method="native", schedule=None, seed=0):
    theta = torch.nn.Parameter(torch.zeros(n_chains, 2))
    optimizer = Langevin(
        [theta],
        lr=lr,
        temperature=temperature,
        backend=get_backend("torch", seed=seed),
        noise_method=method,
    )
    trace = torch.empty(n_steps, n_chains, 2)
    for step in range(n_steps):
        if schedule is not None:
            optimizer.param_groups[0]["temperature"] = schedule(step, n_steps)
        optimizer.zero_grad()
        _gaussian_loss(theta).backward()
        optimizer.step()
        trace[step] = theta.detach()
    return trace


@pytest.mark.parametrize("method", ["native", "pbit"])
def test_sgld_at_fixed_temperature_samples_the_tempered_gaussian(method):
    lr, temperature, burn_in, n_steps = 0.04, 0.7, 500, 3000
    trace = _chains(64, burn_in + n_steps, lr, temperature, method=method)[burn_in:]
    # The Euler step is an AR(1) with a = lr/σ²: its stationary law is exactly
    # N(μ, T σ² / (1 − a/2)) (the O(lr) discretisation bias, 2 % and 8 % here, is known).
    a = lr / SIGMA**2
    variance = temperature * SIGMA**2 / (1 - a / 2)
    per_chain_mean = trace.mean(0)  # (chains, 2): independent chains
    per_chain_var = trace.var(0)
    for dim in range(2):
        # Standard errors from the spread over 64 independent chains, cross-checked against
        # τ_int from thermolab.diagnostics on one chain: var/n × τ_int.
        se_mean = float(per_chain_mean[:, dim].std()) / math.sqrt(64)
        tau = integrated_autocorrelation_time(trace[:, 0, dim].double().numpy())
        se_tau = math.sqrt(float(variance[dim]) * tau / n_steps / 64)
        assert 0.5 < se_mean / se_tau < 2.0, (se_mean, se_tau, tau)
        assert abs(float(per_chain_mean[:, dim].mean()) - float(MU[dim])) < 4 * se_mean
        se_var = float(per_chain_var[:, dim].std()) / math.sqrt(64)
        assert abs(float(per_chain_var[:, dim].mean()) - float(variance[dim])) < 4 * se_var


def test_sgld_annealed_to_zero_converges_like_sgd():
    lr, n_steps = 0.05, 800
    schedule = TemperatureSchedule("cosine", 1.0, 0.0)
    annealed = _chains(64, n_steps, lr, 1.0, schedule=schedule)
    theta = torch.nn.Parameter(torch.zeros(64, 2))
    sgd = torch.optim.SGD([theta], lr=lr)
    for _ in range(n_steps):
        sgd.zero_grad()
        _gaussian_loss(theta).backward()
        sgd.step()
    assert float((theta.detach() - MU).abs().max()) < 1e-5  # SGD: the minimum (float32)
    # SGLD's last iterate: the minimum plus the noise the last steps left. Its variance is
    # exactly Σ_k 2 lr T_k (1 − a)^(2(n−1−k)), a = lr/σ² (the AR(1) recursion), tiny here
    # because the cosine schedule ends flat at T = 0.
    decay = (1 - lr / SIGMA**2) ** 2
    left = sum(2 * lr * schedule(k, n_steps) * decay ** (n_steps - 1 - k) for k in range(n_steps))
    assert float(left.sqrt().max()) < 0.03  # vs T = 1: σ √T = 1 and 0.5
    z = (annealed[-1] - MU) / left.sqrt()
    assert float(z.abs().max()) < 5.0 and abs(float((z**2).mean()) - 1.0) < 5 * math.sqrt(2 / 128)
    # At T = 0 every step is SGD's step exactly.
    zero = _chains(8, 50, lr, 0.0)
    theta = torch.nn.Parameter(torch.zeros(8, 2))
    sgd = torch.optim.SGD([theta], lr=lr)
    for _ in range(50):
        sgd.zero_grad()
        _gaussian_loss(theta).backward()
        sgd.step()
    torch.testing.assert_close(zero[-1], theta.detach())


def test_preconditioned_sgld_at_zero_temperature_is_rmsprop_and_noise_is_counted():
    theta = torch.nn.Parameter(torch.zeros(8, 2))
    backend = get_backend("torch", seed=0)
    langevin = Langevin([theta], lr=0.01, temperature=0.0, preconditioned=True, backend=backend)
    for _ in range(1500):
        langevin.zero_grad()
        _gaussian_loss(theta).backward()
        langevin.step()
    assert float((theta.detach() - MU).abs().max()) < 0.05
    assert backend.counter.snapshot().get("random_numbers", 0) == 0
    langevin.param_groups[0]["temperature"] = 1.0
    langevin.zero_grad()
    _gaussian_loss(theta).backward()
    langevin.step()
    assert backend.counter.snapshot()["random_numbers"] == theta.numel()


def test_bad_langevin_settings_raise():
    theta = torch.nn.Parameter(torch.zeros(2))
    for options in ({"lr": 0.0}, {"temperature": -1.0}, {"n_data": 0}):
        with pytest.raises(ValueError):
            Langevin([theta], **options)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="sgd")


def test_a_langevin_run_learns_and_charges_its_pbit_noise(tmp_path):
    store = RunStore(tmp_path)
    config = TrainConfig(
        corpus="default",
        steps=120,
        block_size=32,
        batch_size=8,
        warmup_steps=10,
        eval_every=120,
        eval_batches=2,
        meter="estimate",
        sample_chars=10,
        optimizer="langevin",
        noise="pbit",
        langevin_t_schedule="cosine",
        langevin_t_end=0.0,
    )
    _, run_ids = prepare(config, store, modes=("baseline",))
    summary = train(config, store, run_ids).summaries["baseline"]
    assert summary["val_loss"] < math.log(103) - 1.0  # ≈ 4.63 at the start
    _steps, temperatures = store.metrics(run_ids["baseline"], ["langevin_temperature"])[
        "langevin_temperature"
    ]
    assert temperatures[0] == 1.0 and temperatures[-1] < 1e-3
    projected = [r for r in store.energy(run_ids["baseline"]) if r["kind"] == "projected"]
    assert projected and np.all([r["joules"] > 0 for r in projected])


def test_a_pair_trains_its_baseline_with_its_own_optimizer(tmp_path):
    """optimizer="langevin", baseline_optimizer="adamw": the checkpointed optimizer states
    show which optimizer stepped each run (AdamW keeps moments, preconditioned Langevin a
    running mean square), and only the Langevin run records a Langevin temperature."""
    from thermolab.models.tinygpt import load_checkpoint

    store = RunStore(tmp_path)
    config = TrainConfig(
        corpus="default",
        steps=4,
        block_size=16,
        batch_size=2,
        warmup_steps=1,
        eval_every=4,
        eval_batches=1,
        predictive_samples=2,
        meter="none",
        sample_chars=5,
        optimizer="langevin",
        baseline_optimizer="adamw",
    )
    assert (config.run_optimizer("baseline"), config.run_optimizer("tsu")) == ("adamw", "langevin")
    _, run_ids = prepare(config, store)
    result = train(config, store, run_ids)
    for mode, optimizer, state_key in (
        ("baseline", "adamw", "exp_avg"),
        ("tsu", "langevin", "square_avg"),
    ):
        assert result.summaries[mode]["optimizer"] == optimizer
        extra = load_checkpoint(store.get_run(run_ids[mode]).checkpoint_path).extra
        states = extra["optimizer"]["state"].values()
        assert states and all(state_key in state for state in states), (mode, optimizer)
        groups = extra["optimizer"]["param_groups"]
        assert all(("temperature" in group) == (optimizer == "langevin") for group in groups)
        recorded = store.metrics(run_ids[mode], ["langevin_temperature"])
        steps = recorded.get("langevin_temperature", ([], []))[0]
        assert len(steps) == (4 if optimizer == "langevin" else 0), mode
    with pytest.raises(ValueError, match="baseline_optimizer must be one of"):
        TrainConfig(baseline_optimizer="sgd")


def test_the_cli_sets_the_baseline_optimizer_through_train_options():
    from thermolab.cli import TRAIN_OPTIONS, _build_parser

    argv = ["train", "--mode", "baseline", "--optimizer", "langevin"]
    for extra, baseline in (([], "langevin"), (["--baseline-optimizer", "adamw"], "adamw")):
        args = _build_parser().parse_args([*argv, *extra])
        config = TrainConfig(**{name: getattr(args, name) for name, *_ in TRAIN_OPTIONS})
        assert (config.run_optimizer("baseline"), config.run_optimizer("tsu")) == (
            baseline,
            "langevin",
        )
