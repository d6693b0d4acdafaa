"""Sampled attention in TinyGPT and in training: unbiased, softmax's gradient, and it learns."""

import math

import pytest
import torch

from thermolab.backends import get_backend
from thermolab.models.tinygpt import GPTConfig, TinyGPT
from thermolab.runs import RunStore
from thermolab.training import TrainConfig, prepare, train
from thermolab.training.config import ATTENTION_MODES

TINY = dict(
    corpus="default",
    block_size=32,
    batch_size=8,
    warmup_steps=10,
    eval_every=100,
    eval_batches=4,
    predictive_samples=4,
    meter="estimate",
    sample_chars=20,
)


def _model(mode: str, **options) -> TinyGPT:
    torch.manual_seed(0)
    config = GPTConfig(
        vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16, attention_mode=mode, **options
    )
    return TinyGPT(config, backend=get_backend("torch", seed=3))


def _attention_output(model: TinyGPT, x: torch.Tensor) -> torch.Tensor:
    block = model.blocks[0]
    return block.attn(block.ln_1(x))


def test_boltzmann_attention_forward_is_unbiased_for_softmax_output():
    x = torch.randn(2, 8, 16, generator=torch.Generator().manual_seed(1))
    exact = _attention_output(_model("softmax"), x).detach()
    sampled = _model("sampled", attention_samples=4)
    draws = torch.stack([_attention_output(sampled, x).detach() for _ in range(600)])
    mean, se = draws.mean(0), draws.std(0) / math.sqrt(draws.shape[0])
    live = se > 0  # the first query row attends to one key only: exact, no spread
    z = (mean - exact)[live] / se[live]
    # Each z is ~N(0, 1) if unbiased: their mean square is 1 ± √(2/n) and none is far out.
    assert abs(float((z**2).mean()) - 1.0) < 5 * math.sqrt(2 / z.numel())
    assert float(z.abs().max()) < 5.0
    torch.testing.assert_close(mean[~live], exact[~live])


@pytest.mark.parametrize("mode", ["sampled", "hard"])
def test_sampled_attention_gradient_is_softmax_gradient(mode):
    x = torch.randn(2, 8, 16, generator=torch.Generator().manual_seed(2))
    upstream = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(5))
    gradients = {}
    for name in ("softmax", mode):
        model = _model(name, attention_samples=8)
        block = model.blocks[0]
        _, weights = block.attn(block.ln_1(x), return_weights=True)
        (weights * upstream).sum().backward()
        gradients[name] = block.attn.qkv.weight.grad.clone()
        if name == "hard":
            assert set(weights.detach().unique().tolist()) <= {0.0, 1.0}
            torch.testing.assert_close(weights.detach().sum(-1), torch.ones(2, 2, 8))
    # Straight-through: the backward pass is exactly the softmax's.
    torch.testing.assert_close(gradients[mode], gradients["softmax"])


def test_hard_attention_forward_is_one_hot_per_row():
    model = _model("hard")
    block = model.blocks[0]
    x = torch.randn(3, 8, 16, generator=torch.Generator().manual_seed(4))
    _, weights = block.attn(block.ln_1(x), return_weights=True)
    assert set(weights.detach().unique().tolist()) <= {0.0, 1.0}
    assert bool((weights.sum(-1) == 1).all())
    assert bool((weights.triu(1) == 0).all()), "a causal sample never picks a future key"


@pytest.fixture(scope="module")
def trained_pairs(tmp_path_factory):
    """Two 200-step side-by-side trainings covering the three sampled modes, point weights and
    Gaussian weights (boltzmann + Gaussian weights is the full TinyThermoLM)."""
    results = {}
    for baseline_mode, tsu_mode in (("boltzmann", "gumbel"), ("hard", "boltzmann")):
        store = RunStore(tmp_path_factory.mktemp(f"runs-{baseline_mode}"))
        config = TrainConfig(
            steps=200, attention=tsu_mode, baseline_attention=baseline_mode, **TINY
        )
        _, run_ids = prepare(config, store)
        result = train(config, store, run_ids)
        results[(baseline_mode, tsu_mode)] = (store, run_ids, result)
    return results


def test_each_sampled_attention_mode_learns_and_is_charged_its_pbits(trained_pairs):
    ln_vocab = math.log(103)  # the default corpus's characters; ≈ 4.63 nats at the start
    for (baseline_mode, tsu_mode), (store, run_ids, result) in trained_pairs.items():
        assert result.status == "finished"
        for mode, attention in (("baseline", baseline_mode), ("tsu", tsu_mode)):
            summary = result.summaries[mode]
            # Softmax reaches about 2.5 here in 200 steps (tests/test_training.py); a mode
            # that did not learn would sit near ln V.
            assert summary["val_loss"] < ln_vocab - 1.3, (attention, mode, summary["val_loss"])
            projected = [r for r in store.energy(run_ids[mode]) if r["kind"] == "projected"]
            assert len(projected) == 200, "each step's attention samples reach the ledger"
            # Sampled attention gives predictive samples, hence a review.
            assert summary["review"] is not None and 0 <= summary["flagged_fraction"] <= 1
            record = store.get_run(run_ids[mode])
            assert record.config["train"]["attention"] == tsu_mode


def test_generation_uses_the_run_attention_mode(trained_pairs):
    store, run_ids, _ = trained_pairs[("hard", "boltzmann")]
    from thermolab.models.tinygpt import load_checkpoint

    for mode, expected in (("baseline", "hard"), ("tsu", "sampled")):
        model = load_checkpoint(store.get_run(run_ids[mode]).checkpoint_path).model
        assert model.config.attention_mode == expected
        counter = model.backend.counter
        before = counter.snapshot().get("samples", 0)
        model.generate(torch.zeros(1, 1, dtype=torch.long), 3)
        assert counter.snapshot().get("samples", 0) > before, "generation drew attention samples"


def test_attention_settings_are_validated():
    assert set(ATTENTION_MODES) == {"softmax", "boltzmann", "gumbel", "hard"}
    for bad, message in (
        ({"attention": "argmax"}, "attention must be one of"),
        ({"baseline_attention": "x"}, "baseline_attention must be one of"),
        ({"attention_samples": 0}, "attention_samples"),
        ({"attention_temperature": 0.0}, "attention temperature must stay > 0"),
        ({"attention_t_schedule": "linear", "attention_t_end": 0.0}, "stay > 0"),
        ({"gumbel_tau": 0.0}, "gumbel_tau"),
    ):
        with pytest.raises(ValueError, match=message):
            TrainConfig(**bad)
    schedule = TrainConfig(
        attention_t_schedule="linear", attention_temperature=2.0, attention_t_end=0.5
    ).attention_temperature_schedule()
    assert schedule(0, 10) == 2.0 and schedule(10, 10) == 0.5


def test_sampled_attention_counts_in_the_memory_estimate():
    softmax, sampled = TrainConfig(), TrainConfig(attention="boltzmann", attention_samples=16)
    batch, heads, block, layers = 12, 4, 64, 4  # the cpu-quick preset
    extra = layers * (4 * batch * heads * block * block + 2 * batch * heads * block * 16)
    assert sampled.estimated_step_bytes - softmax.estimated_step_bytes == 4 * extra
    baseline_only = TrainConfig(baseline_attention="hard", attention_samples=16)
    assert baseline_only.estimated_step_bytes == sampled.estimated_step_bytes
