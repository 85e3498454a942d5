"""Inline SVG charts for the browser app and the HTML suite report: no JavaScript, no URLs, every text escaped.

Text and grid lines use `currentColor`, so a chart follows the page's text colour on light and dark
backgrounds; series use the Okabe-Ito palette and differ by dash and marker shape as well as colour.
"""

from __future__ import annotations

import math
import statistics
from html import escape

from simulator.trajectory import TrajectoryPoint

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
GRID = 'stroke="currentColor" stroke-opacity="0.2"'
MUTED = 'fill="currentColor" fill-opacity="0.7"'
KEY_COLOUR = "#CC79A7"
BOLD = ' font-weight="600"'
# (name, colour, dash, marker shape) for the three relationship lines
STATE_LINES = (("trust", PALETTE[0], "", "circle"), ("openness", PALETTE[1], "6 3", "square"),
               ("engagement", PALETTE[2], "2 3", "diamond"))
MIN_MOVE = 4.0  # trust changes smaller than this are not annotated
MAX_NOTES = 4


def _e(value: object) -> str:
    """Escape any value for SVG text or a quoted attribute."""
    return escape(str(value), quote=True)


def _open(kind: str, width: float, height: float, label: str, title: str) -> str:
    return (f'<svg xmlns="{SVG_NS}" class="rapport-chart {kind}" role="img" viewBox="0 0 {width:g} {height:g}" '
            f'width="{width:g}" height="{height:g}" style="max-width:100%;height:auto" font-family="{FONT}" '
            f'font-size="11" aria-label="{_e(label)}"><title>{_e(title)}</title>')


def _empty(kind: str, width: float, height: float, message: str) -> str:
    return (_open(kind, width, height, message, message) + f'<text x="{width / 2:g}" y="{height / 2:g}" '
            f'text-anchor="middle" {MUTED}>{_e(message)}</text></svg>')


def criterion_label(key: str, labels: dict[str, str] | None = None) -> str:
    """A criterion's display name: from `labels`, else its id in words ('active_listening' -> 'Active listening')."""
    return (labels or {}).get(key) or key.replace("_", " ").capitalize()


def _marker(shape: str, x: float, y: float, colour: str, size: float = 3.5, cls: str = "marker") -> str:
    if shape == "square":
        return (f'<rect class="{cls}" x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:g}" '
                f'height="{2 * size:g}" fill="{colour}"/>')
    if shape == "diamond":
        s = size * 1.3
        return (f'<path class="{cls}" d="M{x:.1f} {y - s:.1f}L{x + s:.1f} {y:.1f}L{x:.1f} {y + s:.1f}'
                f'L{x - s:.1f} {y:.1f}Z" fill="{colour}"/>')
    return f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{size:g}" fill="{colour}"/>'


def _swatch(x: float, y: float, colour: str, dash: str, label: str, shape: str | None = None, width: float = 2) -> str:
    """A legend entry: a short line in the series' style (and its marker), then the label."""
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    mark = _marker(shape, x + 9, y, colour, 3, "swatch") if shape else ""
    return (f'<line x1="{x:g}" y1="{y:g}" x2="{x + 18:g}" y2="{y:g}" stroke="{colour}" stroke-width="{width:g}"'
            f'{dashes}/>{mark}<text x="{x + 23:g}" y="{y + 4:g}" fill="currentColor">{_e(label)}</text>')


def _text_width(text: str) -> float:
    return 6.2 * len(text)  # rough width at 11px, enough to lay out legends


def _key_icon(x: float, y: float, tooltip: str, cls: str = "unlock") -> str:
    """A small key: the mark for a turn where the learner earned a hidden item."""
    return (f'<g class="{cls}" transform="translate({x:.1f} {y:.1f})" stroke="{KEY_COLOUR}" stroke-width="1.6" '
            f'fill="none"><title>{_e(tooltip)}</title><circle cx="-4" cy="0" r="3"/><path d="M-1 0H6M3 0V3M5 0V2.5"/>'
            f'<rect x="-8" y="-5" width="16" height="10" fill="currentColor" fill-opacity="0" stroke="none"/></g>')


