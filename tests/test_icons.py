"""The console's icon font holds every icon the console shows (tests/icons_subset.py cuts it)."""

from __future__ import annotations

from tests.icons_subset import (
    FULL_CSS,
    ROOT,
    SUBSET_CSS,
    SUBSET_FONT,
    glyphs,
    icons_used,
)


def test_every_icon_the_console_shows_is_in_its_icon_font():
    defined = set(glyphs(FULL_CSS.read_text(encoding="utf-8")))
    used = icons_used() & defined
    assert used, "no bi-* class found: the search looks in the wrong places"
    missing = sorted(used - set(glyphs(SUBSET_CSS.read_text(encoding="utf-8"))))
    assert not missing, f"run tests/icons_subset.py: {', '.join(missing)} not in the subset"


def test_the_subset_maps_each_icon_to_the_full_fonts_glyph():
    full = glyphs(FULL_CSS.read_text(encoding="utf-8"))
    subset = glyphs(SUBSET_CSS.read_text(encoding="utf-8"))
    assert {name: full[name] for name in subset} == subset


def test_the_pages_load_the_subset_and_its_font():
    css = SUBSET_CSS.read_text(encoding="utf-8")
    assert 'url("fonts/console-icons.woff2")' in css
    assert SUBSET_FONT.read_bytes()[:4] == b"wOF2"
    base = (ROOT / "templates" / "base.html").read_text(encoding="utf-8")
    assert "vendor/bootstrap-icons/console-icons.css" in base
    assert "bootstrap-icons.min.css" not in base
