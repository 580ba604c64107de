"""The arithmetic and the charts behind the dashboard, without a database."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from pharmacy.reports import charts
from pharmacy.reports.stats import Weeks, median, percentile, ratio


def test_percentiles_interpolate_between_ranks_like_percentile_cont():
    values = [10, 1, 4, 2]  # sorted: 1 2 4 10
    assert median(values) == 3.0
    assert percentile(values, 0.9) == pytest.approx(8.2)  # rank 2.7: 4 + 0.7 × (10 − 4)
    assert percentile(values, 0) == 1 and percentile(values, 1) == 10
    assert percentile([7], 0.9) == 7
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile(values, 1.5)


def test_ratio_refuses_to_divide_by_nothing():
    assert ratio(1, 4) == 0.25
    assert ratio(0, 0) is None and ratio(3, None) is None


def test_weeks_count_back_from_now_and_buckets_are_half_open():
    now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    weeks = Weeks(now=now, count=12)
    assert weeks.points[0] == now and weeks.points[12] == now - timedelta(days=84)
    assert weeks.bucket_of(now) == 0
    assert weeks.bucket_of(now - timedelta(days=7)) == 1  # the point itself closes bucket 1
    assert weeks.bucket_of(now - timedelta(days=7) + timedelta(seconds=1)) == 0
    assert weeks.bucket_of(now - timedelta(days=84)) is None
    assert weeks.bucket_of(now - timedelta(days=83, hours=23)) == 11
    assert weeks.bucket_of(now + timedelta(seconds=1)) is None


def _svg(markup) -> ET.Element:
    return ET.fromstring(str(markup).replace('xmlns="http://www.w3.org/2000/svg"', ""))


def test_sparkline_is_plain_svg_with_gaps_and_a_readable_title():
    svg = _svg(charts.sparkline([0.5, None, 0.7, 0.9], labels=["a", "b", "c", "d"], fmt=lambda v: f"{v:.0%}",
                                lower=0, upper=1, tone="good", caption="可及率"))
    assert svg.get("class") == "spark spark-good" and svg.get("aria-label") == "可及率"
    assert "style" not in str(ET.tostring(svg))
    assert len(svg.findall("polyline")) == 2  # the gap splits the line
    assert svg.find("title").text.splitlines() == ["a: 50%", "b: —", "c: 70%", "d: 90%"]
    ys = [float(p.split(",")[1]) for p in svg.findall("polyline")[1].get("points").split()]
    assert ys[0] > ys[1]  # 0.9 is drawn higher than 0.7: SVG y grows downwards


def test_sparkline_escapes_labels_and_handles_flat_and_empty_series():
    svg = _svg(charts.sparkline([3, 3], labels=["<a>", "b&c"], caption='"x"'))
    assert svg.find("title").text.startswith("<a>: 3")
    empty = _svg(charts.sparkline([None, None], labels=["a", "b"]))
    assert empty.findall("polyline") == []
    with pytest.raises(ValueError):
        charts.sparkline([1], labels=[])


def test_columns_mark_the_current_week():
    svg = _svg(charts.columns([1, 0, 4], labels=["a", "b", "c"]))
    rects = svg.findall("rect")
    assert len(rects) == 2 and rects[-1].get("class") == "col col-last"
    assert float(rects[-1].get("height")) == pytest.approx(4 * float(rects[0].get("height")))


def test_meter_is_clamped():
    assert 'width="100.0"' in str(charts.meter(1.7))
    assert 'class="meter-fill" width="0.0"' in str(charts.meter(None))
