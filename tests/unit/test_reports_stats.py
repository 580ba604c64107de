"""The arithmetic and the charts behind the dashboard, without a database."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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


def test_weeks_start_on_monday_in_the_county_and_buckets_are_half_open():
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2027, 3, 17, 4, tzinfo=UTC)  # Wednesday 12:00 in the county
    weeks = Weeks(now=now, count=12, tz=shanghai)
    assert weeks.points[0] == now
    assert weeks.points[1] == datetime(2027, 3, 14, 16, tzinfo=UTC)  # Monday 15 March 00:00 local
    assert weeks.points[12] == weeks.points[1] - timedelta(days=77)
    assert weeks.bucket_of(now) == 0
    assert weeks.bucket_of(weeks.points[1]) == 1  # a week start closes the week before it
    assert weeks.bucket_of(weeks.points[1] + timedelta(seconds=1)) == 0
    assert weeks.bucket_of(weeks.points[12]) is None
    assert weeks.bucket_of(now + timedelta(seconds=1)) is None
    assert weeks.reference(28) == 5  # 30.5 days back; point 4 is only 23.5 days back
    late_sunday = Weeks(now=datetime(2027, 3, 21, 15, 59, tzinfo=UTC), tz=shanghai)  # Sunday 23:59 local
    assert late_sunday.points[1] == weeks.points[1]
    assert Weeks(now=datetime(2027, 3, 21, 16, 0, tzinfo=UTC), tz=shanghai).points[1] == datetime(
        2027, 3, 21, 16, tzinfo=UTC)  # Monday 00:00 local starts a new week


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
