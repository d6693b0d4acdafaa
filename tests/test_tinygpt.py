"""TinyGPT (thermolab.models.tinygpt): configuration, causality, initial loss, attention
entropy, generation, weight tying, a short overfit, and checkpoints that never run code."""

from __future__ import annotations

import math
import os
import pickle

import numpy as np
import pytest
import torch

from thermolab.attention_lab import checkpoint_input
from thermolab.data import CharVocab
from thermolab.models import (
    PRESETS,
    CheckpointError,
    GPTConfig,
    TinyGPT,
    load_checkpoint,
    preset_config,
    save_checkpoint,
)
from thermolab.models.tinygpt import make_stochastic
from thermolab.nn.bayes import gaussian_layers, weight_mode

VOCAB = CharVocab.from_text("abcdefghijklmnopqrstuvwxyz .,\n")


def tiny(seed: int = 0, **overrides) -> TinyGPT:
    torch.manual_seed(seed)
    sizes = {"block_size": 12, "n_layer": 2, "n_head": 2, "n_embd": 16, **overrides}
    return TinyGPT(GPTConfig(vocab_size=VOCAB.size, **sizes)).eval()


def tokens(batch: int, length: int, seed: int = 0, vocab: int = VOCAB.size) -> torch.Tensor:
    return torch.randint(vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_embd": 30, "n_head": 4}, "multiple of n_head"),
        ({"n_layer": 0}, "n_layer"),
        ({"block_size": 2.5}, "block_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"attention_mode": "linear"}, "attention_mode"),
        ({"attention_temperature": 0.0}, "attention_temperature"),
    ],
)
def test_bad_configurations_raise_value_error(options, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(vocab_size=10, **options)


def test_presets_and_overrides():
    quick = preset_config("cpu-quick", 65)
    assert (quick.n_layer, quick.n_head, quick.n_embd, quick.block_size) == (4, 4, 128, 64)
    assert PRESETS["cpu-quick"].batch_size == 12 and PRESETS["workshop-gpu"].batch_size == 32
    gpu = preset_config("workshop-gpu", 65, dropout=0.2, attention_mode="sampled")
    assert (gpu.n_embd, gpu.block_size, gpu.dropout, gpu.attention_mode) == (
        256,
        128,
        0.2,
        "sampled",
    )
    with pytest.raises(ValueError, match="cpu-quick, workshop-gpu"):
        preset_config("laptop", 65)
    with pytest.raises(ValueError, match="batch_size"):
        preset_config("cpu-quick", 65, batch_size=8)
    assert type(GPTConfig(vocab_size=np.int64(7)).vocab_size) is int


# ------------------------------------------------------------------ the model


def test_shapes_loss_and_too_long_input():
    model = tiny()
    idx = tokens(3, 12)
    out = model(idx, idx)
    assert out.logits.shape == (3, 12, VOCAB.size) and out.loss.shape == ()
    assert out.attention_entropy is None
    torch.testing.assert_close(
        out.loss,
        torch.nn.functional.cross_entropy(out.logits.reshape(-1, VOCAB.size), idx.flatten()),
    )
    with pytest.raises(ValueError, match="block size 12"):
        model(tokens(1, 13))
    with pytest.raises(ValueError, match="token ids"):
        model(torch.zeros(1, 4))


@pytest.mark.parametrize("entropy_path", [False, True])
def test_changing_a_future_token_never_changes_earlier_outputs(entropy_path):
    model = tiny()
    idx = tokens(1, 12)
    with torch.no_grad():
        reference = model(idx, return_attention_entropy=entropy_path).logits
        for position in range(12):
            changed = idx.clone()
            changed[0, position] = (changed[0, position] + 1) % VOCAB.size
            logits = model(changed, return_attention_entropy=entropy_path).logits
            torch.testing.assert_close(logits[:, :position], reference[:, :position])
            assert not torch.allclose(logits[:, position], reference[:, position])


def test_initial_loss_is_close_to_log_vocabulary():
    """At GPT-2's initialisation the logits are small (std ≈ 0.02·√n_embd ≈ 0.23 at the preset
    width), so the predicted distribution is nearly uniform and the loss ≈ ln V. Two effects
    push it up: E[log Σ exp z] exceeds ln V by ≈ var(z)/2 ≈ 0.03, and the tied head gives each
    input token's own logit a small positive bias; targets here are uniform and independent,
    so nothing pulls it down. The mean over 4096 targets has a standard error below 0.01.
    Hence ln V − 0.02 < loss < ln V + 0.1; a badly scaled head misses it (PyTorch's
    default Linear init gives logits of std ≈ 0.58, an excess ≈ 0.17)."""
    torch.manual_seed(0)
    model = TinyGPT(preset_config("cpu-quick", 65)).eval()
    with torch.no_grad():
        loss = model(tokens(64, 64, seed=1, vocab=65), tokens(64, 64, seed=2, vocab=65)).loss
    assert -0.02 < loss.item() - math.log(65) < 0.1


def test_attention_entropy_shape_bounds_and_agreement_with_the_fast_path():
    model = tiny(n_layer=3)
    idx = tokens(4, 10)
    with torch.no_grad():
        fast = model(idx)
        slow = model(idx, return_attention_entropy=True)
    torch.testing.assert_close(slow.logits, fast.logits, atol=1e-5, rtol=1e-5)
    entropy = slow.attention_entropy
    assert entropy.shape == (3, 2)
    assert (entropy >= 0).all() and (entropy <= math.log(10)).all()
    # Near-uniform causal attention at initialisation: row i has i + 1 keys, entropy ln(i+1).
    uniform = sum(math.log(i + 1) for i in range(10)) / 10
    torch.testing.assert_close(entropy, torch.full((3, 2), uniform), atol=0.02, rtol=0)
    # The same weights at attention temperature 0.01 attend far more sharply.
    sharp = tiny(n_layer=3, attention_temperature=0.01)
    with torch.no_grad():
        cold = sharp(idx, return_attention_entropy=True).attention_entropy
    assert (cold < entropy).all()


def test_generate_extends_crops_and_top_one_is_greedy():
    model = tiny()
    prompt = tokens(2, 5)
    out = model.generate(prompt, 20, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 25) and torch.equal(out[:, :5], prompt)
    again = model.generate(prompt, 20, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    greedy = model.generate(prompt, 15, top_k=1, temperature=2.0)
    idx = prompt
    with torch.no_grad():
        for _ in range(15):
            following = model(idx[:, -12:]).logits[:, -1].argmax(-1, keepdim=True)
            idx = torch.cat([idx, following], dim=1)
    assert torch.equal(greedy, idx)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(prompt, 1, top_k=0)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, 1, temperature=0.0)


def test_weight_tying_and_initialisation():
    model = tiny(n_layer=4, n_embd=64, n_head=4)
    assert model.lm_head.weight is model.token_embedding.weight
    d, v, t, layers = 64, VOCAB.size, 12, 4
    per_block = (
        2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d)
    )
    assert model.num_parameters() == v * d + t * d + layers * per_block + 2 * d
    # GPT-2 init: residual projections N(0, (0.02/√(2·layers))²), other matrices N(0, 0.02²).
    projection = torch.cat([b.mlp.proj.weight.flatten() for b in model.blocks])
    fc = torch.cat([b.mlp.fc.weight.flatten() for b in model.blocks])
    for values, std in ((projection, 0.02 / math.sqrt(8)), (fc, 0.02)):
        assert abs(values.std().item() - std) < 4.5 * std / math.sqrt(2 * values.numel())
    model(tokens(2, 12), tokens(2, 12, seed=1)).loss.backward()
    assert model.token_embedding.weight.grad.abs().sum() > 0


