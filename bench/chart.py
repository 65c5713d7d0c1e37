"""A bar chart as a PNG, with nothing but the standard library.

bench/run imports this to draw bench/results.png. `python3 bench/chart.py
OUT.png` draws sample data, to look at the layout without a benchmark.

The PNG is 8-bit RGB, one IDAT chunk (zlib + struct). Text uses a built-in
5x7 bitmap font of upper-case letters, digits and a little punctuation
(lower case is drawn upper case), scaled up by whole pixels.
"""
import struct
import sys
import zlib

# 5x7 glyphs, rows top to bottom, '#' = ink.
_GLYPHS = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    " ": "..... ..... ..... ..... ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "-": "..... ..... ..... .###. ..... ..... .....",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "/": "..... ....# ...#. ..#.. .#... #.... .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
    ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
    "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
    "_": "..... ..... ..... ..... ..... ..... #####",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
}
FONT = {c: [row for row in g.split()] for c, g in _GLYPHS.items()}

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (110, 110, 110)
LIGHT = (225, 225, 225)


class Canvas:
    def __init__(self, w, h, bg=WHITE):
        self.w, self.h = w, h
        self.pix = bytearray(bytes(bg) * (w * h))

    def rect(self, x, y, w, h, color):
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(self.w, int(x + w)), min(self.h, int(y + h))
        if x1 <= x0 or y1 <= y0:
            return
        line = bytes(color) * (x1 - x0)
        for row in range(y0, y1):
            off = (row * self.w + x0) * 3
            self.pix[off:off + len(line)] = line

    @staticmethod
    def text_width(s, scale):
        return max(0, len(s) * 6 * scale - scale)

    def text(self, x, y, s, color=BLACK, scale=2):
        """Draw s with its top-left corner at (x, y)."""
        for i, ch in enumerate(s.upper()):
            glyph = FONT.get(ch, FONT["?"])
            gx = x + i * 6 * scale
            for r, row in enumerate(glyph):
                for c, bit in enumerate(row):
                    if bit == "#":
                        self.rect(gx + c * scale, y + r * scale, scale, scale,
                                  color)

    def text_centered(self, cx, y, s, color=BLACK, scale=2):
        self.text(int(cx - self.text_width(s, scale) / 2), y, s, color, scale)

    def png(self):
        stride = self.w * 3
        raw = b"".join(b"\x00" + bytes(self.pix[r * stride:(r + 1) * stride])
                       for r in range(self.h))

        def chunk(kind, data):
            return (struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

        return (b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h,
                                             8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))


def fmt_value(v):
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:.0f}"


def nice_step(vmax, ticks=6):
    """A 1/2/5 x 10^k step giving about `ticks` grid lines up to vmax."""
    raw = vmax / ticks
    mag = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    while mag > raw:
        mag /= 10
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def bar_chart(title, subtitle, series, groups, width=1200, height=620):
    """series: [(name, (r, g, b))] for the legend, in order.
    groups: [(label, {series name: value or None})]; a group draws a bar for
    each series it names, in the legend's order; None draws "n/a".
    Returns the PNG bytes."""
    cv = Canvas(width, height)
    cv.text(20, 16, title, BLACK, 3)
    cv.text(20, 46, subtitle, GREY, 2)

    # Legend: coloured squares and names, wrapped to the width.
    lx, ly = 20, 76
    for name, color in series:
        w = 18 + 8 + cv.text_width(name, 2) + 28
        if lx + w > width - 20:
            lx, ly = 20, ly + 26
        cv.rect(lx, ly, 18, 18, color)
        cv.text(lx + 26, ly + 2, name, BLACK, 2)
        lx += w

    x0, x1 = 86, width - 20
    top, bottom = ly + 50, height - 48
    values = [v for _, g in groups for v in g.values() if v is not None]
    vmax = max(values) if values else 1.0
    step = nice_step(vmax * 1.08)
    ymax = step * (int(vmax * 1.08 / step) + 1)

    def ypos(v):
        return bottom - (bottom - top) * v / ymax

    # Grid and y tick labels.
    t = 0.0
    while t <= ymax + step / 2:
        y = int(ypos(t))
        cv.rect(x0, y, x1 - x0, 1, LIGHT)
        label = f"{t:g}"
        cv.text(x0 - 10 - cv.text_width(label, 2), y - 7, label, GREY, 2)
        t += step
    cv.text(20, top - 26, "MS", GREY, 2)

    colors = dict(series)
    gw = (x1 - x0) / max(1, len(groups))
    for gi, (label, vals) in enumerate(groups):
        names = [n for n, _ in series if n in vals]
        gx = x0 + gi * gw
        bw = int(min(58, gw * 0.8 / max(1, len(names))))
        gap = max(4, bw // 6)
        total = len(names) * bw + (len(names) - 1) * gap
        bx = gx + (gw - total) / 2
        for name in names:
            v = vals[name]
            cx = bx + bw / 2
            if v is None:
                cv.text_centered(cx, bottom - 20, "N/A", GREY, 2)
            else:
                y = ypos(v)
                cv.rect(bx, y, bw, bottom - y, colors[name])
                s = fmt_value(v)
                scale = 2 if cv.text_width(s, 2) <= bw + gap else 1
                cv.text_centered(cx, int(y) - 8 * scale - 2, s, BLACK, scale)
            bx += bw + gap
        cv.text_centered(gx + gw / 2, bottom + 14, label, BLACK, 2)
        if gi:
            cv.rect(int(gx), top, 1, bottom - top, LIGHT)
    cv.rect(x0, bottom, x1 - x0, 2, BLACK)
    cv.rect(x0, top, 2, bottom - top, BLACK)
    return cv.png()


if __name__ == "__main__":
    demo = bar_chart(
        "SAMPLE: MEDIAN WALL TIME, MS (LOWER IS BETTER)",
        "2 CPUS, KERNEL 6.1, N=30 EACH, 2026-01-01",
        [("husk", (230, 120, 20)), ("crun", (40, 110, 200)),
         ("runc", (200, 40, 60)), ("unshare -fpmiun", (120, 120, 120)),
         ("fork+exec /bin/true", (190, 190, 190))],
        [("run", {"husk": 23.4, "crun": 38.6, "runc": 85.5}),
         ("create", {"husk": 9.1, "crun": 20.2, "runc": 55.0}),
         ("start", {"husk": 2.3, "crun": 4.1, "runc": 18.7}),
         ("delete", {"husk": 3.3, "crun": None, "runc": 20.0}),
         ("exec", {"husk": 8.2, "crun": 19.4, "runc": 63.0}),
         ("lower bounds", {"unshare -fpmiun": 11.2,
                           "fork+exec /bin/true": 3.2})])
    with open(sys.argv[1] if len(sys.argv) > 1 else "chart-demo.png",
              "wb") as f:
        f.write(demo)
