"""Small server-rendered SVG charts (no script, no inline style: colours come from reports.css classes)."""

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape


def _scale(values: Sequence[float | None], lower: float | None, upper: float | None,
           zero_based: bool = True) -> tuple[float, float]:
    """The value range drawn: from zero (counts, money) or around the values (shares that move a little),
    never beyond `lower`..`upper`."""
    present = [v for v in values if v is not None] or [0.0]
    if zero_based:
        low, high = min(present + [0.0]), max(present)
    else:
        spread = max(max(present) - min(present), 0.02)
        low, high = min(present) - spread * 0.5, max(present) + spread * 0.5
    if lower is not None:
        low = max(low, lower) if not zero_based else lower
    if upper is not None:
        high = min(high, upper)
    if high - low < 1e-9:
        high = low + 1
    return low, high


def _title(labels: Sequence[str], values: Sequence[float | None], fmt: Callable[[float], str]) -> str:
    return "\n".join(f"{label}: {'—' if v is None else fmt(v)}" for label, v in zip(labels, values, strict=True))


def sparkline(values: Sequence[float | None], *, labels: Sequence[str], fmt: Callable[[float], str] = str,
              lower: float | None = None, upper: float | None = None, width: int = 240, height: int = 56,
              tone: str = "neutral", caption: str = "", zero_based: bool = True) -> Markup:
    """A line with a shaded area under it, oldest value first; None leaves a gap. `tone` names the colour
    class (good, bad, neutral); `caption` is what a screen reader says."""
    if len(values) != len(labels):
        raise ValueError("one label per value")
    pad = 3
    low, high = _scale(values, lower, upper, zero_based)
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad + i * step, pad + (height - 2 * pad) * (1 - (v - low) / (high - low))

    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(xy(i, v))
    runs = [r for r in runs if r]
    base = height - pad
    parts = []
    for run in runs:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
        area = f"M{run[0][0]:.1f},{base} L" + " L".join(f"{x:.1f},{y:.1f}" for x, y in run) + \
            f" L{run[-1][0]:.1f},{base} Z"
        parts.append(f'<path class="spark-area" d="{area}"/>')
        parts.append(f'<polyline class="spark-line" points="{line}"/>')
    if runs:
        x, y = runs[-1][-1]
        parts.append(f'<circle class="spark-dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>')
    title = escape(_title(labels, values, fmt))
    return Markup(
        f'<svg class="spark spark-{escape(tone)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(caption)}"><title>{title}</title>'
        + "".join(parts) + "</svg>")


def columns(values: Sequence[float | None], *, labels: Sequence[str], fmt: Callable[[float], str] = str,
            width: int = 240, height: int = 48, tone: str = "neutral", caption: str = "",
            highlight_last: bool = True) -> Markup:
    """Columns from a zero base line, oldest first; the last (current, possibly partial) column is marked."""
    if len(values) != len(labels):
        raise ValueError("one label per value")
    pad = 2
    _low, high = _scale(values, 0.0, None)
    slot = (width - 2 * pad) / max(len(values), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [f'<line class="col-base" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>']
    for i, v in enumerate(values):
        if not v:
            continue
        h = (height - 2 * pad) * v / high
        x = pad + i * slot + (slot - bar) / 2
        css = "col col-last" if highlight_last and i == len(values) - 1 else "col"
        parts.append(f'<rect class="{css}" x="{x:.1f}" y="{height - pad - h:.1f}" width="{bar:.1f}" '
                     f'height="{h:.1f}"/>')
    title = escape(_title(labels, values, fmt))
    return Markup(
        f'<svg class="spark spark-{escape(tone)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(caption)}"><title>{title}</title>'
        + "".join(parts) + "</svg>")


def meter(share: float | None, *, width: int = 100, height: int = 8, tone: str = "neutral") -> Markup:
    """A horizontal bar filled to `share` (0..1)."""
    filled = 0 if share is None else max(0.0, min(1.0, share)) * width
    return Markup(
        f'<svg class="meter meter-{escape(tone)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-hidden="true" preserveAspectRatio="none"><rect class="meter-track" width="{width}" '
        f'height="{height}" rx="2"/><rect class="meter-fill" width="{filled:.1f}" height="{height}" rx="2"/></svg>')
