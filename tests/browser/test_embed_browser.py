"""The portal inside a partner site, in Chromium.

The partner page is served on http://localhost:<port>; the portal on http://127.0.0.1:<port>, a
different site, so the portal is a third-party frame. The partner page is the copy-paste snippet
from docs/embedding.md, as written there.

"No cookie" (Safari's default) is made real with a reverse proxy in front of the portal that drops
Cookie and Set-Cookie: the browser never stores a portal cookie, which the test checks in the
browser context afterwards. (A page.route that strips the Cookie header would prove nothing:
Chromium attaches cookies after interception.)
"""
from __future__ import annotations

import http.client
import json
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import expect

import embed_session
import embed_signin
from extensions import db
from models import Hosting

from .. import factories
from .conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"
SNIPPET_PORTAL = "https://portal.example"
SNIPPET_SRC = "https://portal.example/embed/sso?token=SIGNED_TOKEN"


def partner_snippet() -> str:
    text = DOCS.read_text()
    block = re.search(r"<!-- partner-snippet:start -->\s*```html\n(.*?)```\s*<!-- partner-snippet:end -->", text, re.S)
    assert block, "docs/embedding.md lost its partner snippet markers"
    assert SNIPPET_SRC in block.group(1) and f'PORTAL_ORIGIN = "{SNIPPET_PORTAL}"' in block.group(1)
    return block.group(1)


def partner_app(portal_origin: str):
    """The partner's page: the documented snippet, framing the signed URL given in ?src=.

    It also records every message it receives (origin and data) in window.portalMessages.
    """
    snippet = partner_snippet().replace(SNIPPET_PORTAL, portal_origin)

    def app(environ, start_response):
        src = parse_qs(environ.get("QUERY_STRING", "")).get("src", [""])[0]
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner site</title></head>
<body>
<h1>Partner site</h1>
<script>
  window.portalMessages = [];
  window.addEventListener("message", function (e) {{ window.portalMessages.push({{origin: e.origin, data: e.data}}); }});