def key_icon_svg(tooltip: str = "earned") -> str:
    """The same key as a standalone inline icon (for lists): drawn, so it shows without an emoji font."""
    return (f'<svg class="key-icon" width="18" height="12" viewBox="-9 -6 18 12" role="img" aria-label="{_e(tooltip)}" '
            f'style="display:inline-block;vertical-align:-1px">{_key_icon(0, 0, tooltip)}</svg>')


# -- radar ------------------------------------------------------------------------------------------------------


def _wrap(label: str, limit: int = 13) -> list[str]:
    """Split a long axis label into two lines at the space nearest its middle."""
    if len(label) <= limit or " " not in label:
        return [label]
    spaces = [i for i, c in enumerate(label) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return [label[:cut], label[cut + 1:]]


def _finite(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _axis_label(cx: float, cy: float, r: float, angle: float, name: str, value: float | None) -> str:
    """The criterion's name (on up to two lines) and its score in bold, just outside the end of its axis."""
    lx, ly = cx + r * math.cos(angle), cy + r * math.sin(angle)
    anchor = "middle" if abs(lx - cx) < 1 else ("start" if lx > cx else "end")
    lines = _wrap(name) + ([f"{value:.1f}"] if value is not None else [])
    if math.sin(angle) < -0.3:  # above the chart: the block ends at the axis
        top = ly - (len(lines) - 1) * 12
    elif math.sin(angle) > 0.3:  # below: it starts there
        top = ly + 8
    else:  # beside: centred on it
        top = ly - (len(lines) - 1) * 6 + 4
    bold = len(lines) - 1 if value is not None else -1
    spans = "".join(f'<tspan x="{lx:.1f}" y="{top + 12 * n:.1f}"{BOLD if n == bold else ""}>{_e(line)}</tspan>'
                    for n, line in enumerate(lines))
    return f'<text text-anchor="{anchor}" fill="currentColor">{spans}</text>'


def radar_chart(scores: dict[str, float], *, labels: dict[str, str] | None = None,
                compare: dict[str, float] | None = None, size: int = 360,
                names: tuple[str, str] = ("Scores", "Compared")) -> str:
    """Criterion scores (1-5) on a spider chart, one axis per criterion in order; `compare` drawn dashed."""
    keys = list(scores)
    if not keys:
        return _empty("radar", round(size * 1.3), size / 2, "No scores yet")
    legend_h = 26 if compare else 0
    width = round(size * 1.3)  # wider than tall: side labels like "Positive reinforcement" need the room
    cx, cy = width / 2, size / 2
    radius = size / 2 - 54  # room above and below for two-line labels and the score
    angles = [-math.pi / 2 + 2 * math.pi * i / len(keys) for i in range(len(keys))]

    def at(i: int, value: float) -> tuple[float, float]:
        r = radius * max(0.0, min(value, 5.0)) / 5
        return cx + r * math.cos(angles[i]), cy + r * math.sin(angles[i])

    names_of = [criterion_label(k, labels) for k in keys]
    summary = ", ".join(f"{n} {scores[k]:.1f}" for n, k in zip(names_of, keys) if _finite(scores[k]) is not None)
    parts = [_open("radar", width, size + legend_h, summary, "Criterion scores, 1 to 5")]
    between = angles[0] + math.pi / len(keys)  # ring numbers sit between the first two axes, clear of labels
    for ring in range(1, 6):  # rings as paths, so the only polygons are the series
        if len(keys) >= 3:
            corners = [at(i, ring) for i in range(len(keys))]
            d = "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in corners) + "Z"
            parts.append(f'<path d="{d}" fill="none" {GRID}/>')
        else:
            parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{radius * ring / 5:.1f}" fill="none" {GRID}/>')
        r = radius * ring / 5
        parts.append(f'<text x="{cx + r * math.cos(between):.1f}" y="{cy + r * math.sin(between) + 3:.1f}" '
                     f'text-anchor="middle" font-size="9" {MUTED}>{ring}</text>')
    for i, name in enumerate(names_of):
        x, y = at(i, 5)
        parts.append(f'<line x1="{cx:g}" y1="{cy:g}" x2="{x:.1f}" y2="{y:.1f}" {GRID}/>')
        parts.append(_axis_label(cx, cy, radius + 10, angles[i], name, _finite(scores[keys[i]])))
    series = [(scores, names[0], PALETTE[0], "", "0.25")]
    if compare:
        series.append((compare, names[1], PALETTE[1], "6 4", "0"))
    for values, series_name, colour, dash, opacity in series:
        present = [(i, v) for i, k in enumerate(keys) if (v := _finite(values.get(k))) is not None]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(i, v) for i, v in present))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polygon class="series" points="{points}" fill="{colour}" fill-opacity="{opacity}" '
                     f'stroke="{colour}" stroke-width="2"{dashes}><title>{_e(series_name)}</title></polygon>')
        for i, v in present:
            x, y = at(i, v)
            parts.append(f'<circle class="marker" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>'
                         f"{_e(series_name)}: {_e(names_of[i])} {v:.1f}</title></circle>")
    if compare:
        y = size + 12
        parts.append(_swatch(cx - 110, y, PALETTE[0], "", names[0]) + _swatch(cx + 10, y, PALETTE[1], "6 4", names[1]))
    return "".join(parts) + "</svg>"


