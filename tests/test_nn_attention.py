"""ThermodynamicAttention: every mode against the exact softmax, its limits in T, and masks.

Statistical checks use fixed seeds. A sampled weight ŵ_ij is a mean of N one-hot indicators
with P(1) = w_ij, so its standard error is √(w_ij (1 − w_ij) / N). We require every entry to
lie within Z = 4.5 standard errors: a two-sided normal tail of 7·10⁻⁶ per entry, so with the
≈ 100 entries checked here a correct sampler fails by chance with probability < 10⁻³.
"""

from __future__ import annotations

import math

import pytest
import torch

from thermolab.backends import get_backend
from thermolab.nn import (
    MODES,
    ThermodynamicAttention,
    ThermodynamicSelfAttention,
    allowed_positions,
    attention_entropy,
    attention_weights,
)

Z = 4.5


def qkv(batch=2, heads=2, length=6, dim=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, heads, length, dim)
    return tuple(torch.randn(shape, generator=generator) for _ in range(3))


def exact(q, k, temperature, allowed=None):
    return attention_weights(q, k, temperature=temperature, mode="softmax", allowed=allowed)


def test_sampled_mean_matches_softmax_within_standard_errors():
    q, k, _ = qkv(batch=1, heads=2, length=5)
    allowed = allowed_positions(5, 5, causal=True)
    backend = get_backend("torch", seed=1)
    draws, per_draw = 200, 16
    estimates = torch.stack(
        [
            attention_weights(
                q,
                k,
                temperature=0.7,
                mode="sampled",
                n_samples=per_draw,
                allowed=allowed,
                backend=backend,
                seed=seed,
            ).detach()
            for seed in range(draws)
        ]
    )
    target = exact(q, k, 0.7, allowed)
    n = draws * per_draw
    standard_error = torch.sqrt(target * (1 - target) / n)
    deviation = (estimates.mean(dim=0) - target).abs()
    assert torch.all(deviation <= Z * standard_error + 1e-6), deviation.max()
    # Not trivially exact: the estimate does fluctuate.
    assert deviation.max() > 0
    assert backend.counter.snapshot()["samples"] == draws * per_draw * 2 * 5


@pytest.mark.parametrize("mode", MODES)
def test_low_temperature_gives_the_argmax_row(mode):
    q, k, _ = qkv(seed=3)
    scores = q @ k.transpose(-2, -1)
    gap = scores.sort(dim=-1).values
    assert (gap[..., -1] - gap[..., -2]).min() > 1e-2  # a unique argmax in every row
    weights = attention_weights(
        q, k, temperature=1e-4, mode=mode, n_samples=8, gumbel_temperature=1e-3, seed=0
    )
    argmax = torch.nn.functional.one_hot(scores.argmax(dim=-1), scores.shape[-1]).float()
    torch.testing.assert_close(weights.detach(), argmax, atol=1e-4, rtol=0)
    assert attention_entropy(weights.detach()).max() < 1e-3


def test_high_temperature_gives_uniform_rows():
    q, k, _ = qkv(seed=4)
    n = k.shape[-2]
    uniform = torch.full((*q.shape[:-1], n), 1.0 / n)
    torch.testing.assert_close(exact(q, k, 1e5), uniform, atol=1e-4, rtol=0)
    torch.testing.assert_close(
        attention_entropy(exact(q, k, 1e5)),
        torch.full(q.shape[:-1], math.log(n)),
        atol=1e-6,
        rtol=0,
    )
    # Sampled at large T: each entry is a frequency of N draws with p = 1/n.
    per_row = 4000
    sampled = attention_weights(q, k, temperature=1e5, mode="sampled", n_samples=per_row, seed=2)
    standard_error = math.sqrt((1 / n) * (1 - 1 / n) / per_row)
    assert (sampled.detach() - 1 / n).abs().max() <= Z * standard_error


def test_entropy_increases_with_temperature_between_its_limits():
    q, k, _ = qkv(seed=5)
    n = k.shape[-2]
    temperatures = torch.logspace(-3, 2, 31).tolist()
    entropies = torch.stack([attention_entropy(exact(q, k, t)) for t in temperatures])
    # dH/dT = Var_w(s)/T³ ≥ 0 for every row; allow float32 round-off.
    assert torch.all(entropies[1:] >= entropies[:-1] - 1e-5)
    mean = entropies.flatten(1).mean(dim=1)
    assert torch.all(mean[1:] > mean[:-1])
    assert mean[0] < 0.05 and mean[-1] > 0.9 * math.log(n)
    assert entropies.max() <= math.log(n) + 1e-5


@pytest.mark.parametrize("mode", MODES)
def test_gradients_flow_through_every_mode(mode):
    q, k, v = (t.clone().requires_grad_(True) for t in qkv(seed=6))
    attention = ThermodynamicAttention(0.8, mode, n_samples=8, seed=0)
    output = attention(q, k, v, causal=True, seed=1)
    (output * torch.linspace(-1, 1, output.shape[-1])).sum().backward()
    for tensor in (q, k, v):
        assert tensor.grad is not None
        assert torch.isfinite(tensor.grad).all()
        assert tensor.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", MODES)
