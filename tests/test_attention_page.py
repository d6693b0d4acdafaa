"""The attention explorer page runs headless (AppTest): every control, bad inputs as text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

DEFAULT_TEXT = "the cat sat on the mat"
PAGE = Path(__file__).resolve().parents[1] / "pages" / "2_Attention_explorer.py"


def fresh() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    assert_clean(app)
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def heatmap_spec(app: AppTest) -> str:
    specs = [chart.proto.spec for chart in app.get("plotly_chart")]
    return next(spec for spec in specs if "Attention weights at T" in spec)


@pytest.fixture(scope="module")
def app() -> AppTest:
    return fresh()


def test_page_renders_every_panel(app):
    assert app.title[0].value == "Attention-temperature explorer"
    assert len(app.get("plotly_chart")) == 4  # heatmaps, entropy, MC error, estimators
    assert len(app.get("download_button")) == 4
    cost = app.table[0].value
    assert list(cost["mode"]) == [
        "exact softmax",
        "K-sample Boltzmann",
        "Gumbel-softmax",
        "hard sample",
    ]
    sampled = cost[cost["mode"] == "K-sample Boltzmann"].iloc[0]
    assert sampled["samples"] == 16 * 11  # K = 16 per row, 11 word tokens
    assert cost[cost["mode"] == "exact softmax"].iloc[0]["samples"] == 0
    assert "TinyGPT checkpoint head" not in app.radio(key="source").options


def test_temperature_slider_redraws_the_heatmaps(app):
    before = heatmap_spec(app)
    for temperature in (0.01, 10.0):
        app.select_slider(key="temperature").set_value(temperature).run()
        assert_clean(app)
        after = heatmap_spec(app)
        assert after != before
        before = after


def test_every_sampling_control(app):
    app.select_slider(key="samples").set_value(256).run()
    assert_clean(app)
    sampled = app.table[0].value.iloc[1]
    assert sampled["samples"] == 256 * 11
    app.select_slider(key="tau").set_value(2.0).run()
    assert_clean(app)
    for mode in ("softmax", "gumbel", "hard", "sampled"):
        app.radio(key="mode").set_value(mode).run()
        assert_clean(app)
    app.slider(key="row").set_value(5).run()
    app.checkbox(key="causal").check().run()
    app.number_input(key="seed").set_value(7).run()
    assert_clean(app)


def test_sentence_controls_and_bad_sentences():
    app = fresh()
    app.radio(key="level").set_value("char").run()
    assert_clean(app)
    app.text_input(key="sentence").input("   ").run()
    assert not app.exception
    assert "no tokens" in app.error[0].value
    app.text_input(key="sentence").input("a" * 200).run()
    assert not app.exception
    assert "at most" in app.error[0].value
    app.text_input(key="sentence").input("Hot rows sample widely.").run()
    assert_clean(app)


def test_random_input_controls():
    app = fresh()
    app.radio(key="source").set_value("Random queries and keys").run()
    assert_clean(app)
    app.slider(key="n_tokens").set_value(32).run()
    app.select_slider(key="scale").set_value(4.0).run()
    assert_clean(app)
    assert app.table[0].value.iloc[1]["samples"] == 16 * 32


def test_the_checkpoint_source_is_announced_until_a_checkpoint_exists(tmp_path, monkeypatch):
    """Before any training the page says where the third source will come from; an empty
    checkpoint directory (a training that saved nothing yet) does not offer it either."""
    monkeypatch.setenv("THERMOLAB_CHECKPOINTS", str(tmp_path))
    app = fresh()
    assert "TinyGPT checkpoint head" not in app.radio(key="source").options
    notes = [c.value for c in app.sidebar.caption if "TinyGPT checkpoint head" in c.value]
    assert notes and "TinyGPT training" in notes[0] and "checkpoint" in notes[0]


def test_the_checkpoint_source_says_which_run_it_reads(tmp_path, monkeypatch):
    import torch

    from thermolab.models.tinygpt import CharVocab, GPTConfig, TinyGPT, save_checkpoint

    torch.manual_seed(0)
    vocab = CharVocab.from_text(DEFAULT_TEXT)
    model = TinyGPT(GPTConfig(vocab_size=vocab.size, block_size=16, n_layer=1, n_head=2, n_embd=8))
    older = save_checkpoint(tmp_path / "aaaa1111" / "last.pt", model, vocab, extra={"step": 3})
    newer = save_checkpoint(
        tmp_path / "bbbb2222" / "last.pt", model, vocab, extra={"step": 7, "mode": "tsu"}
    )
    stamp = older.stat().st_mtime_ns
    os.utime(newer, ns=(stamp + 10**9, stamp + 10**9))  # newer by a second, however fast
    monkeypatch.setenv("THERMOLAB_CHECKPOINTS", str(tmp_path))
    app = fresh()
    assert "TinyGPT checkpoint head" in app.radio(key="source").options
    app.radio(key="source").set_value("TinyGPT checkpoint head").run()
    assert not app.exception
    app.text_input(key="ckpt_text").set_value(DEFAULT_TEXT).run()
    assert_clean(app)
    notes = [c.value for c in app.sidebar.caption if c.value.startswith("Reads the newest")]
    assert notes and "run bbbb2222 (tsu) after 7 steps, saved " in notes[0]


def test_checkpoints_are_found_in_the_run_store_directory(tmp_path, monkeypatch):
    from thermolab.attention_lab import checkpoint_directory

    monkeypatch.delenv("THERMOLAB_CHECKPOINTS", raising=False)
    monkeypatch.setenv("THERMOLAB_RUNS_DIR", str(tmp_path))
    assert checkpoint_directory() is None
    (tmp_path / "tinygpt").mkdir()
    assert checkpoint_directory() == tmp_path / "tinygpt"
