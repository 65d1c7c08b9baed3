"""gzip for answers that carry no secret (compression.py), through HTTP, on SQLite and PostgreSQL."""
import gzip

from . import factories

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
ROWS = {"HX-Target": "room-rows"}


def test_a_search_fragment_is_compressed_and_reads_the_same(reseller_client, world):
    for i in range(12):
        factories.room(world.a.company, f"Harbour room {i}")
    plain = reseller_client.get("/rooms?q=harbour", htmx=True, headers=ROWS)
    packed = reseller_client.get("/rooms?q=harbour", htmx=True, headers={**ROWS, **GZIP})
    assert plain.status_code == packed.status_code == 200 and len(plain.data) > 1024
    assert "Content-Encoding" not in plain.headers  # no Accept-Encoding: sent as it is
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 3


def test_an_answer_with_the_csrf_token_is_never_compressed(reseller_client, world):
    """BREACH: a secret beside text the requester chose (here the search term) must not be compressed."""
    page = reseller_client.get("/rooms?q=guess", headers=GZIP)
    assert page.status_code == 200 and '"X-CSRFToken": "' in page.text and len(page.data) > 1024
    assert "Content-Encoding" not in page.headers
    form = reseller_client.get("/rooms/new", htmx=True, headers=GZIP)  # a form in the panel holds the token
    assert form.status_code == 200 and 'name="csrf_token"' in form.text and len(form.data) > 1024
    assert "Content-Encoding" not in form.headers


def test_small_streamed_and_static_answers_are_left_alone(reseller_client, world):
    check = reseller_client.get("/rooms/check-slug?slug=free-slug-here", headers=GZIP)
    assert check.status_code == 200 and len(check.data) < 1024 and "Content-Encoding" not in check.headers
    export = reseller_client.get("/rooms/export.csv", headers=GZIP)  # streamed
    assert export.status_code == 200 and "Content-Encoding" not in export.headers
    assert export.data.startswith("\ufeff".encode())
    static = reseller_client.get("/static/portal.js", headers=GZIP)
    assert static.status_code == 200 and "Content-Encoding" not in static.headers
    static.close()
