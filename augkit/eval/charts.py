"""Small inline SVG charts for report.html: no plotting library, no files beside the report."""

from __future__ import annotations

from html import escape

GOOD, BAD, MID, INK, GRID, MUTED = "#2e7d32", "#c62828", "#ef6c00", "#263238", "#e0e4e8", "#78909c"
PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037")


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'style="max-width:{width}px;height:auto;display:block" role="img" aria-label="{escape(label)}" font-family="inherit" font-size="12">'
            + "".join(body) + "</svg>")


def accuracy_colour(x: float) -> str:
    """Green for right, through orange, to red, by accuracy."""
    return GOOD if x >= 0.98 else MID if x >= 0.9 else BAD


def bar_chart(bars: list[tuple[str, float | None, str]], *, label: str, width: int = 560,
              height: int = 220) -> str:
    """Vertical bars on a 0-100 % axis: (category, value in 0..1 or None, text under the category)."""
    left, bottom, top = 44, 40, 24
    plot_h = height - bottom - top
    plot_w = width - left - 8
    body = []
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        body.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{pct}%</text>')
    step = plot_w / max(len(bars), 1)
    bar_w = min(56.0, step * 0.7)
    for i, (name, value, under) in enumerate(bars):
        cx = left + step * (i + 0.5)
        body.append(f'<text x="{cx:.1f}" y="{height - 24}" text-anchor="middle" fill="{INK}">{escape(name)}</text>')
        body.append(f'<text x="{cx:.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}" font-size="11">{escape(under)}</text>')
        if value is None:
            continue
        h = plot_h * value
        body.append(f'<rect x="{cx - bar_w / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                    f'fill="{accuracy_colour(value)}" rx="2"><title>{escape(name)}: {100 * value:.2f}%</title></rect>')
        body.append(f'<text x="{cx:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle" fill="{INK}" '
                    f'font-weight="600">{100 * value:.1f}</text>')
    return _svg(width, height, body, label)


def histogram_rows(rows: list[tuple[str, str, list[float]]], *, label: str, bins: int = 20,
                   width: int = 560, row_height: int = 70) -> str:
    """One histogram of values in 0..1 per row, (name, colour, values), each scaled to its own tallest bin."""
    left, axis = 110, 22
    height = row_height * len(rows) + axis
    plot_w = width - left - 8
    body = []
    for r, (name, colour, values) in enumerate(rows):
        counts = [0] * bins
        for v in values:
            counts[min(int(max(v, 0.0) * bins), bins - 1)] += 1
        peak = max(counts) or 1
        base = row_height * (r + 1) - 6
        body.append(f'<text x="0" y="{base - row_height / 2 + 8:.1f}" fill="{INK}">{escape(name)}</text>')
        body.append(f'<text x="0" y="{base - row_height / 2 + 24:.1f}" fill="{MUTED}" font-size="11">n = {len(values):,}</text>')
        body.append(f'<line x1="{left}" x2="{width - 8}" y1="{base}" y2="{base}" stroke="{GRID}"/>')
        bw = plot_w / bins
        for i, c in enumerate(counts):
            if not c:
                continue
            h = (row_height - 14) * c / peak
            body.append(f'<rect x="{left + i * bw + 1:.1f}" y="{base - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" '
                        f'fill="{colour}"><title>{i / bins:.2f}-{(i + 1) / bins:.2f}: {c:,}</title></rect>')
    for t in range(0, 11, 2):
        x = left + plot_w * t / 10
        body.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="{MUTED}">{t / 10:.1f}</text>')
    return _svg(width, height, body, label)


def stacked_bar(parts: list[tuple[str, float]], *, label: str, unit: str = "ms", width: int = 560) -> str:
    """One horizontal bar split into named parts (e.g. time per batch by stage), with a legend."""
    parts = [(n, v) for n, v in parts if v]
    total = sum(v for _, v in parts) or 1.0
    body, x = [], 0.0
    for i, (name, value) in enumerate(parts):
        w = (width - 2) * value / total
        colour = PALETTE[i % len(PALETTE)]
        body.append(f'<rect x="{x + 1:.1f}" y="4" width="{max(w - 1, 0.5):.1f}" height="26" fill="{colour}">'
                    f'<title>{escape(name)}: {value:.3f} {unit}</title></rect>')
        x += w
    lx = 0
    for i, (name, value) in enumerate(parts):
        text = f"{name} {value:.2f} {unit} ({100 * value / total:.0f}%)"
        if lx + 9 * len(text) > width:
            break
        body.append(f'<rect x="{lx}" y="40" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        body.append(f'<text x="{lx + 14}" y="49" fill="{INK}">{escape(text)}</text>')
        lx += 14 + 7 * len(text) + 18
    return _svg(width, 58, body, label)
