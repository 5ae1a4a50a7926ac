"""Terminal colours that read on light and dark backgrounds.

By default a stage colour (#RRGGBB) is written as one of the terminal's own base colours (SGR
31-36: red, green, yellow, blue, magenta, cyan, picked by hue; a grey is the default foreground),
as git, ls and gh do: the user's theme decides the exact shade and keeps its contrast on its own
background. Never black, white or the bright variants, which vanish on one background or the
other. The exact colour only when asked, `DEALCLI_COLOR=256` or `DEALCLI_COLOR=truecolor`: it is
moved to a luminance between LOW and HIGH (WCAG relative luminance), where it keeps a contrast of
at least about 3:1 against both black and white, and written as the nearest of xterm's 256
colours or as a 24-bit escape. Whether to colour at all is render.color_enabled's decision (a
tty, no non-empty NO_COLOR, TERM not dumb)."""

from __future__ import annotations

import colorsys

from dealcli import env as environment

LOW, HIGH = 0.10, 0.30
OVERDUE = "#D0021B"  # red, bold: overdue activities in `agenda`


def _lin(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _srgb(v: float) -> int:
    v = max(0.0, min(1.0, v))
    v = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
    return round(v * 255)


def luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = (_lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def readable(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour with its luminance brought into [LOW, HIGH], hue kept."""
    lum = luminance(rgb)
    if LOW <= lum <= HIGH:
        return rgb
    lin = [_lin(c) for c in rgb]
    if lum > HIGH:  # too light for a white background: scale down in linear light
        k = HIGH / lum
        return tuple(_srgb(c * k) for c in lin)  # type: ignore[return-value]
    t = 0.0  # too dark for a black background: mix with white until light enough
    out = rgb
    while luminance(out) < LOW and t < 1:
        t += 0.05
        out = tuple(_srgb(c + (1 - c) * t) for c in lin)  # type: ignore[assignment]
    return out


MODES = ("16", "256", "truecolor")


def mode() -> str:
    """The colour depth asked for with DEALCLI_COLOR (16 by default; `24bit` is truecolor)."""
    asked = environment.current().environ.get("DEALCLI_COLOR", "").strip().lower()
    return "truecolor" if asked in ("truecolor", "24bit") else asked if asked in MODES else "16"


# hue (degrees, upper bound) -> SGR foreground code of a base colour
_HUES = ((20, 31), (70, 33), (160, 32), (200, 36), (260, 34), (335, 35), (360, 31))


def base16(rgb: tuple[int, int, int]) -> int | None:
    """The base colour (SGR 31-36) of the hue of `rgb`, or None for a grey (too little saturation)."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if s < 0.25 or v < 0.15:
        return None
    return next(code for top, code in _HUES if h * 360 < top)


def xterm256(rgb: tuple[int, int, int]) -> int:
    """The nearest colour of xterm's 6x6x6 cube or grey ramp."""
    levels = (0, 95, 135, 175, 215, 255)

    def near(c):
        return min(range(6), key=lambda i: abs(levels[i] - c))

    r, g, b = (near(c) for c in rgb)
    cube = 16 + 36 * r + 6 * g + b
    cube_rgb = (levels[r], levels[g], levels[b])
    grey_i = max(0, min(23, round((sum(rgb) / 3 - 8) / 10)))
    grey = 8 + 10 * grey_i
    dist = lambda a: sum((x - y) ** 2 for x, y in zip(a, rgb, strict=True))  # noqa: E731
    return 232 + grey_i if dist((grey, grey, grey)) < dist(cube_rgb) else cube


def sgr(hex_color: str, bold: bool = False) -> str | None:
    """The escape that starts text in `hex_color` (a base colour, or readable 256/truecolor when
    asked; see the module doc), or None when there is nothing to set."""
    if not hex_color or len(hex_color) != 7 or not hex_color.startswith("#"):
        return None
    try:
        rgb = tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    except ValueError:
        return None
    depth = mode()
    if depth == "16":
        base = base16(rgb)  # type: ignore[arg-type]
        code = str(base) if base else ""
    else:
        r, g, b = readable(rgb)  # type: ignore[arg-type]
        code = f"38;2;{r};{g};{b}" if depth == "truecolor" else f"38;5;{xterm256((r, g, b))}"
    if not code and not bold:
        return None
    return f"\x1b[{';'.join(x for x in ('1' if bold else '', code) if x)}m"