# -- trajectory -------------------------------------------------------------------------------------------------


def _turn_name(point: TrajectoryPoint) -> str:
    return "start" if point.turn < 0 else f"turn {point.turn}"


def _signed(value: float) -> str:
    """'+8' or '−12', with a real minus sign."""
    rounded = round(value)
    return f"+{rounded}" if rounded >= 0 else f"\u2212{-rounded}"


def _biggest_moves(points: list[TrajectoryPoint]) -> list[int]:
    """Indices of the learner turns that moved trust most (at most MAX_NOTES), in turn order."""
    moved = [i for i, p in enumerate(points) if p.turn >= 0 and abs(p.trust_change) >= MIN_MOVE]
    return sorted(sorted(moved, key=lambda i: (-abs(points[i].trust_change), i))[:MAX_NOTES])


def trajectory_chart(points: list[TrajectoryPoint], *, width: int = 640, height: int = 260,
                     link_prefix: str | None = None) -> str:
    """Trust, openness and engagement (0-100) per learner turn, big trust moves labelled, earned items keyed."""
    if not points:
        return _empty("trajectory", width, height / 2, "No turns yet")
    left, right, top, plot_bottom = 34, 16, 30, height - 38  # below the plot: a band for keys, then turn labels
    n = len(points)
    step = (width - left - right) / max(n - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if n > 1 else (width - left - right) / 2)

    def y(v: float) -> float:
        return top + (1 - max(0.0, min(v, 100.0)) / 100) * (plot_bottom - top)

    label = (f"Trust from {points[0].trust:.0f} to {points[-1].trust:.0f} over {n - 1} learner turn"
             f"{'s' if n != 2 else ''}")
    parts = [_open("trajectory", width, height, label, "Trust, openness and engagement per learner turn (0 to 100)")]
    for v in (0, 25, 50, 75, 100):
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" {GRID}/>'
                     f'<text x="{left - 5}" y="{y(v) + 4:.1f}" text-anchor="end" {MUTED}>{v}</text>')
    stride = math.ceil(n / 12)  # at most about a dozen turn labels
    for i, p in enumerate(points):
        if i % stride == 0 or i == n - 1:
            anchor = "start" if i == 0 and n > 1 else ("end" if i == n - 1 and n > 1 else "middle")
            text = "start" if p.turn < 0 else f"T{p.turn}"
            parts.append(f'<text x="{x(i):.1f}" y="{height - 6}" text-anchor="{anchor}" {MUTED}>{text}</text>')
    for name, colour, dash, _ in STATE_LINES:
        coords = " ".join(f"{x(i):.1f},{y(getattr(p, name)):.1f}" for i, p in enumerate(points))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline class="line {name}" points="{coords}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"{dashes}/>')
    for i, p in enumerate(points):
        tip = (f"{_turn_name(p)}: trust {p.trust:.0f} ({_signed(p.trust_change)}), openness {p.openness:.0f}, "
               f"engagement {p.engagement:.0f}, mood {p.mood}" + (f" · {p.reasons[0]}" if p.reasons else ""))
        hit_w = min(step, 24)
        hit = (f'<rect x="{max(left - 4, x(i) - hit_w / 2):.1f}" y="{top}" width="{hit_w:.1f}" '
               f'height="{plot_bottom - top}" fill="currentColor" fill-opacity="0"/>')
        marks = "".join(_marker(shape, x(i), y(getattr(p, name)), colour, cls=f"marker {name}")
                        for name, colour, _, shape in STATE_LINES)
        if link_prefix is not None and p.turn >= 0:
            parts.append(f'<a href="#{_e(link_prefix)}{p.turn}"><title>{_e(tip)}</title>{hit}{marks}</a>')
        else:
            parts.append(f"<g><title>{_e(tip)}</title>{marks}</g>")
    parts += _move_notes(points, x, y, top, plot_bottom, width - right)
    keys = [(i, p) for i, p in enumerate(points) if p.unlocked]
    for i, p in keys:
        parts.append(_key_icon(x(i), plot_bottom + 12, f"{_turn_name(p)}: earned {', '.join(p.unlocked)}"))
    legend_x = left
    for name, colour, dash, shape in STATE_LINES:
        parts.append(_swatch(legend_x, 12, colour, dash, name, shape))
        legend_x += 30 + _text_width(name) + 14
    if keys:
        parts.append(_key_icon(legend_x + 8, 12, "hidden item earned", "swatch")
                     + f'<text x="{legend_x + 18:g}" y="16" fill="currentColor">hidden item earned</text>')
    return "".join(parts) + "</svg>"