def test_masks_are_respected(mode):
    q, k, v = qkv(batch=2, heads=2, length=6, seed=7)
    padding = torch.zeros(2, 6, dtype=torch.bool)
    padding[0, :2] = True  # left padding: rows 0 and 1 of batch 0 see no key at all
    padding[1, 4:] = True
    extra = torch.ones(6, 6, dtype=torch.bool)
    extra[5, 0] = False
    attention = ThermodynamicAttention(2.0, mode, n_samples=64, seed=0)
    output, weights = attention(
        q,
        k,
        v,
        causal=True,
        key_padding_mask=padding,
        attn_mask=extra,
        return_weights=True,
        seed=3,
    )
    allowed = allowed_positions(6, 6, causal=True, key_padding_mask=padding, attn_mask=extra)
    allowed = allowed.expand_as(weights)
    assert torch.isfinite(weights).all() and torch.isfinite(output).all()
    assert torch.all(weights[~allowed] == 0)
    assert torch.all(weights[:, :, :, :][~allowed.any(-1)] == 0)
    live = allowed.any(dim=-1)
    torch.testing.assert_close(weights.sum(-1)[live], torch.ones(int(live.sum())))
    assert torch.all(output[0, :, :2] == 0)  # fully masked rows give zero output


def test_fast_sdpa_path_matches_explicit_weights():
    q, k, v = qkv(seed=8)
    attention = ThermodynamicAttention(0.3).eval()
    for causal in (False, True):
        fast = attention(q, k, v, causal=causal)
        slow, _ = attention(q, k, v, causal=causal, return_weights=True)
        torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)


def test_attention_dropout_uses_pbits_in_training_only():
    q, k, v = qkv(seed=9)
    attention = ThermodynamicAttention(1.0, dropout=0.5, seed=0)
    _, weights = attention(q, k, v, return_weights=True)
    assert (weights == 0).any()
    assert attention.backend.counter.snapshot()["samples"] == weights.numel()
    attention.eval()
    _, weights = attention(q, k, v, return_weights=True)
    assert (weights > 0).all()


def test_self_attention_is_causal_and_model_ready():
    layer = ThermodynamicSelfAttention(16, 4, mode="sampled", n_samples=4, temperature=1.0)
    x = torch.randn(3, 7, 16, generator=torch.Generator().manual_seed(0))
    out, weights = layer(x, return_weights=True, seed=5)
    assert out.shape == (3, 7, 16) and weights.shape == (3, 4, 7, 7)
    assert torch.all(weights.triu(diagonal=1) == 0)
    changed = x.clone()
    changed[:, -1] += 1.0  # a change at the last position cannot reach earlier outputs
    layer.attention.mode = "softmax"
    torch.testing.assert_close(layer(x)[:, :-1], layer(changed)[:, :-1])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"mode": "boltzmann"}, "mode"),
        ({"dropout": 1.0}, "dropout"),
        ({"n_samples": 0}, "n_samples"),
        ({"gumbel_temperature": -1.0}, "gumbel_temperature"),
    ],
)
def test_bad_options_raise_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        ThermodynamicAttention(**options)


def test_backend_inverse_cdf_never_picks_zero_weights():
    # Zero weights at both ends of a row (a uniform of 0, and one rounding up to the total,
    # are inverse-CDF sampling's edge cases), and a row whose width is not a power of two.
    from thermolab.backends.torch_backend import _inverse_cdf

    weights = torch.tensor([[0.0, 1e-30, 1.0, 0.0], [0.0, 0.0, 3.0, 0.0]])
    cumulative = weights.cumsum(-1, dtype=torch.float64)
    picks = _inverse_cdf(cumulative, 20_000, torch.Generator().manual_seed(0))
    assert torch.all(weights.gather(1, picks) > 0)
    odd = torch.tensor([[0.0, 0.0, 2.0, 0.0, 1.0, 0.0, 0.0]]).cumsum(-1, dtype=torch.float64)
    picks = _inverse_cdf(odd, 20_000, torch.Generator().manual_seed(1))
    assert set(picks.unique().tolist()) == {2, 4}
    energies = torch.tensor([[math.inf, 0.0, 0.5, math.inf]] * 64)
    drawn = get_backend("torch", seed=0).categorical(energies, 0.3, 512)
    assert set(drawn.unique().tolist()) == {1, 2}


@pytest.mark.parametrize(("uniform", "expected"), [(0.0, 1), (1.0, 4)])
def test_backend_inverse_cdf_edge_uniforms_pick_positive_weights(monkeypatch, uniform, expected):
    # A uniform of exactly 0, and one whose product with the total rounds up to the total, are
    # too rare to meet by chance (2⁻⁵³ a draw); force them. They must land on the first and the
    # last positive weight, never on the zero weights around them.
    from thermolab.backends.torch_backend import _inverse_cdf

    def constant_rand(shape, *, generator, device, dtype):
        return torch.full(shape, uniform, device=device, dtype=dtype)

    monkeypatch.setattr(torch, "rand", constant_rand)
    weights = torch.tensor([[0.0, 1.0, 0.0, 0.0, 2.0, 0.0]])
    picks = _inverse_cdf(weights.cumsum(-1, dtype=torch.float64), 3, torch.Generator())
    assert picks.tolist() == [[expected] * 3]


def test_layers_survive_deepcopy_and_torch_save(tmp_path):
    import copy

    layer = ThermodynamicSelfAttention(8, 2, mode="sampled", n_samples=2)
    x = torch.randn(1, 4, 8, generator=torch.Generator().manual_seed(0))
    layer(x)
    clone = copy.deepcopy(layer)
    assert clone.attention.backend.counter.snapshot() == layer.attention.backend.counter.snapshot()
    clone(x)  # its own counter and lock
    assert clone.attention.backend.counter.snapshot()["samples"] == 2 * (2 * 2 * 4)
    torch.save(layer, tmp_path / "layer.pt")
    loaded = torch.load(tmp_path / "layer.pt", weights_only=False)
    assert loaded(x).shape == (1, 4, 8)
