"""The service list at 10,000 services in Chromium, served as production serves it.

gunicorn with DEBUG=0 (whitenoise serving the collected, compressed static files), a
signed-in superuser, Chromium through Playwright. Two figures per load:

- bytes transferred: the sum of `encodedDataLength` of every response the page loaded (the
  Chrome DevTools Protocol's Network.loadingFinished: headers and body as they crossed the
  wire, compressed where the server compressed), read on a first visit (a new browser context
  for each load: empty cache);
- time to the first row: from the navigation's start (performance.timeOrigin) to the first
  animation frame in which the list's first row is laid out inside the viewport. The check
  runs in the page on every frame; a document waiting for its stylesheets gets no frame, so
  this is the first frame that can show the row. First visits, and warm ones (a second visit
  in the same context: static files from the browser's cache, the page itself is no-store).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tests.bench.bench_stats import Result, timing
from tests.bench.production import (
    PLATFORM_SERVICES,
    PROXY_HEADERS,
    WEB_PASSWORD,
    WEB_USER,
    Web,
    gunicorn,
    platform_seed,
)

BYTES_TARGET = 150_000
FIRST_ROW_TARGET_S = 0.300
ROW = '[data-testid="service-row"]'
# Runs before the page's own scripts (injected by the browser, outside the page's CSP).
FIRST_ROW_SCRIPT = """
(() => {
  const check = () => {
    const row = document.querySelector('ROW');
    if (row) {
      const box = row.getBoundingClientRect();
      if (box.height > 0 && box.top < window.innerHeight) {
        window.__firstRow = performance.now();
        return;
      }
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();
""".replace("ROW", ROW.replace("'", "\\'"))

# When the last file the first frame waits for had arrived (0: none, e.g. all from the cache).
_BLOCKING_DONE = """Math.max(0, ...performance.getEntriesByType('resource')
  .filter((entry) => entry.renderBlockingStatus === 'blocking')
  .map((entry) => entry.responseEnd))"""


@dataclass
class Load:
    """One page load: its time to the first row (s) and what crossed the network."""

    first_row_s: float
    first_paint_s: float | None
    response_start_s: float  # the page's first byte: gunicorn's share of the time
    blocking_done_s: float  # the last render-blocking file (stylesheets, the head's script)
    responses: dict[str, int] = field(default_factory=dict)  # url → encoded bytes
    encodings: dict[str, str] = field(default_factory=dict)  # url → content-encoding

    @property
    def bytes(self) -> int:
        return sum(self.responses.values())


class _Wire:
    """Bytes per response of one page, from the DevTools protocol's network events."""

    def __init__(self, context, page) -> None:
        self.urls: dict[str, str] = {}
        self.encodings: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        session = context.new_cdp_session(page)
        session.on("Network.responseReceived", self._response)
        session.on("Network.loadingFinished", self._finished)
        session.send("Network.enable")

    def _response(self, event: dict) -> None:
        response = event["response"]
        self.urls[event["requestId"]] = response["url"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.encodings[response["url"]] = headers.get("content-encoding", "")

    def _finished(self, event: dict) -> None:
        self.sizes[event["requestId"]] = int(event["encodedDataLength"])

    def reset(self) -> None:
        self.urls, self.encodings, self.sizes = {}, {}, {}

    def by_url(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for request_id, size in self.sizes.items():
            url = self.urls.get(request_id, request_id)
            found[url] = found.get(url, 0) + size
        return found


def _visit(page, wire: _Wire) -> Load:
    """Go to the service list; wait for its first row and for the network to be quiet."""
    wire.reset()
    page.goto("/", wait_until="load")
    page.wait_for_function("window.__firstRow !== undefined", timeout=30_000)
    page.wait_for_load_state("networkidle")
    first_row = page.evaluate("window.__firstRow")
    paint = page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime ?? null"
    )
    response_start = page.evaluate("performance.getEntriesByType('navigation')[0].responseStart")
    blocking_done = page.evaluate(_BLOCKING_DONE)
    if page.url.rstrip("/") != page.evaluate("location.origin"):
        raise AssertionError(f"the service list went to {page.url}")
    return Load(
        first_row_s=first_row / 1000,
        first_paint_s=None if paint is None else paint / 1000,
        response_start_s=response_start / 1000,
        blocking_done_s=blocking_done / 1000,
        responses=wire.by_url(),
        encodings=dict(wire.encodings),
    )


def _context(browser, web: Web, state: dict | None):
    context = browser.new_context(
        base_url=web.url,
        extra_http_headers=PROXY_HEADERS,
        storage_state=state,
        viewport={"width": 1366, "height": 768},
    )
    context.set_default_timeout(30_000)
    context.add_init_script(FIRST_ROW_SCRIPT)
    return context


def _signed_in(browser, web: Web) -> dict:
    """Sign in through the form once; the session's cookies for every later context."""
    context = _context(browser, web, None)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill(WEB_USER)
        page.locator("input[name=password]").fill(WEB_PASSWORD)
        page.get_by_test_id("sign-in").click()
        page.wait_for_load_state()
        if page.locator(ROW).count() == 0:
            text = " ".join(page.locator("body").inner_text().split())[:300]
            raise RuntimeError(f"signing in led to {page.url}, not the list: {text}")
        return context.storage_state()
    finally:
        context.close()


def _cold(browser, web: Web, state: dict) -> Load:
    """A first visit: a new context (empty cache) holding only the session cookie."""
    context = _context(browser, web, state)
    try:
        page = context.new_page()
        return _visit(page, _Wire(context, page))
    finally:
        context.close()


def _warm(browser, web: Web, state: dict, loads: int) -> list[Load]:
    """Visits after a first one in the same context: the static files come from the cache."""
    context = _context(browser, web, state)
    try:
        page = context.new_page()
        wire = _Wire(context, page)
        _visit(page, wire)
        return [_visit(page, wire) for _ in range(loads)]
    finally:
        context.close()


def _biggest(load: Load, count: int = 8) -> list[str]:
    """The largest responses of a load, as "bytes url (encoding)" lines."""
    ranked = sorted(load.responses.items(), key=lambda item: -item[1])[:count]
    return [
        f"{size:,} B {url} ({load.encodings.get(url) or 'not compressed'})" for url, size in ranked
    ]


def bench_browser(*, loads: int = 20) -> list[Result]:
    """Bytes and time to the first row of the service list at 10,000 services, in Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"Chromium not found at {CHROMIUM} (set CHROMIUM to its path)")
    platform_seed()
    group = f"Browser, service list at {PLATFORM_SERVICES:,} services (Chromium, DEBUG=0)"
    with gunicorn(workers=3) as web, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            state = _signed_in(browser, web)
            _cold(browser, web, state)  # gunicorn's workers and Chromium warmed up, not counted
            cold = [_cold(browser, web, state) for _ in range(loads)]
            warm = _warm(browser, web, state, loads)
        finally:
            browser.close()
    return _results(group, cold, warm)


def _results(group: str, cold: list[Load], warm: list[Load]) -> list[Result]:
    """The bytes of a first visit (its median) and the times to the first row, cold and warm."""
    loads = len(cold)
    sizes = sorted(load.bytes for load in cold)
    median_bytes = sizes[len(sizes) // 2]
    detail = {
        "loads": loads,
        "responses": len(cold[0].responses),
        "biggest_responses_first_visit": _biggest(cold[0]),
        "bytes_per_first_visit": sizes,
        "bytes_per_warm_visit_median": sorted(x.bytes for x in warm)[len(warm) // 2],
        "first_contentful_paint_s_median": _median([x.first_paint_s for x in cold]),
        "first_byte_s_median": _median([x.response_start_s for x in cold]),
        "warm_first_byte_s_median": _median([x.response_start_s for x in warm]),
        "render_blocking_files_done_s_median": _median([x.blocking_done_s for x in cold]),
        "measure": "navigation start → first animation frame with the first row in the viewport",
    }
    return [
        Result(
            group=group,
            name="bytes transferred, first visit (KB)",
            unit="bytes",
            median=float(median_bytes),
            figure=f"{median_bytes / 1000:.1f}",
            target=f"<= {BYTES_TARGET / 1000:g}",
            passed=median_bytes <= BYTES_TARGET,
            n=loads,
            detail=detail,
        ),
        timing(
            group,
            "time to the first row, first visit (empty cache)",
            [x.first_row_s for x in cold],
            target_s=FIRST_ROW_TARGET_S,
            throughput=False,
            detail=detail,
        ),
        timing(
            group,
            "time to the first row, warm (static files cached)",
            [x.first_row_s for x in warm],
            target_s=FIRST_ROW_TARGET_S,
            throughput=False,
            detail=detail,
        ),
    ]


def _median(values: list[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None)
    return known[len(known) // 2] if known else None
