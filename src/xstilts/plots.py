"""Figure helpers shared by the report and the findings: the text size floor, labels that keep off the markers and
each other, and axis limits that one very wide interval cannot flatten."""

from __future__ import annotations

import numpy as np

MIN_FONT_PT = 8.0  # no text in a figure is smaller than this
# where a point's label may go, in points from the marker, tried in this order
LABEL_OFFSETS = ((5, 2), (5, -9), (-5, 2), (-5, -9), (0, 7), (0, -12), (9, 8), (9, -14), (-9, 8), (-9, -14))


def robust_limits(estimates, lows, highs, wide: float = 3.0, pad: float = 0.08, include_zero: bool = True) -> tuple[float, float]:
    """An axis range that shows every estimate and every *inner* interval (one no wider than ``wide`` × the median
    width) in full; wider intervals may run past it (the caller marks them clipped).  0 is kept in range."""
    est = np.asarray(estimates, float)
    lo, hi = np.asarray(lows, float), np.asarray(highs, float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    widths = (hi - lo)[ok]
    inner = ok.copy()
    if len(widths):
        inner[ok] = widths <= wide * max(float(np.median(widths)), 1e-12)
    vals = [est[np.isfinite(est)], lo[inner], hi[inner]]
    if include_zero:
        vals.append(np.array([0.0]))
    v = np.concatenate(vals)
    if not len(v):
        return -1.0, 1.0
    a, b = float(v.min()), float(v.max())
    span = (b - a) or max(abs(a), 1.0)
    return a - pad * span, b + pad * span


def label_points(ax, xs, ys, texts, fontsize: float = MIN_FONT_PT, marker_pt: float = 4.0, avoid_lines: bool = True) -> list:
    """Write ``texts`` next to the points (``xs``, ``ys``) of ``ax``, each at the first offset of
    :data:`LABEL_OFFSETS` where it covers no marker, no line of ``ax`` (``avoid_lines``), no label placed before it
    and stays inside the axes (else the offset that overlaps least).  Call after the figure's layout is final (the
    overlap is measured on the canvas)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    pts = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]))
    r = marker_pt * to_px
    markers = [(x - r, y - r, x + r, y + r) for x, y in pts]
    if avoid_lines:  # a line is a chain of small boxes along it (axis-spanning reference lines excluded)
        w = 1.5 * to_px
        for line in ax.get_lines():
            data = np.asarray(line.get_xydata(), float)
            if len(data) < 2 or line.get_transform() is not ax.transData:
                continue
            seg = ax.transData.transform(data)
            for (x0, y0), (x1, y1) in zip(seg[:-1], seg[1:]):
                n = max(int(np.hypot(x1 - x0, y1 - y0) / w), 1)
                for t in np.linspace(0, 1, n + 1):
                    x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                    markers.append((x - w, y - w, x + w, y + w))
    frame = ax.get_window_extent(renderer)
    placed, out = [], []

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    order = np.argsort(pts[:, 1])[::-1] if len(pts) else []
    for i in order:
        best = None
        for dx, dy in LABEL_OFFSETS:
            t = ax.annotate(str(texts[i]), (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                            ha="left" if dx > 0 else "right" if dx < 0 else "center", va="bottom")
            bb = t.get_window_extent(renderer)
            box = (bb.x0, bb.y0, bb.x1, bb.y1)
            cost = sum(overlap(box, m) for m in markers) + sum(overlap(box, p) for p in placed)
            outside = max(frame.x0 - box[0], 0) + max(box[2] - frame.x1, 0) + max(frame.y0 - box[1], 0) + max(box[3] - frame.y1, 0)
            cost += outside * bb.height * 10
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, t, box)
            else:
                t.remove()
            if cost == 0:
                break
        placed.append(best[2])
        out.append(best[1])
    return out


def small_texts(fig, floor: float = MIN_FONT_PT) -> list[tuple[str, float]]:
    """The visible non-empty texts of ``fig`` smaller than ``floor`` points (tick labels included)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    return [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < floor]