def test_a_small_model_learns_a_repetitive_text():
    text = "the cat sat on the mat. " * 40
    ids = torch.as_tensor(VOCAB.encode(text))
    model = tiny(n_layer=1, n_embd=32).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(150):
        starts = torch.randint(len(ids) - 13, (16,), generator=generator)
        x = torch.stack([ids[s : s + 12] for s in starts])
        y = torch.stack([ids[s + 1 : s + 13] for s in starts])
        loss = model(x, y).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # The text has 24-periodic structure: after the first few characters of a window every
    # next character is determined, so the loss falls far below ln V ≈ 3.4.
    assert loss.item() < 0.5


# ------------------------------------------------------------------ checkpoints


def test_checkpoint_round_trip_gives_identical_logits(tmp_path):
    model = tiny(seed=3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(tokens(2, 12), tokens(2, 12, seed=1)).loss.backward()
    optimizer.step()
    extra = {
        "optimizer": optimizer.state_dict(),
        "step": 1,
        "torch_rng": torch.get_rng_state(),
        "metrics": {"val_loss": [3.1, 2.9]},
    }
    path = save_checkpoint(tmp_path / "runs" / "a.pt", model, VOCAB, extra=extra)
    assert [p.name for p in path.parent.iterdir()] == ["a.pt"]
    loaded = load_checkpoint(path)
    assert loaded.vocab == VOCAB and loaded.stochastic is None and not loaded.model.training
    assert loaded.model.config == model.config
    assert loaded.model.lm_head.weight is loaded.model.token_embedding.weight
    idx = tokens(3, 12, seed=5)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(idx).logits, model(idx).logits, rtol=0, atol=0)
    assert loaded.extra["step"] == 1 and loaded.extra["metrics"] == {"val_loss": [3.1, 2.9]}
    assert torch.equal(loaded.extra["torch_rng"], extra["torch_rng"])
    resumed = torch.optim.AdamW(loaded.model.parameters(), lr=1e-3)
    resumed.load_state_dict(loaded.extra["optimizer"])
    assert resumed.state_dict()["state"][0]["step"] == 1


