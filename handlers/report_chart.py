"""The funnel as a PNG for Slack: one horizontal bar per step, top to bottom in funnel order.

matplotlib is imported inside `funnel_chart_png`, never at module import: it
costs tens of megabytes, and most processes never draw a chart. The figure is
drawn with the Agg canvas directly (no pyplot), so nothing global is touched
and the function may run on a worker thread (`asyncio.to_thread`).

Every text is drawn with `parse_math=False`: a title or step name holding `$`
is shown as typed instead of being read as mathtext (which would garble it or
raise). Slack previews images at roughly 360–500 pixels wide, so the figure is
drawn large (960 px wide) with big type; it stays legible when scaled down.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence

#: Pixel density of the PNG; the figure's inches times this are its pixels.
DPI = 120
#: 8 inches at DPI: 960 pixels wide whatever the number of steps.
WIDTH_INCHES = 8.0
#: The height is a header plus this much per step, so bars keep their thickness.
HEADER_INCHES = 1.0
STEP_INCHES = 0.62
MAX_TITLE = 70
MAX_STEP_NAME = 28

_BAR = "#2f6fb3"
_INK = "#1d1d1d"
_SPACES = re.compile(r"\s+")


def _one_line(text: str, limit: int) -> str:
    """Whitespace (newlines too) collapsed to single spaces, cut to `limit` with an ellipsis."""
    flat = _SPACES.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _share(count: int, first: int) -> str:
    """`count` as a share of the first step: whole percent, one decimal under 10 %."""
    if first <= 0:
        return "–"
    percent = 100.0 * count / first
    if percent == 0 or percent >= 10:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%"


def bar_label(count: int, first: int) -> str:
    """What is written at the end of a bar, e.g. `1,234 (41%)`."""
    return f"{count:,} ({_share(count, first)})"


def funnel_chart_png(title: str, steps: Sequence[tuple[str, int]]) -> bytes:
    """A PNG of the funnel `steps` (name, count), each bar labelled with its count and its
    share of the first step. All-zero counts draw empty bars labelled `0 (–)`.

    Raises ValueError for no steps or a negative count (a caller's mistake, not data).
    """
    if not steps:
        raise ValueError("a funnel chart needs at least one step")
    if any(count < 0 for _, count in steps):
        raise ValueError("funnel counts cannot be negative")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [_one_line(name, MAX_STEP_NAME) for name, _ in steps]
    counts = [int(count) for _, count in steps]
    first = counts[0]
    top = max(counts)
    height = HEADER_INCHES + STEP_INCHES * len(steps)

    fig = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = list(range(len(steps)))
    ax.barh(positions, counts, height=0.62, color=_BAR)
    ax.invert_yaxis()  # the first step on top
    ax.set_yticks(positions, labels=names, fontsize=13, color=_INK)
    for tick in ax.get_yticklabels():
        tick.set_parse_math(False)
    # Room after the longest bar for its label when it sits outside.
    ax.set_xlim(0, max(top, 1) * 1.32)
    ax.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0, pad=8)

    for y, count in zip(positions, counts, strict=True):
        text = bar_label(count, first)
        inside = top > 0 and count >= 0.62 * top
        ax.text(
            count - top * 0.015 if inside else count + max(top, 1) * 0.015,
            y,
            text,
            va="center",
            ha="right" if inside else "left",
            fontsize=13,
            fontweight="bold",
            color="white" if inside else _INK,
            parse_math=False,
        )
    fig.suptitle(_one_line(title, MAX_TITLE), fontsize=15, color=_INK, parse_math=False)

    out = io.BytesIO()
    with warnings.catch_warnings():
        # A character the bundled font lacks (an emoji in a title) is drawn as a box;
        # that is not worth a warning in the logs on every chart.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
