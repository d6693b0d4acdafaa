"""Bad input on every page: a clear message or a visible clamp, never a traceback or a stuck page.

Each case below sets one widget of one page to a bad value (after the settings in `setup`,
if any) and expects one of:

- CLAMPED: the widget refuses the value and keeps its last valid one (Streamlit checks a
  number input's bounds and a text box's length on the server; the browser shows the value
  actually used), and the page renders without an error;
- ACCEPTED: an extreme but legal value the page must simply handle;
- any other string: a fragment of the st.error / st.warning the page must show.

NaN and ±inf are tried on float inputs only: an integer number input cannot carry them from a
browser (Streamlit's own deserialiser would fail before the page runs; a forged websocket
message is outside what a page can guard).

After each case the same widget is set to a good value (`good`) and the page must render
again, without an error: a page never stays stuck on a bad input. The lists are the record of
what was tried, page by page (see `test_the_sweep_covers_every_page`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from hardening_support import assert_no_exception, errors, messages, new_app

CLAMPED = "clamped"
ACCEPTED = "accepted"
NAN, INF = math.nan, math.inf


@dataclass(frozen=True)
class Case:
    """widget: AppTest element kind and key, as "number_input:nodes"."""

    widget: str
    value: Any
    expect: str
    good: Any
    setup: tuple[tuple[str, Any], ...] = field(default=())
    press: str | None = None  # a button to press after setting the value

    def __str__(self) -> str:
        value = self.value
        if isinstance(value, tuple):  # an upload: (name, bytes, type)
            shown = f"{value[0]}({len(value[1])}B)"
        elif isinstance(value, str):
            shown = repr(value[:24]) + ("…" if len(value) > 24 else "")
        else:
            shown = repr(value)
        return f"{self.widget}={shown}"


# --------------------------------------------------------------------------- the inputs

GRAPH = (("radio:kind", "Graph"),)
REGULAR = (*GRAPH, ("selectbox:graph", "random 3-regular"))
ER = (*GRAPH, ("selectbox:graph", "Erdős–Rényi"))
SMALL = (("select_slider:L", 8),)
MEASURE = (*SMALL, ("segmented_control:mode", "Measure"))
EXACT = (("select_slider:L", 4), ("segmented_control:mode", "Measure"))
ANNEAL = (*SMALL, ("segmented_control:mode", "Annealing"))
TEMPERING = (*SMALL, ("segmented_control:mode", "Parallel tempering"))

PLAYGROUND = [
    # sidebar: graph size and seeds
    Case("number_input:nodes", 0, CLAMPED, 12, GRAPH),
    Case("number_input:nodes", -5, CLAMPED, 12, GRAPH),
    Case("number_input:nodes", 3, CLAMPED, 12, GRAPH),
    Case("number_input:nodes", 501, CLAMPED, 12, GRAPH),
    Case("number_input:nodes", 10**12, CLAMPED, 12, GRAPH),
    Case("number_input:nodes", 7, "cannot be built", 8, REGULAR),  # 3 × 7 is odd
    Case("number_input:nodes", 4, ACCEPTED, 12, REGULAR),  # the complete graph K4
    Case("number_input:graph_seed", -1, CLAMPED, 1, GRAPH),
    Case("number_input:graph_seed", 10**15, CLAMPED, 1, GRAPH),
    Case("slider:p", 0.0, CLAMPED, 0.2, ER),
    Case("slider:p", NAN, CLAMPED, 0.2, ER),
    Case("slider:p", 0.01, ACCEPTED, 0.2, (*ER, ("number_input:nodes", 4))),  # no edges
    # sidebar: couplings, field, chain seed
    Case("number_input:J", NAN, CLAMPED, 1.0),
    Case("number_input:J", INF, CLAMPED, 1.0),
    Case("number_input:J", -1e308, CLAMPED, 1.0),
    Case("number_input:J", 0.0, ACCEPTED, 1.0),  # no couplings at all
    Case("number_input:h", NAN, CLAMPED, 0.0),
    Case("number_input:h", -INF, CLAMPED, 0.0),
    Case("number_input:seed", -1, CLAMPED, 3),
    Case("number_input:seed", 2**70, CLAMPED, 3),
    # live view: a graph's temperature slider (a lattice's is drawn with its canvas, and its
    # values are checked where they arrive: tests/test_ui_frames.py, test_playground_page.py)
    Case("slider:temperature", 0.0, CLAMPED, 2.0, GRAPH),
    Case("slider:temperature", -1.0, CLAMPED, 2.0, GRAPH),
    Case("slider:temperature", NAN, CLAMPED, 2.0, GRAPH),
    Case("slider:temperature", INF, CLAMPED, 2.0, GRAPH),
    Case("slider:temperature", 0.05, ACCEPTED, 2.0, GRAPH),  # coldest allowed
    # annealing
    Case("number_input:anneal_t0", 0.0, CLAMPED, 4.0, ANNEAL),
    Case("number_input:anneal_t0", NAN, CLAMPED, 4.0, ANNEAL),
    Case("number_input:anneal_t1", -1.0, CLAMPED, 0.2, ANNEAL),
    Case("number_input:anneal_sweeps", 0, CLAMPED, 50, ANNEAL),
    Case("number_input:anneal_sweeps", 10**9, CLAMPED, 50, ANNEAL),
    # parallel tempering
    Case("number_input:pt_tmax", 1.0, "hottest temperature must be above", 4.0, TEMPERING),
    Case("number_input:pt_tmax", 1.6, "hottest temperature must be above", 4.0, TEMPERING),
    Case("number_input:pt_tmin", 0.0, CLAMPED, 1.6, TEMPERING),
    Case("number_input:pt_tmin", INF, CLAMPED, 1.6, TEMPERING),
    # temperature sweep (checked before a job is submitted)
    Case("multiselect:m_L", [], "choose at least one lattice size", [8], MEASURE, "m_run"),
    Case("number_input:m_sw", 0, CLAMPED, 100, MEASURE),
    Case("number_input:m_sw", 10**9, CLAMPED, 100, MEASURE),
    Case("number_input:m_burn", -1, CLAMPED, 0, MEASURE),
    Case("number_input:m_chains", 0, CLAMPED, 1, MEASURE),
    Case("number_input:m_chains", 65, CLAMPED, 1, MEASURE),
    # exact check
    Case("number_input:x_T", 0.0, CLAMPED, 1.5, EXACT),
    Case("number_input:x_T", NAN, CLAMPED, 1.5, EXACT),
    Case("number_input:x_n", 0, CLAMPED, 500, EXACT),
]

SENTENCE = "text_input:sentence"
CHARS = (("radio:level", "char"),)
RANDOM = (("radio:source", "Random queries and keys"),)
GOOD_SENTENCE = "The cat sat on the mat."
ATTENTION = [
    Case(SENTENCE, "", "no tokens", GOOD_SENTENCE),
    Case(SENTENCE, "   \t  ", "no tokens", GOOD_SENTENCE),
    Case(SENTENCE, "?!,.;", ACCEPTED, GOOD_SENTENCE),
    Case(SENTENCE, "Hi", "at least two tokens", GOOD_SENTENCE),
    Case(SENTENCE, "a", "at least two tokens", GOOD_SENTENCE, CHARS),
    Case(SENTENCE, " ".join(["word"] * 49), "at most 48", GOOD_SENTENCE),
    Case(SENTENCE, "x" * 100_000, "at most 48", GOOD_SENTENCE, CHARS),  # cut at 1000 first
    Case(SENTENCE, "y " * 100_000, "at most 48", GOOD_SENTENCE),
    Case(SENTENCE, "\x00\x01\x07 \x1b[31m red \x7f", ACCEPTED, GOOD_SENTENCE),
    Case(SENTENCE, "🔥🧲⚛️ العربية עברית 中文", ACCEPTED, GOOD_SENTENCE),
    Case(SENTENCE, "<script>alert(1)</script> **bold** $x$", ACCEPTED, GOOD_SENTENCE),
    Case("number_input:seed", -1, CLAMPED, 5),
    Case("number_input:seed", 2**40, CLAMPED, 5),
    Case("slider:n_tokens", 1, CLAMPED, 10, RANDOM),
    Case("slider:n_tokens", 10**6, CLAMPED, 10, RANDOM),
]

EDGES, QUBO = "text_area:qaoa.edges", "text_area:qaoa.q"
WEIGHTED = (("selectbox:qaoa.source", "weighted graph"),)
QUBO_SOURCE = (("selectbox:qaoa.source", "QUBO"),)
GOOD_EDGES = "0 1 1\n1 2 1\n2 0 1"
GOOD_QUBO = "-1 2\n0 -1"
QUBO_25 = "\n".join(" ".join(["1"] * 25) for _ in range(25))  # 25 × 25: one qubit too many
QAOA = [
    Case("number_input:qaoa.n", 0, CLAMPED, 6),
    Case("number_input:qaoa.n", 2, "at least 3", 6),
    Case("number_input:qaoa.n", 25, "too many", 6),
    Case("number_input:qaoa.n", 10**9, CLAMPED, 6),
    Case("number_input:qaoa.seed", -1, CLAMPED, 2),
    Case("slider:qaoa.er_p", 0.0, "no edges", 0.5, (("selectbox:qaoa.source", "Erdős–Rényi"),)),
    Case(EDGES, "", "at least one edge", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 1\n", ACCEPTED, GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0", "expected 'i j [weight]'", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 1 2 3", "expected 'i j [weight]'", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "a b c", "not numbers", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0.5 1 1", "not numbers", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 1 nan", "NaN or infinite", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 1 inf\n1 2 1", "NaN or infinite", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 1 1e308\n1 2 1e308\n2 0 1e308", "too large", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 0 1", "self-loops", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 1 1\n1 0 1", "appears twice", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "-1 2 1", "0 or more", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 25 1", "too many", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 99999999999999999999999 1", "too many", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "0 1 0\n1 2 0", "the problem is empty", GOOD_EDGES, WEIGHTED),
    Case(EDGES, "\x00\xff\xfe binary \x89PNG", "not numbers", GOOD_EDGES, WEIGHTED),
    # 120,000 characters pasted: the box keeps 20,000, which ends mid-line at line 3334
    Case(EDGES, "0 1 1\n" * 20_000, "line 3334", GOOD_EDGES, WEIGHTED),
    Case(QUBO, "", "square matrix", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "1 2\n3", "square matrix", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "1 2 3", "square matrix", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "a b\nc d", "numbers only", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "nan 0\n0 1", "NaN or infinite", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "inf 0\n0 -inf", "NaN or infinite", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "1e308 1e308\n1e308 1e308", "too large", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "0 0\n0 0", "empty", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "1", ACCEPTED, GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, QUBO_25, "too many", GOOD_QUBO, QUBO_SOURCE),
    Case(QUBO, "\x00\x01 \xff", "numbers only", GOOD_QUBO, QUBO_SOURCE),
    Case("number_input:qaoa.restarts", 0, CLAMPED, 1),
    Case("number_input:qaoa.restarts", 11, CLAMPED, 1),
    Case("number_input:qaoa.steps", 0, CLAMPED, 5),
    Case("number_input:qaoa.steps", 10**6, CLAMPED, 5),
    Case("number_input:qaoa.lr", 0.0, CLAMPED, 0.05),
    Case("number_input:qaoa.lr", NAN, CLAMPED, 0.05),
    Case("number_input:qaoa.shots", 0, CLAMPED, 100),
    Case("number_input:qaoa.shots", 10**13, CLAMPED, 100),
]

CHECKPOINT = (("radio:source", "TinyGPT checkpoint head"),)
CKPT_TEXT = "text_input:ckpt_text"
CHECKPOINT_CASES = [  # the attention page reading a trained TinyGPT (a tiny one, made here)
    Case(CKPT_TEXT, "", "type some text", "the cat", CHECKPOINT),
    Case(CKPT_TEXT, "☃ snowman", "not in the vocabulary", "the cat", CHECKPOINT),
    Case(CKPT_TEXT, "a", ACCEPTED, "the cat", CHECKPOINT),  # one token: one row, no slider
    Case(CKPT_TEXT, "the cat " * 1000, CLAMPED, "the cat", CHECKPOINT),
    Case("number_input:ckpt_layer", 99, "layer must lie in", 0, CHECKPOINT),
    Case("number_input:ckpt_layer", -1, CLAMPED, 0, CHECKPOINT),
    Case("number_input:ckpt_head", 99, "head must lie in", 0, CHECKPOINT),
]

UPLOAD = (("selectbox:gpt.corpus", "upload"),)
TEXT = ("good.txt", ("To be, or not to be: that is the question. " * 60).encode(), "text/plain")
# The training page's settings are a form, applied by pressing Start; so that a clamped value
# never starts a real training, those cases choose "upload" with no file, which Start refuses
# with this message, and then check the value the form kept.
UNFINISHED_SETTINGS = "choose a text file"
NO_FILE = UPLOAD
TRAINING = [
    # numbers the widgets refuse (bounds checked by Streamlit on the server)
    Case("number_input:gpt.steps", 0, CLAMPED, 5, NO_FILE),
    Case("number_input:gpt.steps", -1, CLAMPED, 5, NO_FILE),
    Case("number_input:gpt.steps", 10**9, CLAMPED, 5, NO_FILE),
    Case("number_input:gpt.lr", 0.0, CLAMPED, 1e-3, NO_FILE),
    Case("number_input:gpt.lr", NAN, CLAMPED, 1e-3, NO_FILE),
    Case("number_input:gpt.lr", INF, CLAMPED, 1e-3, NO_FILE),
    Case("number_input:gpt.t_start", -1.0, CLAMPED, 1.0, NO_FILE),
    Case("number_input:gpt.t_start", NAN, CLAMPED, 1.0, NO_FILE),
    Case("number_input:gpt.kl", -1.0, CLAMPED, 1.0, NO_FILE),
    Case("number_input:gpt.kl", INF, CLAMPED, 1.0, NO_FILE),
    Case("number_input:gpt.seed", -1, CLAMPED, 1, NO_FILE),
    Case("number_input:gpt.seed", 2**40, CLAMPED, 1, NO_FILE),
    Case("number_input:gpt.target", 0.0, CLAMPED, 2.0, NO_FILE),
    Case("number_input:gpt.threads", 1000, CLAMPED, 1, NO_FILE),
    Case("number_input:gpt.batch", -1, CLAMPED, 0, NO_FILE),
    Case("number_input:gpt.block", 10**5, CLAMPED, 0, NO_FILE),
    Case("number_input:gpt.prior", 0.0, CLAMPED, 0.1, NO_FILE),
    Case("number_input:gpt.checkpoint", 0, CLAMPED, 100, NO_FILE),
    Case("number_input:gpt.sample_chars", 0, CLAMPED, 50, NO_FILE),
    Case("number_input:gpt.pbit_joules", -1.0, CLAMPED, 0.0, NO_FILE),
    Case("number_input:gpt.pbit_joules", NAN, CLAMPED, 0.0, NO_FILE),
    Case("number_input:gpt.idle_watts", -5.0, CLAMPED, 10.0, NO_FILE),
    # legal on their own, refused together: the estimate's idle power above its maximum
    Case(
        "number_input:gpt.idle_watts", 500.0, "idle", 10.0, (("number_input:gpt.max_watts", 50.0),)
    ),
]
FILE = "file_uploader:gpt.upload"
T_SCHEDULE_EXP = (("selectbox:gpt.t_schedule", "exponential"),)
BAD_FILES = [  # (what was uploaded, the message)
    (("empty.txt", b"", "text/plain"), "is empty"),
    (("bytes.bin", b"\x00\x01\x02" * 400, "application/octet-stream"), "looks binary"),
    (("image.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image/png"), "looks binary"),
    (("latin.txt", "café ".encode("latin-1") * 400, "text/plain"), "not UTF-8"),
    (("utf16.txt", "hello world ".encode("utf-16") * 200, "text/plain"), "binary"),
    (("short.txt", b"too short", "text/plain"), "characters"),
    (("same.txt", b"a" * 5000, "text/plain"), "one distinct character"),
    (("big.txt", b"x y\n" * (21 * 2**18), "text/plain"), "at most 20 MB"),  # 21 MiB
]
TRAINING += [  # settings the widgets take but the training refuses
    Case("number_input:gpt.t_end", 0.0, "exponential", 0.1, T_SCHEDULE_EXP),
    Case("number_input:gpt.block", 4096, "GiB", 0, (("number_input:gpt.batch", 4096),)),
    Case("number_input:gpt.block", 4096, "GiB", 0, (("number_input:gpt.batch", 64),)),
    Case(FILE, None, "choose a text file", TEXT, UPLOAD),
    *(Case(FILE, upload, message, TEXT, UPLOAD) for upload, message in BAD_FILES),
]


# --------------------------------------------------------------------------- running them


def widget(app, spec: str):
    """The element named by "kind:key".

    A change inside a fragment (the live view's slider) reruns only that fragment, after which
    AppTest holds only its elements: the whole page is run again to find the others.
    """
    kind, key = spec.split(":", 1)
    if kind == "file_uploader":
        return app.get("file_uploader")[0]
    try:
        return getattr(app, kind)(key=key)
    except KeyError:
        app.run()
        assert_no_exception(app)
        return getattr(app, kind)(key=key)


def apply(app, spec: str, value: Any, *, press: str | None = None, run: bool = True) -> None:
    """Set one widget, then press a button (when asked) or rerun (when `run`).

    The training page's settings sit in a form: they reach the page only with its submit
    button, so those cases set everything with run=False and then press Start.
    """
    element = widget(app, spec)
    if not (spec.startswith("file_uploader") and value is None):
        element.set_value(value)
    if press is not None:
        app.button(key=press).click().run()
    elif run:
        app.run()
    assert_no_exception(app)


def page_renders(page: str, app) -> None:
    """The page's main output is there again and no error is shown."""
    assert_no_exception(app)
    assert not errors(app), errors(app)
    if page == "playground":
        if not app.title:  # a fragment-only rerun: the whole page, as a browser keeps it
            app.run()
            assert_no_exception(app)
            assert not errors(app), errors(app)
        assert app.title[0].value == "Ising / p-bit playground"
    elif page == "attention":
        assert any("Attention weights at T" in c.proto.spec for c in app.get("plotly_chart"))
    elif page == "qaoa":
        assert app.get("plotly_chart")
    else:
        assert app.title[0].value == "TinyGPT: baseline vs TSU"


def try_case(page: str, case: Case) -> None:
    app = new_app(page)
    form = page == "training"
    for spec, value in case.setup:
        apply(app, spec, value, run=not form)
    before = widget(app, case.widget).value
    apply(app, case.widget, case.value, press="gpt.start" if form else case.press)
    if case.expect == CLAMPED:
        assert all(UNFINISHED_SETTINGS in e for e in errors(app)), errors(app)
        kept = widget(app, case.widget).value
        if case.widget.startswith("text_"):
            assert len(kept) < len(case.value), "the text box did not cut the text"
        else:
            assert kept == before, f"{case.value!r} reached the page as {kept!r}"
    elif case.expect == ACCEPTED:
        assert not errors(app), errors(app)
    else:
        shown = messages(app)
        assert any(case.expect in text for text in shown), shown
    if form:  # a refused start leaves nothing running
        assert "gpt.launch" not in app.session_state
    apply(app, case.widget, case.good)  # on the training page: not submitted, only redrawn
    page_renders(page, app)


def ids(cases: list[Case]) -> list[str]:
    return [str(case) for case in cases]


pytestmark = pytest.mark.usefixtures("quick_pages")  # tests/conftest.py


@pytest.mark.parametrize("case", PLAYGROUND, ids=ids(PLAYGROUND))
def test_playground(case):
    try_case("playground", case)


@pytest.mark.parametrize("case", ATTENTION, ids=ids(ATTENTION))
def test_attention(case):
    try_case("attention", case)


@pytest.fixture
def checkpoints(monkeypatch, tmp_path):
    """A directory holding one small TinyGPT checkpoint, where the attention page looks."""
    import torch

    from thermolab.data import CharVocab
    from thermolab.models.tinygpt import TinyGPT, preset_config, save_checkpoint

    vocab = CharVocab.from_text("abcdefghijklmnopqrstuvwxyzT .,")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = TinyGPT(preset_config("cpu-quick", vocab.size))
    directory = tmp_path / "checkpoints"
    save_checkpoint(directory / "run" / "last.pt", model, vocab)
    monkeypatch.setenv("THERMOLAB_CHECKPOINTS", str(directory))
    return directory


@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=ids(CHECKPOINT_CASES))
def test_attention_checkpoint(checkpoints, case):
    try_case("attention", case)


