"""Review views: highlighted text is escaped and marks exactly the flagged characters."""

import pytest

from thermolab.viz.review import highlighted_html, risk_coverage_figure


def test_flagged_characters_are_marked_and_everything_is_escaped():
    chars = ["<", "b", ">", "\n", "&"]
    information = [0.2, 0.0, 0.05, 0.3, 0.1]
    text = highlighted_html(chars, information, 0.1)
    assert text.startswith("<pre") and text.endswith("</pre>")
    assert '<mark title="MI 0.200 nats">&lt;</mark>' in text
    assert "b&gt;" in text and "<b>" not in text
    assert '<mark title="MI 0.300 nats">↵\n</mark>' in text
    assert '<mark title="MI 0.100 nats">&amp;</mark>' in text  # at the threshold: flagged
    assert text.count("<mark") == 3
    with pytest.raises(ValueError):
        highlighted_html(["a"], [], 0.1)


def test_risk_coverage_figure_has_both_rankings_and_the_perfect_line_per_run():
    curve = {"coverage": [0.5, 1.0], "risk": [0.1, 0.3]}
    review = {
        "curves": {"entropy": curve, "mutual_information": curve},
        "aurc": {"entropy": 0.2, "mutual_information": 0.25},
        "perfect_aurc": 0.05,
    }
    figure = risk_coverage_figure({"baseline": review, "tsu": None})
    names = [trace.name for trace in figure.data]
    assert names == [
        "baseline · predictive entropy (AURC 0.200)",
        "baseline · mutual information (AURC 0.250)",
        "baseline · perfect ranking's AURC 0.050",
    ]
    empty = risk_coverage_figure({"tsu": None})
    assert not empty.data and empty.layout.annotations[0].text == "no run with predictive samples"
