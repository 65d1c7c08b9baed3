"""A reseller's brand colour made safe to use: text on it, and a shade of it for links and borders that
keeps WCAG AA contrast (4.5:1) on the light and the dark page background. No imports from the project."""
import re
from functools import lru_cache

DEFAULT = "#2f6fde"
# The backgrounds links sit on (page, card, warning row, highlight), light and dark: see static/portal.css.
LIGHT_BGS = ("#ffffff", "#f4f5f8", "#fef3c7", "#fff4c2")
DARK_BGS = ("#161b26", "#0f131b", "#1d2330", "#3d2a06", "#3b3413")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _hex(rgb) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(color: str) -> float:
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _toward(color: str, target: str, backgrounds, minimum: float = 4.5) -> str:
    """``color`` mixed toward ``target`` (black or white) in small steps until it reaches ``minimum`` on every
    one of ``backgrounds``."""
    rgb, goal = _rgb(color), _rgb(target)
    for step in range(41):
        mixed = _hex(c + (g - c) * step / 40 for c, g in zip(rgb, goal))
        if all(contrast(mixed, bg) >= minimum for bg in backgrounds):
            return mixed
    return target


def palette(color: str | None) -> dict[str, str]:
    """The CSS custom properties for a brand colour: --brand (fills), --on-brand (text on a fill),
    --brand-text (links on the light background) and --brand-text-dark (links on the dark one).
    A fill that no text colour can read on (under 4.5:1) is darkened first. Every page asks for it:
    computed once per colour."""
    return dict(_palette(color.lower() if color and _HEX.match(color) else DEFAULT))


@lru_cache(maxsize=256)
def _palette(color: str) -> tuple[tuple[str, str], ...]:
    fill = color
    if max(contrast(fill, "#ffffff"), contrast(fill, "#111111")) < 4.5:
        fill = _toward(fill, "#000000", ("#ffffff",))
    on = "#ffffff" if contrast(fill, "#ffffff") >= 4.5 else "#111111"
    return (
        ("brand", fill),
        ("on-brand", on),
        ("brand-text", _toward(color, "#000000", LIGHT_BGS)),
        ("brand-text-dark", _toward(color, "#ffffff", DARK_BGS)),
    )