class Payload:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["corrupt", "foreign pickle"])
def test_a_corrupt_or_foreign_checkpoint_is_refused_never_run(checkpoints, tmp_path, kind):
    import os
    import pickle
    import time

    newest = checkpoints / "other" / "last.pt"
    newest.parent.mkdir()
    marker = tmp_path / "executed"
    if kind == "corrupt":
        newest.write_bytes(b"PK\x03\x04 not a checkpoint" * 10)
    else:
        newest.write_bytes(pickle.dumps({"format": Payload(marker)}))
    later = time.time() + 10
    os.utime(newest, (later, later))  # the newest checkpoint: the one the page reads
    app = new_app("attention")
    apply(app, "radio:source", "TinyGPT checkpoint head")
    assert any("cannot be read as a checkpoint" in e for e in errors(app)), errors(app)
    assert not marker.exists(), "the checkpoint's pickle was executed"
    newest.unlink()
    apply(app, CKPT_TEXT, "the cat")
    page_renders("attention", app)


@pytest.mark.parametrize("case", QAOA, ids=ids(QAOA))
def test_qaoa(case):
    try_case("qaoa", case)


@pytest.mark.parametrize("case", TRAINING, ids=ids(TRAINING))
def test_training(case):
    try_case("training", case)


def test_a_lattice_too_large_for_the_machine_is_refused(monkeypatch):
    """With 64 MiB allowed per model (a small machine), L = 1024 is refused with the memory
    it would need; a smaller lattice then works."""
    from thermolab import problems

    monkeypatch.setattr(problems, "_memory_budget_bytes", lambda: 64 * 2**20)
    app = new_app("playground")
    apply(app, "select_slider:L", 1024)
    assert any("cannot be built" in e and "GiB" in e for e in errors(app)), errors(app)
    apply(app, "select_slider:L", 16)
    page_renders("playground", app)
    assert app.session_state["thermolab.problem"].n_spins == 256


