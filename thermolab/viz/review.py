"""Views of a run's review (`thermolab.training.review`): the risk–coverage curve, and text
with the tokens flagged for review highlighted.

Inputs are a run summary's "review" dict ({"curves", "aurc", "perfect_aurc", "threshold",
"generated", "excerpt"}, keyed by run label in the figure). Outputs: a plotly figure, and an
HTML fragment whose every character is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from thermolab.viz.training import MARGIN, _colour, _empty

__all__ = ["SCORE_LABELS", "highlighted_html", "risk_coverage_figure"]

SCORE_LABELS = {"entropy": "predictive entropy", "mutual_information": "mutual information"}
SCORE_DASH = {"entropy": "solid", "mutual_information": "dash"}
_VISIBLE = {"\n": "↵\n", "\t": "⇥"}


def risk_coverage_figure(reviews: Mapping[str, Mapping[str, Any] | None]) -> go.Figure:
    """Error rate of the kept tokens vs the fraction kept, per run and ranking score.

    Solid: tokens ranked by predictive entropy; dashed: by mutual information. Each trace's
    name gives its AURC; the dotted line of each run is the best any ranking could do.
    """
    figure = go.Figure()
    for index, (run, review) in enumerate(reviews.items()):
        if not review:
            continue
        colour = _colour(run, index)
        for score, curve in review["curves"].items():
            figure.add_trace(
                go.Scatter(
                    x=curve["coverage"],
                    y=curve["risk"],
                    mode="lines",
                    name=f"{run} · {SCORE_LABELS.get(score, score)} "
                    f"(AURC {review['aurc'][score]:.3f})",
                    line={"color": colour, "dash": SCORE_DASH.get(score, "dot")},
                )
            )
        figure.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[review["perfect_aurc"]] * 2,
                mode="lines",
                name=f"{run} · perfect ranking's AURC {review['perfect_aurc']:.3f}",
                line={"color": colour, "dash": "dot", "width": 1},
            )
        )
    figure.update_layout(
        title="Risk–coverage: keep the most confident tokens",
        height=380,
        margin=MARGIN,
        xaxis={"title": "coverage (fraction of tokens kept)", "range": [0, 1]},
        yaxis={"title": "risk (error rate of kept tokens)", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25},
    )
    if not figure.data:
        return _empty(figure, "no run with predictive samples")
    return figure


def highlighted_html(
    chars: Sequence[str], mutual_information: Sequence[float], threshold: float
) -> str:
    """Characters as escaped HTML in a <pre>, those with MI ≥ threshold in <mark> with their MI.

    Newlines show as ↵ then break the line; a tab as ⇥.
    """
    if len(chars) != len(mutual_information):
        raise ValueError("one mutual information per character is needed")
    parts = []
    for char, information in zip(chars, mutual_information, strict=True):
        shown = html.escape(_VISIBLE.get(char, char))
        if information >= threshold:
            shown = f'<mark title="MI {information:.3f} nats">{shown}</mark>'
        parts.append(shown)
    return '<pre style="white-space: pre-wrap">' + "".join(parts) + "</pre>"
