"""The admin page's charts, built with Altair (Streamlit's own chart library) from the statistics.

Pure functions of ``FeedbackStats``: each returns a chart the page shows with
``st.altair_chart``, so the encodings (one colour per rating, separate axes for counts and
shares, hour or day buckets) are tested without a browser.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from feedback.stats import FeedbackStats

# A diverging palette (ColorBrewer RdYlGn, colour-blind safe in its 5-class form): red is bad.
RATING_COLOURS = ("#d7191c", "#fdae61", "#b8b8b8", "#a6d96a", "#1a9641")


def rating_label(rating: int, label: str) -> str:
    return f"{rating} · {label}"


def rating_chart(stats: FeedbackStats) -> alt.Chart:
    """Answers per rating, one colour per rating, Likert labels written horizontally."""
    labels = [rating_label(r.rating, r.label) for r in stats.ratings]
    data = pd.DataFrame({"rating": labels, "answers": [r.count for r in stats.ratings]})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "rating:N",
                sort=labels,
                title=None,
                axis=alt.Axis(labelAngle=0, labelOverlap=False, labelExpr="split(datum.label, ' · ')"),
            ),
            y=alt.Y("answers:Q", title="answers", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("rating:N", scale=alt.Scale(domain=labels, range=list(RATING_COLOURS)), legend=None),
            tooltip=["rating", "answers"],  # the label in two lines: the number, then the words
        )
        .properties(height=260)
    )


def _time_axis(stats: FeedbackStats) -> alt.X:
    hourly = stats.trend_unit == "hour"
    return alt.X(
        "start:T",
        title="hour (UTC)" if hourly else "day (UTC)",
        axis=alt.Axis(format="%d %b %H:%M" if hourly else "%d %b %Y", labelAngle=0, labelOverlap=True),
    )


def volume_chart(stats: FeedbackStats) -> alt.Chart:
    """Answers per hour or day, rated and unrated stacked: counts on their own axis."""
    rows = []
    for p in stats.trend:
        rows.append({"start": p.start, "answers": p.rated, "kind": "rated"})
        rows.append({"start": p.start, "answers": p.count - p.rated, "kind": "not rated"})
    data = pd.DataFrame(rows, columns=["start", "answers", "kind"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=_time_axis(stats),
            y=alt.Y("sum(answers):Q", title=f"answers per {stats.trend_unit}", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["rated", "not rated"], range=["#4c78a8", "#c6dbef"]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            order=alt.Order("kind:N", sort="descending"),
            tooltip=[alt.Tooltip("start:T", title="from"), "kind", "answers"],
        )
        .properties(height=260)
    )


def negative_share_chart(stats: FeedbackStats) -> alt.Chart:
    """The share of rated answers rated 1–2, 0–100 % on its own axis; buckets with no rating are gaps."""
    data = pd.DataFrame(
        [
            {"start": p.start, "share": p.negative_share, "negative": p.negative, "rated": p.rated}
            for p in stats.trend
            if p.rated
        ],
        columns=["start", "share", "negative", "rated"],
    )
    return (
        alt.Chart(data)
        .mark_line(point=True, color="#d7191c")
        .encode(
            x=_time_axis(stats),
            y=alt.Y(
                "share:Q",
                title="negative share (ratings 1–2)",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            tooltip=[alt.Tooltip("start:T", title="from"), alt.Tooltip("share:Q", format=".0%"), "negative", "rated"],
        )
        .properties(height=220)
    )