def test_a_sweep_too_large_for_one_job_is_refused_before_it_is_submitted():
    app = new_app("playground")
    for spec, value in MEASURE:
        apply(app, spec, value)
    apply(app, "multiselect:m_L", [8, 16, 32, 64, 128])
    apply(app, "slider:m_points", 30)
    apply(app, "number_input:m_sw", 100_000)
    apply(app, "number_input:m_chains", 64)
    app.button(key="m_run").click().run()
    assert_no_exception(app)
    assert any("spin updates" in e for e in errors(app)), errors(app)
    assert "sweep_job" not in app.session_state


def test_after_a_bad_upload_a_good_one_trains():
    """The training page is not stuck after a refused file: the next good one trains."""
    app = new_app("training")
    apply(app, "selectbox:gpt.corpus", "upload", run=False)
    apply(app, "file_uploader:gpt.upload", ("bytes.bin", b"\x00\xff" * 999, "x"), press="gpt.start")
    assert any("looks binary" in e for e in errors(app)), errors(app)
    tiny = {"gpt.steps": 2, "gpt.eval": 2, "gpt.batch": 2, "gpt.block": 16, "gpt.eval_batches": 1}
    for key, value in tiny.items():
        apply(app, f"number_input:{key}", value, run=False)
    apply(app, "selectbox:gpt.meter", "none", run=False)
    apply(app, "file_uploader:gpt.upload", TEXT, press="gpt.start")
    launch = app.session_state["gpt.launch"]
    assert launch.job.wait(120) and launch.job.status == "done", launch.job.error
    app.run()
    page_renders("training", app)


def test_the_sweep_covers_every_page():
    """The record of inputs tried: at least this many per page (the report quotes them)."""
    counts = {
        "playground": len(PLAYGROUND) + 2,
        "attention": len(ATTENTION) + len(CHECKPOINT_CASES) + 2,
        "qaoa": len(QAOA),
        "training": len(TRAINING) + 1,
    }
    assert all(count >= 15 for count in counts.values()), counts