def _move_notes(points: list[TrajectoryPoint], x, y, top: float, bottom: float, right: float) -> list[str]:
    """'T3 +8' beside the trust marker of each big move: above for gains, below for losses, staggered when close."""
    notes: list[str] = []
    last, shift = {True: -1e9, False: -1e9}, {True: 0, False: 0}
    for i in _biggest_moves(points):
        p = points[i]
        up = p.trust_change > 0
        shift[up] = shift[up] + 12 if x(i) - last[up] < 44 else 0  # neighbours on the same side would overlap
        last[up] = x(i)
        ty = y(p.trust) + (-9 - shift[up] if up else 17 + shift[up])
        ty = max(top + 9, min(ty, bottom - 2))
        tx = x(i)
        anchor = "end" if tx > right - 20 else ("start" if tx < 60 else "middle")
        tx += {"end": -6, "start": 6, "middle": 0}[anchor]  # beside the markers at the edges, not on them
        why = p.reasons[0] if p.reasons else f"trust {_signed(p.trust_change)}"
        notes.append(f'<g class="move"><title>{_e(f"{_turn_name(p)}: {why}")}</title><text x="{tx:.1f}" y="{ty:.1f}" '
                     f'text-anchor="{anchor}" font-weight="600" fill="currentColor">T{p.turn} '
                     f"{_signed(p.trust_change)}</text></g>")
    return notes


# -- criteria over time -----------------------------------------------------------------------------------------