def test_stochastic_checkpoint_round_trip_in_mean_mode(tmp_path):
    model = tiny(seed=4)
    make_stochastic(model, "attention", init_std=0.05, prior_std=0.3, noise_method="pbit")
    with torch.no_grad():
        for _, layer in gaussian_layers(model):
            layer.weight_log_var.uniform_(-8.0, -4.0)
    path = save_checkpoint(tmp_path / "tsu.pt", model, VOCAB, stochastic={"choice": "attention"})
    loaded = load_checkpoint(path)
    assert loaded.stochastic == {
        "choice": "attention",
        "init_std": 0.05,
        "prior_std": 0.3,
        "noise_method": "pbit",
        "n_bits": 16,
    }
    layers = gaussian_layers(loaded.model)
    assert [name for name, _ in layers] == [name for name, _ in gaussian_layers(model)]
    idx = tokens(2, 12, seed=6)
    with torch.no_grad(), weight_mode(model, "mean"), weight_mode(loaded.model, "mean"):
        torch.testing.assert_close(loaded.model(idx).logits, model(idx).logits, rtol=0, atol=0)
    torch.testing.assert_close(
        layers[0][1].weight_log_var, gaussian_layers(model)[0][1].weight_log_var
    )


def test_saving_refuses_what_could_not_be_reloaded_safely(tmp_path):
    model = tiny()
    with pytest.raises(CheckpointError, match="weights_only"):
        save_checkpoint(tmp_path / "x.pt", model, VOCAB, extra={"state": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary copy
    with pytest.raises(CheckpointError, match="vocabulary"):
        save_checkpoint(tmp_path / "x.pt", model, CharVocab("ab"))
    make_stochastic(model, "first-qkv")
    with pytest.raises(CheckpointError, match="Gaussian layers"):
        save_checkpoint(tmp_path / "x.pt", model, VOCAB)
    with pytest.raises(CheckpointError, match="does not describe"):
        save_checkpoint(tmp_path / "x.pt", model, VOCAB, stochastic={"choice": "attention"})
    with pytest.raises(CheckpointError, match="disagree"):
        save_checkpoint(
            tmp_path / "x.pt", model, VOCAB, stochastic={"choice": "first-qkv", "prior_std": 9.0}
        )


class _CreatesAFile:
    """Unpickling this calls open(marker, "w"): it would create the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickles_are_refused_without_running(tmp_path):
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_CreatesAFile(str(control)))).close()
    assert control.exists()  # the payload works when unpickled unsafely

    marker = tmp_path / "pwned"
    as_torch = tmp_path / "evil.pt"
    torch.save({"format": "thermolab.tinygpt/1", "model": _CreatesAFile(str(marker))}, as_torch)
    as_pickle = tmp_path / "evil.pkl"
    as_pickle.write_bytes(pickle.dumps(_CreatesAFile(str(marker)), protocol=2))
    for path in (as_torch, as_pickle):
        with pytest.raises(CheckpointError, match="cannot be read"):
            load_checkpoint(path)
    assert not marker.exists()


def test_missing_corrupt_and_foreign_files_are_refused(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", tiny(), VOCAB)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(4096))
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    damaged = tmp_path / "damaged.pt"
    torch.save({"format": "thermolab.tinygpt/1", "config": {"vocab_size": 3}}, damaged)
    cases = {
        tmp_path / "absent.pt": "no checkpoint file",
        tmp_path: "no checkpoint file",
        truncated: "cannot be read",
        garbage: "cannot be read",
        foreign: "not a ThermoLab TinyGPT checkpoint",
        damaged: "damaged",
    }
    for path, message in cases.items():
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(path)


# ------------------------------------------------------------------ the attention explorer


def test_attention_explorer_reads_a_head_of_the_newest_checkpoint(tmp_path):
    older, newer = tiny(seed=1), tiny(seed=2)
    save_checkpoint(tmp_path / "run-a" / "final.pt", older, VOCAB)
    newest = save_checkpoint(tmp_path / "run-b" / "step-10.pt", newer, VOCAB)
    os.utime(tmp_path / "run-a" / "final.pt", (1e9, 1e9))
    os.utime(newest, (2e9, 2e9))
    text = "hello world, this text is longer than the block"
    data = checkpoint_input(tmp_path, text, layer=1, head=1)
    assert data.tokens == tuple("hello␣world,")
    assert data.queries.shape == data.keys.shape == (12, 8)
    with torch.no_grad():
        x = newer.embed(torch.as_tensor(VOCAB.encode(text[:12]))[None])
        x, _ = newer.blocks[0](x)
        q, k, _ = newer.blocks[1].attn.qkv(newer.blocks[1].ln_1(x)).split(16, dim=-1)
    np.testing.assert_allclose(data.queries, q[0, :, 8:].numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(data.keys, k[0, :, 8:].numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="'!', 'H'"):
        checkpoint_input(tmp_path, "Hi!", layer=0, head=0)
    with pytest.raises(ValueError, match="head must lie in"):
        checkpoint_input(tmp_path, "hi", layer=0, head=2)
    with pytest.raises(ValueError, match="TinyGPT"):
        checkpoint_input(tmp_path / "run-a" / "missing", "hi")
