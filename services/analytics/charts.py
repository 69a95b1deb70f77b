"""A small SVG bar-chart writer: grouped bars, value labels, a legend; no plotting library needed."""
from __future__ import annotations

from xml.sax.saxutils import escape

from services.analytics.queries import Answer

COLOURS = ("#1f6fb2", "#e0812d", "#3a9a4a", "#b23a48")
MAX_BARS = 40


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], *, width: int = 900) -> str:
    """Grouped vertical bars, one group per label and one colour per series."""
    labels = labels[:MAX_BARS]
    series = {name: [float(v or 0) for v in values[:MAX_BARS]] for name, values in series.items()}
    top = max([v for values in series.values() for v in values] + [0]) or 1.0
    left, right, head, foot, height = 60, 20, 50, 110, 420
    plot_w, plot_h = width - left - right, height - head - foot
    group_w = plot_w / max(1, len(labels))
    bar_w = max(2.0, group_w * 0.8 / max(1, len(series)))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-family="Arial, sans-serif" font-size="11">',
           f'<title>{escape(title)}</title>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{left}" y1="{head + plot_h}" x2="{width - right}" y2="{head + plot_h}" stroke="#333"/>']
    for step in range(5):
        value = top * step / 4
        y = head + plot_h - plot_h * step / 4
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, (name, values) in enumerate(series.items()):
            v = values[i] if i < len(values) else 0.0
            h = plot_h * v / top
            x, y = x0 + j * bar_w, head + plot_h - h
            out.append(f'<rect class="bar" data-series="{escape(name)}" data-label="{escape(label)}" data-value="{_fmt(v)}" '
                       f'x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}"/>')
        cx = left + i * group_w + group_w / 2
        out.append(f'<text x="{cx:.1f}" y="{head + plot_h + 14}" text-anchor="end" '
                   f'transform="rotate(-35 {cx:.1f} {head + plot_h + 14})">{escape(label[:28])}</text>')
    for j, name in enumerate(series):
        x = left + j * 160
        out.append(f'<rect x="{x}" y="32" width="10" height="10" fill="{COLOURS[j % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 14}" y="41">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def answer_chart(answer: Answer) -> str:
    """The chart an Answer declares (label column, value columns), headed by the answer's title."""
    if answer.chart is None:
        return bar_chart(answer.title, [], {})
    label_key, value_keys = answer.chart
    headers = dict(answer.columns)
    labels = [str(r.get(label_key)) for r in answer.rows]
    return bar_chart(answer.title, labels, {headers.get(k, k): [r.get(k) or 0 for r in answer.rows] for k in value_keys})