def _merged_labels(series: dict[str, list[tuple[str, float]]]) -> list[str]:
    """Every x label once, keeping each series' order (a label missing from one series still lands in place)."""
    merged: list[str] = []
    for values in series.values():
        previous = -1
        for label, _ in values:
            if label in merged:
                previous = merged.index(label)
            else:
                previous += 1
                merged.insert(previous, label)
    return merged


def _spread(ys: list[float], gap: float, low: float, high: float) -> list[float]:
    """Push label positions apart by at least `gap`, keeping them between `low` and `high`."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    out = list(ys)
    for n, i in enumerate(order):
        if n:
            out[i] = max(out[i], out[order[n - 1]] + gap)
    for n in range(len(order) - 1, -1, -1):  # then back down from the bottom edge
        i = order[n]
        limit = high if n == len(order) - 1 else out[order[n + 1]] - gap
        out[i] = max(low, min(out[i], limit))
    return out


def criteria_over_time_chart(series: dict[str, list[tuple[str, float]]], *, width: int = 640, height: int = 300,
                             labels: dict[str, str] | None = None) -> str:
    """One line per criterion over sessions (y 1-5), 'overall' thicker, each line's last value labelled."""
    series = {k: v for k, v in series.items() if v}
    if not series:
        return _empty("criteria-over-time", width, height / 2, "No graded sessions yet")
    xs = _merged_labels(series)
    left, right, top = 28, 40, 12
    names = {k: criterion_label(k, labels) for k in series}
    styles = {}
    for n, key in enumerate(k for k in series if k != "overall"):
        styles[key] = (PALETTE[n % len(PALETTE)], DASHES[(n // len(PALETTE)) % len(DASHES)], 2.0)
    if "overall" in series:
        styles["overall"] = ("currentColor", "", 3.5)
    rows, row, used = [], [], 0.0  # lay out the legend first: it decides how tall the plot can be
    for key in series:
        w = 30 + _text_width(names[key]) + 12
        if row and used + w > width - left - right:
            rows.append(row)
            row, used = [], 0.0
        row.append((key, used))
        used += w
    rows.append(row)
    legend_top = height - 16 * len(rows) + 2
    bottom = legend_top - 28
    span = max(len(xs) - 1, 1)

    def x(i: int) -> float:
        return left + (i / span if len(xs) > 1 else 0.5) * (width - left - right)

    def y(v: float) -> float:
        return top + (5 - max(1.0, min(v, 5.0))) / 4 * (bottom - top)

    last = {k: v[-1] for k, v in series.items()}
    summary = ", ".join(f"{names[k]} {score:.1f}" for k, (_, score) in last.items())
    parts = [_open("criteria-over-time", width, height, f"Latest: {summary}", "Scores over sessions, 1 to 5")]
    for v in range(1, 6):
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" {GRID}/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" {MUTED}>{v}</text>')
    stride = math.ceil(len(xs) / 8)
    for i, text in enumerate(xs):
        if i % stride == 0 or i == len(xs) - 1:
            anchor = "start" if i == 0 and len(xs) > 1 else ("end" if i == len(xs) - 1 and len(xs) > 1 else "middle")
            parts.append(f'<text x="{x(i):.1f}" y="{bottom + 16:.1f}" text-anchor="{anchor}" {MUTED}>{_e(text)}</text>')
    for key, values in series.items():
        colour, dash, stroke = styles[key]
        coords = [(x(xs.index(label)), y(score)) for label, score in values]
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="series"><title>{_e(names[key])}</title><polyline points="'
                     + " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
                     + f'" fill="none" stroke="{colour}" stroke-width="{stroke:g}"{dashes}/>')
        parts += [f'<circle class="marker" cx="{px:.1f}" cy="{py:.1f}" r="{stroke / 2 + 1.5:g}" fill="{colour}">'
                  f"<title>{_e(names[key])} · {_e(label)}: {score:.1f}</title></circle>"
                  for (px, py), (label, score) in zip(coords, values)]
        parts.append("</g>")
    ends: dict[int, list[str]] = {}  # end labels that share an x are spread apart vertically
    for key, (label, _) in last.items():
        ends.setdefault(xs.index(label), []).append(key)
    for i, keys in ends.items():
        placed = _spread([y(last[k][1]) + 4 for k in keys], 11, top + 4, bottom + 4)
        for key, ly in zip(keys, placed):
            colour = styles[key][0]
            parts.append(f'<text class="last" x="{x(i) + 6:.1f}" y="{ly:.1f}" fill="{colour}" font-weight="600">'
                         f"{last[key][1]:.1f}<title>{_e(names[key])}, latest: {last[key][1]:.1f}</title></text>")
    for r, entries in enumerate(rows):
        for key, offset in entries:
            colour, dash, stroke = styles[key]
            parts.append(_swatch(left + offset, legend_top + 16 * r + 4, colour, dash, names[key], width=stroke))
    return "".join(parts) + "</svg>"


# -- a cohort: learners x criteria, and how each criterion is spread ------------------------------------------------

HEAT = ("#f1eef6", "#d0d1e6", "#a6bddb", "#74a9cf", "#2b8cbe", "#045a8d")  # ColorBrewer PuBu: light = low, dark = high


def _heat(score: float) -> tuple[str, str]:
    """(fill, text colour) for a 1-5 score on a sequential scale that also reads in grey."""
    step = HEAT[min(len(HEAT) - 1, max(0, int((score - 1) / 4 * len(HEAT))))]
    return step, "#ffffff" if score >= 3.7 else "#1a1a1a"


def heatmap_chart(cells: dict[str, dict[str, object]], names: list[str], *, labels: dict[str, str] | None = None,
                  width: int = 760) -> str:
    """Learners (rows) x criteria (columns): each cell the latest score, large, and the best, small.

    A cell carries `data-session` (the latest attempt's session) and is focusable, so the page can open it;
    `cells[learner][criterion]` needs `latest`, `best`, `latest_session` and `graded`."""
    learners = list(cells)
    if not learners or not names:
        return _empty("cohort-heatmap", width, 80, "No learners or graded attempts yet")
    head, left, row_h = 54, 130, 38
    col_w = max(56.0, min(96.0, (width - left - 8) / len(names)))
    width = int(left + col_w * len(names) + 8)
    height = head + row_h * len(learners) + 24
    graded = sum(1 for row in cells.values() for _ in row)
    parts = [_open("cohort-heatmap", width, height, f"{len(learners)} learners, {graded} scores",
                   "Latest score per learner and criterion (best in small type); click a cell to open the session")]
    for j, name in enumerate(names):
        cx = left + col_w * (j + 0.5)
        lines = _wrap(criterion_label(name, labels), 11)
        spans = "".join(f'<tspan x="{cx:.1f}" y="{head - 8 - 12 * (len(lines) - 1 - n):.1f}">{_e(line)}</tspan>'
                        for n, line in enumerate(lines))
        parts.append(f'<text text-anchor="middle" fill="currentColor"{BOLD if name == "overall" else ""}>{spans}</text>')
    for i, learner in enumerate(learners):
        y = head + row_h * i
        parts.append(f'<text x="{left - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="currentColor">'
                     f"{_e(learner if len(learner) <= 20 else learner[:19] + '…')}<title>{_e(learner)}</title></text>")
        for j, name in enumerate(names):
            x = left + col_w * j
            cell = cells[learner].get(name)
            if cell is None:
                parts.append(f'<rect x="{x + 1:.1f}" y="{y + 1}" width="{col_w - 2:.1f}" height="{row_h - 2}" rx="4" '
                             f'fill="currentColor" fill-opacity="0.06"/><text x="{x + col_w / 2:.1f}" '
                             f'y="{y + row_h / 2 + 4:.1f}" text-anchor="middle" {MUTED}>–</text>')
                continue
            fill, ink = _heat(cell.latest)
            tip = (f"{learner} · {criterion_label(name, labels)}: latest {cell.latest:.1f}, best {cell.best:.1f} "
                   f"({cell.graded} graded)")
            parts.append(f'<g class="cell" data-session="{_e(cell.latest_session)}" data-learner="{_e(learner)}" '
                         f'data-criterion="{_e(name)}" tabindex="0" role="button" style="cursor:pointer" '
                         f'aria-label="{_e(tip)}"><title>{_e(tip)}</title>'
                         f'<rect x="{x + 1:.1f}" y="{y + 1}" width="{col_w - 2:.1f}" height="{row_h - 2}" rx="4" '
                         f'fill="{fill}"/><text x="{x + col_w / 2:.1f}" y="{y + 18:.1f}" text-anchor="middle" '
                         f'fill="{ink}" font-size="13" font-weight="600">{cell.latest:.1f}</text>'
                         f'<text x="{x + col_w / 2:.1f}" y="{y + 31:.1f}" text-anchor="middle" fill="{ink}" '
                         f'font-size="9">best {cell.best:.1f}</text></g>')
    ly = height - 10
    for n, colour in enumerate(HEAT):
        parts.append(f'<rect x="{left + 22 * n}" y="{ly - 9}" width="22" height="10" fill="{colour}"/>')
    parts.append(f'<text x="{left - 6}" y="{ly}" text-anchor="end" {MUTED}>1</text>'
                 f'<text x="{left + 22 * len(HEAT) + 6}" y="{ly}" {MUTED}>5</text>')
    return "".join(parts) + "</svg>"


def distribution_chart(values: dict[str, list[float]], *, labels: dict[str, str] | None = None,
                       width: int = 640) -> str:
    """Each criterion on one row, 1 to 5: a dot per learner's latest score and a tick at the median."""
    rows = [(name, scores) for name, scores in values.items() if scores]
    if not rows:
        return _empty("cohort-distribution", width, 60, "No graded attempts yet")
    left, right, top, row_h = 130, 56, 18, 26
    height = top + row_h * len(rows) + 22

    def x(v: float) -> float:
        return left + (max(1.0, min(v, 5.0)) - 1) / 4 * (width - left - right)

    parts = [_open("cohort-distribution", width, height, f"{len(rows)} criteria",
                   "Each learner's latest score per criterion, with the median")]
    for v in range(1, 6):
        parts.append(f'<line x1="{x(v):.1f}" y1="{top - 6}" x2="{x(v):.1f}" y2="{top + row_h * len(rows)}" {GRID}/>'
                     f'<text x="{x(v):.1f}" y="{top + row_h * len(rows) + 14}" text-anchor="middle" {MUTED}>{v}</text>')
    for i, (name, scores) in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        parts.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end" fill="currentColor"'
                     f'{BOLD if name == "overall" else ""}>{_e(criterion_label(name, labels))}</text>')
        seen: dict[float, int] = {}
        for score in sorted(scores):
            key = round(score, 1)
            stack = seen[key] = seen.get(key, -1) + 1  # equal scores stack up and down instead of hiding each other
            dy = (stack + 1) // 2 * 5 * (1 if stack % 2 else -1)
            parts.append(f'<circle class="marker" cx="{x(score):.1f}" cy="{cy + dy:.1f}" r="3.5" fill="{PALETTE[0]}" '
                         f'fill-opacity="0.75"><title>{_e(criterion_label(name, labels))}: {score:.1f}</title></circle>')
        median = statistics.median(scores)
        parts.append(f'<line class="median" x1="{x(median):.1f}" y1="{cy - 9:.1f}" x2="{x(median):.1f}" y2="{cy + 9:.1f}" '
                     f'stroke="{PALETTE[3]}" stroke-width="2.5"><title>median {median:.1f}</title></line>'
                     f'<text x="{width - right + 6}" y="{cy + 4:.1f}" {MUTED}>n={len(scores)}</text>')
    return "".join(parts) + "</svg>"