</script>
{snippet.replace(SNIPPET_SRC.replace(SNIPPET_PORTAL, portal_origin), src.replace('"', "&quot;"))}
<p id="after-frame">Partner footer</p>
</body></html>"""
        data = body.encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]

    return app


class CookieDroppingProxy:
    """A reverse proxy to the portal that drops Cookie (requests) and Set-Cookie (responses)."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname, parts.port
        self.lock = threading.Lock()
        self.dropped_set_cookie: list[str] = []
        self.dropped_cookie = 0
        self.embed_headers = 0

    def __call__(self, environ, start_response):
        target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
        if not target:
            target = quote(environ.get("PATH_INFO", "/"))
            if environ.get("QUERY_STRING"):
                target += "?" + environ["QUERY_STRING"]
        headers = {}
        for key, value in environ.items():
            if key.startswith("HTTP_") and key not in ("HTTP_HOST", "HTTP_CONNECTION", "HTTP_COOKIE"):
                headers[key[5:].replace("_", "-").title()] = value
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        with self.lock:
            self.dropped_cookie += "HTTP_COOKIE" in environ
            self.embed_headers += bool(environ.get("HTTP_X_EMBED_SESSION"))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
        try:
            conn.request(environ["REQUEST_METHOD"], target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        out = []
        for key, value in resp.getheaders():
            low = key.lower()
            if low == "set-cookie":
                with self.lock:
                    self.dropped_set_cookie.append(value)
                continue
            if low in ("transfer-encoding", "connection", "keep-alive", "content-length"):
                continue
            out.append((key, value))
        out.append(("Content-Length", str(len(data))))
        start_response(f"{resp.status} {resp.reason}", out)
        return [data]


@pytest.fixture
def tenant(world):
    """Reseller A's staff, with a company to search for and a contact to link."""
    factories.company(world.a.reseller, "Zeta Clinic", type="Healthcare")
    return world


def frame_of(page):
    """The portal's frame (the partner page has exactly one)."""
    frames = page.main_frame.child_frames
    assert len(frames) == 1
    return frames[0]


def open_partner(page, serve, portal_origin: str, world, path=None):
    partner = serve(partner_app(portal_origin), host="localhost")
    world.a.reseller.embed_origins = partner.url
    db.session.commit()
    sso = f"{portal_origin}/embed/sso?token={embed_signin.sign_token(world.a.staff, path)}"
    page.goto(f"{partner.url}/?src={quote(sso, safe='')}")
    return partner


# Resolves once the partner's iframe has kept its size for 5 animation frames (the frame sizes itself to its
# content after each swap). A mouse click while the cross-site frame is being resized can land on the
# partner's page instead (Chromium routes it before the frame's new layout is in), so the walk waits.
FRAME_SETTLED = """() => new Promise(done => {
  const frame = document.getElementById('reseller-portal');
  let last = '', still = 0;
  const tick = () => {
    const box = frame.getBoundingClientRect(), now = `${box.top},${box.height}`;
    still = now === last ? still + 1 : 0;
    last = now;
    if (still >= 5) done(true); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""


def settled(page, frame) -> None:
    """Inside the frame no htmx request, swap or settle is under way, and the frame keeps its size."""
    frame.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.evaluate(FRAME_SETTLED)


def walk(page, world, reload=True):
    """Inside the frame: Companies, search as you type, open a room, link a host, (reload)."""
    portal = page.frame_locator("#reseller-portal")
    frame = frame_of(page)
    rid = world.a.reseller.id
    # open Companies (through the menu)
    expect(portal.get_by_role("heading", name="Companies")).to_be_visible()
    assert "token=" not in frame.url, "the sign-in token stays in the frame's address"
    frame.evaluate("document.getElementById('main').dataset.before = 'yes'")
    settled(page, frame)
    portal.get_by_role("navigation", name="Main").get_by_role("link", name="Companies", exact=True).click()
    expect(portal.locator("#main[data-before]")).to_have_count(0)  # the page was replaced
    expect(portal.locator("#company-table")).to_contain_text("A Corp")
    settled(page, frame)
    frame.evaluate("window.__noReload = true")
    # search as you type
    portal.get_by_label("Search").fill("zet")
    expect(portal.locator("#company-table")).not_to_contain_text("A Corp")
    expect(portal.locator("#company-table")).to_contain_text("Zeta Clinic")
    assert frame.evaluate("window.__noReload === true")
    # the frame's address re-opens this view after a reload, and holds no token
    frame.wait_for_function(f"() => location.href.includes('/embed/{rid}/open?path=%2Fcompanies%3Fq%3Dzet%26')")
    # open a room
    portal.get_by_role("navigation", name="Main").get_by_role("link", name="Rooms", exact=True).click()
    expect(portal.locator("#room-table")).to_contain_text("A Team")
    settled(page, frame)
    portal.get_by_role("link", name="A Team", exact=True).click()
    expect(portal.get_by_role("heading", name="Edit room A Team")).to_be_visible()
    settled(page, frame)
    assert frame.evaluate("window.__noReload === true"), "a navigation inside the frame was not htmx"
    # link a host
    new_host = world.a.contacts[1]
    portal.get_by_label("Link contact").select_option(str(new_host.id))
    portal.get_by_role("button", name="Link contact").click()
    expect(portal.locator(f"#host-{new_host.id}")).to_contain_text(new_host.name)
    db.session.expire_all()
    assert db.session.execute(
        db.select(Hosting).where(Hosting.room_id == world.a.team.id, Hosting.contact_id == new_host.id)
    ).scalar_one_or_none() is not None
    if not reload:
        return portal, frame
    # a reload inside the frame keeps the person signed in, on the same page
    frame.evaluate("location.reload()")
    expect(portal.get_by_role("heading", name="Edit room A Team")).to_be_visible()
    expect(portal.locator(f"#host-{new_host.id}")).to_be_visible()
    assert frame.evaluate("window.__noReload === undefined")
    return portal, frame


FORGET_STORED_SESSION = "() => { try { sessionStorage.clear(); } catch (e) { /* third-party storage blocked */ } }"


def test_embed_walk_with_partitioned_cookie(page, context, serve, live_server, tenant):
    """Chromium's default: third-party cookies blocked, except partitioned ones (CHIPS)."""
    tenant.a.reseller.brand_color = "#aa3300"
    open_partner(page, serve, live_server.url, tenant)
    walk(page, tenant)
    brand = "getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()"
    assert frame_of(page).evaluate(brand) == "#aa3300"
    cookies = [c for c in context.cookies() if c["name"] == embed_session.COOKIE]
    assert len(cookies) == 1
    assert cookies[0]["sameSite"] == "None" and cookies[0]["secure"] and cookies[0]["httpOnly"]
    # the cookie alone carries the session: forget any copy in the page and reload
    portal = page.frame_locator("#reseller-portal")
    frame = frame_of(page)
    frame.evaluate(FORGET_STORED_SESSION)
    frame.evaluate("location.reload()")
    expect(portal.get_by_role("heading", name="Edit room A Team")).to_be_visible()


@pytest.fixture
def safari_like(browser, _playwright, tmp_path):
    """A Chromium whose third-party frames get storage (sessionStorage), like Safari's partitioned storage.

    Chromium's default blocks third-party cookies and, with them, third-party storage; a profile that
    allows them is the closest Chromium comes to Safari once the proxy below removes every cookie.
    """
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(
        json.dumps({"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}))
    ctx = _playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
    yield ctx, page
    ctx.close()
    assert not problems, problems


def test_embed_walk_without_any_cookie(page, context, serve, live_server, tenant):
    """No cookie and no third-party storage at all: htmx carries the session; a reload ends it, closed."""
    proxy_app = CookieDroppingProxy(live_server.url)
    proxy = serve(proxy_app, host="127.0.0.1")
    open_partner(page, serve, proxy.url, tenant)
    walk(page, tenant, reload=False)
    offered = [v for v in proxy_app.dropped_set_cookie if v.startswith(f"{embed_session.COOKIE}=")]
    assert offered, "the portal offered no cookie"
    assert proxy_app.embed_headers > 5, "the session did not travel in the X-Embed-Session header"
    assert context.cookies() == [], "the browser stored a cookie although the proxy dropped them all"
    # nothing survives a reload here: the frame says so, with no log-in form and no data
    portal = page.frame_locator("#reseller-portal")
    frame_of(page).evaluate("location.reload()")
    expect(portal.get_by_text("Your session has ended. Open it again from your partner site.")).to_be_visible()
    expect(portal.locator("input[type=password]")).to_have_count(0)
    expect(portal.locator("body")).not_to_contain_text("A Corp")


def test_embed_walk_without_cookie_like_safari(safari_like, serve, live_server, tenant):
    """No cookie, but sessionStorage (Safari): the walk, and a reload inside the frame stays signed in."""
    ctx, page = safari_like
    proxy_app = CookieDroppingProxy(live_server.url)
    proxy = serve(proxy_app, host="127.0.0.1")
    open_partner(page, serve, proxy.url, tenant)
    walk(page, tenant)
    assert any(v.startswith(f"{embed_session.COOKIE}=") for v in proxy_app.dropped_set_cookie)
    assert proxy_app.dropped_cookie == 0  # nothing to drop: the browser never had a portal cookie
    assert [c for c in ctx.cookies() if c["domain"] == "127.0.0.1"] == []
    # without the copy in sessionStorage there is nothing left: the frame says so, no log-in form
    portal = page.frame_locator("#reseller-portal")
    frame = frame_of(page)
    frame.evaluate("sessionStorage.clear()")
    frame.evaluate("location.reload()")
    expect(portal.get_by_text("Your session has ended. Open it again from your partner site.")).to_be_visible()
    expect(portal.locator("input[type=password]")).to_have_count(0)
    expect(portal.locator("body")).not_to_contain_text("A Corp")


SIZED = """() => {
  const heights = window.portalMessages.filter(m => m.data && m.data.type === "reseller-portal:height");
  const last = heights.at(-1);
  const frame = document.getElementById("reseller-portal");
  return last && frame.style.height === Math.max(200, Math.ceil(last.data.height)) + "px" ? last.data.height : null;
}"""


def sized(page, above: float = 0, below: float = float("inf")) -> float:
    """The height the frame last reported, once the partner page has sized the frame to it and it is between
    ``above`` and ``below``. Waits for it: while a swap replaces the frame's body, it may report a short
    height for a moment before the content's."""
    return page.wait_for_function(
        f"() => {{ const h = ({SIZED})(); return h !== null && h > {above} && h < {below if below != float('inf') else 'Infinity'} ? h : null; }}"
    ).json_value()


def test_embed_partner_receives_height_and_sizes_the_iframe(page, serve, live_server, tenant):
    for i in range(30):
        factories.company(tenant.a.reseller, f"Tall {i:02}")
    open_partner(page, serve, live_server.url, tenant)
    portal = page.frame_locator("#reseller-portal")
    expect(portal.locator("#company-table")).to_contain_text("Tall 00")
    iframe = page.locator("#reseller-portal")
    tall = sized(page, above=900)  # 25 rows do not fit the snippet's initial 600 px
    assert abs(iframe.bounding_box()["height"] - tall) <= 1
    assert all(m["origin"] == live_server.url for m in page.evaluate("window.portalMessages"))
    # the content shrinks: a new message, and the partner page resizes the frame
    portal.get_by_label("Search").fill("zeta")
    expect(portal.locator("#company-table")).not_to_contain_text("Tall 00")
    short = sized(page, below=tall)
    assert abs(iframe.bounding_box()["height"] - max(200, short)) <= 1


def _blocked(page, refused: list[str]) -> None:
    """Chromium refused to show the portal in the frame: it holds Chromium's error page instead."""
    page.wait_for_function("() => document.getElementById('reseller-portal') !== null")
    frame = frame_of(page)
    deadline = 50
    while not frame.url.startswith("chrome-error://") and deadline:
        page.wait_for_timeout(100)
        deadline -= 1
    assert frame.url.startswith("chrome-error://"), frame.url
    assert refused, "Chromium did not report the refusal"
    assert page.evaluate("window.portalMessages") == []


def test_embed_partner_not_on_the_list_cannot_frame(context, serve, live_server, tenant):
    page = context.new_page()  # the CSP refusal is the expected outcome here, not a failure
    listed = serve(partner_app(live_server.url), host="localhost")
    tenant.a.reseller.embed_origins = listed.url
    db.session.commit()
    other = serve(partner_app(live_server.url), host="localhost")  # another origin (port), not listed
    sso = f"{live_server.url}/embed/sso?token={embed_signin.sign_token(tenant.a.staff)}"
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
    page.goto(f"{other.url}/?src={quote(sso, safe='')}")
    _blocked(page, refused)


def test_embed_listed_partner_cannot_frame_a_normal_page(context, serve, live_server, tenant):
    page = context.new_page()
    partner = serve(partner_app(live_server.url), host="localhost")
    tenant.a.reseller.embed_origins = partner.url
    db.session.commit()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "frame" in m.text.lower() else None)
    page.goto(f"{partner.url}/?src={quote(live_server.url + '/login', safe='')}")
    _blocked(page, refused)
