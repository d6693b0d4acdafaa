"""ThermoLab home page: what this lab is, its pages, its honesty rule, and what runs here.

Served by app.py (`streamlit run app.py`). The pages live in pages/; this page only reads the
engine's backend registry and energy-meter probe (both cached once per server process).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from thermolab import __version__
from thermolab.energy import probe_meters
from ui.server import share_cores

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PageCard:
    title: str
    keywords: tuple[str, ...]  # a page file whose name contains one of these is this page
    summary: str


PAGES = (
    PageCard(
        "Ising / p-bit playground",
        ("ising", "pbit", "p_bit"),
        "Watch a lattice of p-bits sample the Ising model live: Gibbs or Metropolis, annealing "
        "and parallel tempering, checked against Onsager's exact solution and exact enumeration.",
    ),
    PageCard(
        "Attention-temperature explorer",
        ("attention",),
        "Turn the temperature of an attention row up and down and compare softmax with "
        "Boltzmann-sampled and Gumbel attention, row by row.",
    ),
    PageCard(
        "TinyGPT: baseline vs TSU",
        ("tinygpt", "gpt"),
        "Train a small GPT twice, live: a deterministic baseline and one with sampled "
        "(thermodynamic) layers, with loss curves and energy traces side by side.",
    ),
    PageCard(
        "QAOA",
        ("qaoa",),
        "Solve MaxCut on a small graph with the quantum approximate optimisation algorithm "
        "(PennyLane) and compare it with exact enumeration and classical samplers on the same "
        "problem.",
    ),
    PageCard(
        "Boltzmann machine",
        ("boltzmann", "rbm"),
        "Train a restricted Boltzmann machine by sampling (CD-k, persistent chains, parallel "
        "tempering) and watch its filters and fantasies form; then sample it under a "
        "temperature slider, in-paint images and classify by free energy.",
    ),
)

HONESTY = (
    ("measured", "a sensor read it (NVML on NVIDIA GPUs, RAPL on CPUs)."),
    ("exact", "computed in closed form or by enumerating every state."),
    ("estimated", "a model of a device where no sensor exists, with its assumptions shown."),
    (
        "projected",
        "counted p-bit operations × a cited per-operation energy on thermodynamic hardware.",
    ),
)


def page_file(card: PageCard) -> str | None:
    """The page's script under pages/, relative to this app, or None when not added yet."""
    pages = sorted((ROOT / "pages").glob("*.py"))
    for path in pages:
        name = path.stem.lower()
        if any(keyword in name for keyword in card.keywords):
            return f"pages/{path.name}"
    return None


@st.cache_resource(show_spinner="Probing backends…")
def backend_rows() -> list[dict[str, str]]:
    """One row per registered backend (imports each one once per server process)."""
    from thermolab.backends import available_backends

    return [
        {
            "backend": status.name,
            "status": "available" if status.available else "unavailable",
            "device": status.device,
            "version": status.version,
            "note": status.reason or "",
        }
        for status in available_backends()
    ]


@st.cache_resource(show_spinner="Probing energy meters…")
def meter_rows() -> list[dict[str, str]]:
    """One row per energy meter: NVML, RAPL, estimate."""
    return [
        {
            "meter": meter.name,
            "gives": meter.kind,
            "status": "available" if meter.available else "unavailable",
            "detail": meter.detail,
        }
        for meter in probe_meters()
    ]


def show_table(label: str, rows_function) -> None:
    try:
        rows = rows_function()
    except Exception as exc:  # the home page must never show a traceback
        st.error(f"Could not list {label}: {type(exc).__name__}: {exc}")
        return
    if rows:
        st.table(rows, hide_index=True)
    else:
        st.info(f"No {label} registered.")


st.set_page_config(page_title="ThermoLab", page_icon="🌡️", layout="wide")
share_cores()  # one BLAS thread per call: the sessions share the cores

st.title("ThermoLab")
st.caption(f"An interactive lab for thermodynamic computing in machine learning · v{__version__}")

st.markdown(
    "**Thermodynamic computing** uses noise instead of fighting it: probabilistic bits (p-bits) "
    "flip at random, and a thermodynamic sampling unit (TSU) couples them so that they visit "
    "each configuration s with the Boltzmann probability p(s) ∝ exp(−E(s)/T). "
    "Sampling from that distribution is the core step of energy-based models, of annealing for "
    "optimisation, and of stochastic layers in neural networks. "
    "ThermoLab simulates such samplers in software, so you can see what they do, check them "
    "against exact answers, and see what the energy claims rest on."
)

st.header("Pages")
# Two cards a row: four in a row left each link a quarter of the page, too narrow for its label
# ("Open Ising / p-bit playgrou…" at 1400 px).
CARDS_PER_ROW = 2
cards = [
    (column, card)
    for start in range(0, len(PAGES), CARDS_PER_ROW)
    for column, card in zip(
        st.columns(CARDS_PER_ROW), PAGES[start : start + CARDS_PER_ROW], strict=False
    )
]
for column, card in cards:
    with column, st.container(border=True):
        st.markdown(f"#### {card.title}")
        st.write(card.summary)
        target = page_file(card)
        if target is None:
            st.caption("Not added yet.")
        else:
            st.page_link(target, label=f"Open {card.title}", icon="➡️")

st.header("The honesty rule")
st.markdown(
    "Every number ThermoLab shows is one of four kinds, and says which:\n\n"
    + "\n".join(f"- **{kind}**: {meaning}" for kind, meaning in HONESTY)
    + "\n\nThey are never added together, and nothing simulated is presented as hardware."
)

left, right = st.columns(2)
with left:
    st.header("Backends")
    st.caption("Samplers registered here (built-in and plug-ins), and whether they can run.")
    show_table("backends", backend_rows)
with right:
    st.header("Energy meters")
    st.caption("What can measure energy on this server; an estimate is never a measurement.")
    show_table("energy meters", meter_rows)
