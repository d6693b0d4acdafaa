"""Review flags, risk–coverage and AURC: exact small cases and the closed forms."""

import math

import pytest
import torch

from thermolab.models.tinygpt import GPTConfig, TinyGPT
from thermolab.runs import RunStore
from thermolab.training import TrainConfig, prepare, train
from thermolab.training.evaluation import evaluate, reviewed_excerpt, reviewed_generation
from thermolab.training.review import (
    aurc,
    flag_tokens,
    perfect_aurc,
    review,
    risk_coverage,
)


def test_threshold_zero_flags_every_token_and_above_the_maximum_none():
    information = torch.rand(500, generator=torch.Generator().manual_seed(0)) * 0.3
    information[:7] = 0.0  # samples that agreed exactly are flagged at 0 too
    assert bool(flag_tokens(information, 0.0).all())
    assert not bool(flag_tokens(information, float(information.max()) + 1e-9).any())
    middle = float(information.median())
    assert float(flag_tokens(information, middle).double().mean()) == pytest.approx(0.5, abs=0.01)
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError):
            flag_tokens(information, bad)


def test_risk_coverage_of_a_small_ranking_by_hand():
    scores = torch.tensor([0.1, 0.4, 0.2, 0.3])
    errors = torch.tensor([0, 1, 1, 0])
    # Kept in order of score: errors 0, 1, 0, 1 → risks 0/1, 1/2, 1/3, 2/4.
    coverage, risk = risk_coverage(scores, errors)
    torch.testing.assert_close(coverage, torch.tensor([0.25, 0.5, 0.75, 1.0], dtype=torch.float64))
    torch.testing.assert_close(risk, torch.tensor([0, 1 / 2, 1 / 3, 1 / 2], dtype=torch.float64))
    assert aurc(scores, errors) == pytest.approx((0 + 1 / 2 + 1 / 3 + 1 / 2) / 4)


@pytest.mark.parametrize(("n", "e"), [(1, 0), (1, 1), (10, 3), (1000, 250), (4096, 4000)])
def test_aurc_of_a_perfect_ranking_equals_its_closed_form(n, e):
    errors = torch.zeros(n)
    errors[torch.randperm(n, generator=torch.Generator().manual_seed(n))[:e]] = 1
    perfect_scores = errors + 0.01 * torch.rand(n)  # every error less confident than all hits
    assert aurc(perfect_scores, errors) == pytest.approx(perfect_aurc(n, e), rel=1e-12, abs=1e-15)
    # The sum by hand: risk 0 while only hits are kept, then (k − (n − e)) / k.
    by_hand = sum((k - (n - e)) / k for k in range(n - e + 1, n + 1)) / n
    assert perfect_aurc(n, e) == pytest.approx(by_hand, rel=1e-12, abs=1e-15)
    # The continuous limit r + (1 − r) ln(1 − r), to O(log n / n).
    r = e / n
    if 0 < r < 1 and n >= 1000:
        assert perfect_aurc(n, e) == pytest.approx(r + (1 - r) * math.log(1 - r), abs=5e-3)


def test_tied_scores_give_the_expected_risk_and_random_ranking_is_worse():
    errors = torch.tensor([1, 0, 0, 1, 0, 0, 0, 1] * 50)
    # A constant score ranks nothing: the expected risk is the error rate at every coverage.
    _, risk = risk_coverage(torch.zeros(400), errors)
    torch.testing.assert_close(risk, torch.full((400,), 3 / 8, dtype=torch.float64))
    assert aurc(-errors.double(), errors) > 3 / 8 > perfect_aurc(400, 150)


def test_review_summarises_both_rankings():
    generator = torch.Generator().manual_seed(3)
    errors = torch.rand(2000, generator=generator) < 0.3
    information = torch.rand(2000, generator=generator) * 0.1 + 0.2 * errors
    entropy = information + torch.rand(2000, generator=generator)
    result = review(entropy, information, errors, threshold=0.15)
    assert result.n_tokens == 2000 and result.error_rate == pytest.approx(
        float(errors.double().mean())
    )
    # MI separates the errors here (they have MI ≥ 0.2): its area is near the perfect one.
    assert result.perfect_aurc <= result.aurc["mutual_information"] < result.aurc["entropy"]
    assert result.aurc["mutual_information"] == pytest.approx(result.perfect_aurc, abs=0.02)
    assert result.flagged_fraction == pytest.approx(float((information >= 0.15).double().mean()))
    curve = result.to_dict()["curves"]["entropy"]
    assert len(curve["coverage"]) == 101 and curve["coverage"][-1] == 1.0
    assert curve["risk"][-1] == pytest.approx(result.error_rate)


def _boltzmann_model() -> TinyGPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=7, block_size=16, n_layer=1, n_head=2, n_embd=16)
    return TinyGPT(config)


def test_mc_pbit_dropout_gives_a_point_weight_model_a_review():
    model = _boltzmann_model()
    x = torch.randint(7, (2, 16), generator=torch.Generator().manual_seed(1))
    deterministic = evaluate(model, [(x, x)], predictive_samples=4)
    assert deterministic.review is None
    before = model.backend.counter.snapshot().get("samples", 0)
    dropped = evaluate(model, [(x, x)], predictive_samples=4, review_threshold=0.0, dropout=0.2)
    assert dropped.review is not None and dropped.review.flagged_fraction == 1.0
    assert dropped.mutual_information > 0
    assert model.backend.counter.snapshot()["samples"] > before, "masks are p-bits"
    # The hooks are gone afterwards: the model is deterministic again.
    torch.testing.assert_close(model(x).logits, model(x).logits)
    excerpt = reviewed_excerpt(model, x[0], x[0], lambda ids: "ab"[ids[0] % 2], dropout=0.2)
    assert len(excerpt["chars"]) == 16 and min(excerpt["mutual_information"]) >= 0
    generated = reviewed_generation(
        model, [0], lambda ids: str(ids[0]), n_chars=5, predictive_samples=3, dropout=0.2
    )
    assert len(generated["chars"]) == 5 and len(generated["mutual_information"]) == 5


def test_a_run_with_review_dropout_stores_its_review(tmp_path):
    store = RunStore(tmp_path)
    config = TrainConfig(
        corpus="default",
        steps=20,
        block_size=16,
        batch_size=4,
        warmup_steps=2,
        eval_every=20,
        eval_batches=2,
        predictive_samples=3,
        meter="none",
        sample_chars=12,
        review_dropout=0.1,
        review_threshold=0.0,
    )
    _, run_ids = prepare(config, store, modes=("baseline",))
    summary = train(config, store, run_ids).summaries["baseline"]
    assert summary["flagged_fraction"] == 1.0 and summary["aurc"] > 0
    stored = store.get_run(run_ids["baseline"]).summary["review"]
    assert len(stored["generated"]["chars"]) == 12 and len(stored["excerpt"]["chars"]) == 16
    assert set(stored["aurc"]) == {"entropy", "mutual_information"}
