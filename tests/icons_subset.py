"""The console's icons: Bootstrap Icons cut down to the glyphs the console shows.

The vendored font holds some 2,000 icons in 134 KB (woff2), more than every other file of a
first visit together; the console shows a few dozen. This script finds every `bi-*` class in
the templates, the console's own scripts and styles and its Python code, and writes, from the
vendored full files,

    static/vendor/bootstrap-icons/console-icons.css          the @font-face, .bi and those classes
    static/vendor/bootstrap-icons/fonts/console-icons.woff2  those glyphs only

Run it after giving the console an icon it did not show before (tests/test_icons.py fails
until then); it needs fontTools and Brotli, outside the project's requirements:

    python -m venv /tmp/fonts && /tmp/fonts/bin/pip install fonttools brotli
    /tmp/fonts/bin/python tests/icons_subset.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "static" / "vendor" / "bootstrap-icons"
FULL_CSS = ICONS / "bootstrap-icons.min.css"
FULL_FONT = ICONS / "fonts" / "bootstrap-icons.woff2"
SUBSET_CSS = ICONS / "console-icons.css"
SUBSET_FONT = ICONS / "fonts" / "console-icons.woff2"
# Where the console names its icons (the vendored files are not the console's).
SOURCES = (
    ("templates", "*.html"),
    ("static/console", "*.js"),
    ("static/console", "*.css"),
    ("console", "*.py"),
    ("console", "*.html"),
)
_CLASS = re.compile(r"\bbi-[a-z0-9]+(?:-[a-z0-9]+)*\b")
_GLYPH = re.compile(r'\.(bi-[a-z0-9-]+)::before\{content:"\\([0-9a-f]+)"\}')


def icons_used(root: Path = ROOT) -> set[str]:
    """Every `bi-*` class named in the console's templates, scripts, styles and code."""
    found: set[str] = set()
    for folder, pattern in SOURCES:
        for path in (root / folder).rglob(pattern):
            found |= set(_CLASS.findall(path.read_text(encoding="utf-8", errors="replace")))
    return found


def glyphs(css: str) -> dict[str, int]:
    """Icon class → its code point, as a Bootstrap Icons stylesheet maps them."""
    return {name: int(code, 16) for name, code in _GLYPH.findall(css)}


def subset_css(full_css: str, names: set[str]) -> str:
    """The stylesheet for `names`: the full one's header, @font-face and .bi rule, then theirs."""
    header = full_css[: full_css.index("@font-face")]
    common = full_css[full_css.index("@font-face") : full_css.index("}.bi-") + 1]
    face = re.sub(
        r"src:url\([^)]*\)[^;}]*",
        'src:url("fonts/console-icons.woff2") format("woff2")',
        common,
        count=1,
    )
    mapped = glyphs(full_css)
    rules = "".join(f'.{name}::before{{content:"\\{mapped[name]:x}"}}' for name in sorted(names))
    return f"{header}{face}{rules}\n"


def main() -> int:
    from fontTools import subset

    full_css = FULL_CSS.read_text(encoding="utf-8")
    mapped = glyphs(full_css)
    used = icons_used()
    unknown = sorted(used - set(mapped))
    if unknown:
        print(f"not Bootstrap Icons, left out: {', '.join(unknown)}", file=sys.stderr)
    names = used & set(mapped)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []
    options.name_IDs = ["*"]  # the font's name and licence records stay
    font = subset.load_font(str(FULL_FONT), options)
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=[mapped[name] for name in names])
    cutter.subset(font)
    subset.save_font(font, str(SUBSET_FONT), options)
    SUBSET_CSS.write_text(subset_css(full_css, names), encoding="utf-8")
    print(f"{len(names)} icons: {SUBSET_FONT.stat().st_size:,} B font, {SUBSET_CSS.name} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
