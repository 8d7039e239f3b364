"""The funnel chart (handlers/report_chart.py): a real PNG, sized for Slack, safe with any text."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image

from handlers.report_chart import DPI, bar_label, funnel_chart_png

STEPS = [("Captured", 1234), ("Claimed", 800), ("Contacted", 500), ("Qualified", 90), ("Won", 7)]


def image(png: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(png))
    picture.load()  # decodes every chunk: a truncated or corrupt file raises here
    return picture


def ink(picture: Image.Image) -> int:
    """How many pixels are not white."""
    return sum(picture.convert("L").histogram()[:250])


def test_a_png_of_the_expected_size() -> None:
    png = funnel_chart_png("Funnel — last 30 days", STEPS)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    picture = image(png)
    assert picture.format == "PNG"
    assert picture.size == (960, round((1.0 + 0.62 * len(STEPS)) * DPI))


def test_the_height_grows_with_the_steps_and_the_width_does_not() -> None:
    one = image(funnel_chart_png("t", STEPS[:1])).size
    five = image(funnel_chart_png("t", STEPS)).size
    assert one[0] == five[0] == 960
    assert five[1] > one[1] >= 160  # a single bar is still a readable picture


def test_all_zero_counts_still_draw() -> None:
    picture = image(funnel_chart_png("Nothing yet", [("Captured", 0), ("Won", 0)]))
    assert picture.size[0] == 960 and ink(picture) > 500  # names, labels, title


def test_bars_are_drawn_in_proportion() -> None:
    """The top bar's blue run is longer than the second's, by about their ratio."""
    picture = image(funnel_chart_png("t", [("A", 100), ("B", 50)])).convert("RGB")
    width, height = picture.size

    def blue_run(y: int) -> int:
        pixels = [picture.getpixel((x, y)) for x in range(width)]
        return sum(1 for r, g, b in pixels if b > 150 and r < 90)  # type: ignore[misc]

    rows = [blue_run(y) for y in range(height)]
    top_half, bottom_half = rows[: height // 2], rows[height // 2 :]
    first, second = max(top_half), max(bottom_half)
    assert second > 0 and 1.8 < first / second < 2.2


@pytest.mark.parametrize(
    ("count", "first", "label"),
    [
        (1234, 1234, "1,234 (100%)"),
        (800, 1234, "800 (65%)"),
        (90, 1234, "90 (7.3%)"),
        (7, 1234, "7 (0.6%)"),
        (0, 1234, "0 (0%)"),
        (0, 0, "0 (–)"),
        (3, 0, "3 (–)"),
    ],
)
def test_bar_labels(count: int, first: int, label: str) -> None:
    assert bar_label(count, first) == label


@pytest.mark.parametrize(
    "title",
    [
        "Costs $5 and $10",  # mathtext would read the dollars as a formula
        r"$\notacommand$ and $x^$",  # as mathtext: ParseFatalException when drawn
        "<script>alert(1)</script> & <!channel>",
        "Line one\nline two\ttab",
        "Ünïcødé 山田 🚀",
        "x" * 500,
        "",
    ],
)
def test_any_title_or_step_name_is_drawn_as_plain_text(title: str) -> None:
    png = funnel_chart_png(title, [(title or "step", 3), ("$won$", 1)])
    assert image(png).size[0] == 960


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        funnel_chart_png("t", [])
    with pytest.raises(ValueError, match="negative"):
        funnel_chart_png("t", [("A", 3), ("B", -1)])


def test_importing_the_module_does_not_import_matplotlib() -> None:
    """Idle memory: matplotlib loads on the first chart, not when the bot starts."""
    code = (
        "import sys, handlers.report_chart, bot.app\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at start'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
