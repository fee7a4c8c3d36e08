import pytest
from django.db.utils import OperationalError

from allmytracks import views

pytestmark = pytest.mark.django_db


def test_home_page_says_what_the_service_is(anon_client):
    response = anon_client.get("/")
    assert response.status_code == 200
    assert b"licensed for the project you make" in response.content
    assert b"support@allmytracks.example" in response.content


def test_every_page_sends_the_security_headers(anon_client):
    response = anon_client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert "script-src 'self' 'nonce-" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"'.encode() in response.content  # the htmx script carries it
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_unknown_url_shows_the_branded_404(anon_client):
    response = anon_client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"We couldn\xe2\x80\x99t find that page" in response.content


def test_wrong_method_is_refused_with_405(anon_client):
    assert anon_client.post("/healthz").status_code == 405


def test_server_error_shows_the_branded_500_without_a_traceback(settings, anon_client):
    settings.ROOT_URLCONF = "tests.foundation.urls"
    anon_client.raise_request_exception = False
    response = anon_client.get("/test/boom/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"secret internal detail" not in response.content
    assert b"Traceback" not in response.content


def test_oversized_request_body_is_refused_with_400(settings, anon_client):
    settings.ROOT_URLCONF = "tests.foundation.urls"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = anon_client.post("/test/echo/", {"field": "x" * 5000})
    assert response.status_code == 400
    assert b"could not be understood" in response.content


def test_post_without_csrf_token_gets_the_branded_csrf_page(owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert b"Your session form expired" in response.content


def test_robots_txt_keeps_crawlers_out_of_private_areas(anon_client):
    response = anon_client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /account/" in response.content.decode()
    assert "Disallow: /admin/" in response.content.decode()
    assert "Disallow: /playlists/" in response.content.decode()


def test_favicon_is_served(anon_client):
    response = anon_client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_healthz_reports_every_service_ok(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_answers_503_naming_a_database_that_is_down(anon_client, monkeypatch):
    def down():
        raise OperationalError("connection refused")

    monkeypatch.setitem(views.CHECKS, "database", down)
    response = anon_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "connection refused" not in response.content.decode()


def test_healthz_checks_at_most_every_few_seconds_in_a_process(anon_client, monkeypatch):
    """A public page whose checks open connections: callers within ``HEALTHZ_SECONDS`` get the
    last answer, a failure included."""
    runs = []

    def down():
        runs.append(1)
        raise OperationalError("connection refused")

    monkeypatch.setitem(views.CHECKS, "database", down)
    monkeypatch.setattr(views, "_clock", lambda: 1000.0)
    assert [anon_client.get("/healthz").status_code for _ in range(5)] == [503] * 5
    assert len(runs) == 1
    monkeypatch.setattr(views, "_clock", lambda: 1000.0 + views.HEALTHZ_SECONDS)
    assert anon_client.get("/healthz").status_code == 503 and len(runs) == 2


def test_healthz_reports_an_unreachable_broker(anon_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from allmytracks.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = anon_client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_pages_go_out_gzipped_to_browsers_that_accept_it(anon_client):
    import gzip

    plain = anon_client.get("/")
    packed = anon_client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})

    assert "Content-Encoding" not in plain and "Accept-Encoding" in plain["Vary"]
    assert packed["Content-Encoding"] == "gzip"
    assert len(packed.content) < len(plain.content) / 2
    assert b"licensed for the project you make" in gzip.decompress(packed.content)
    # Random padding in every answer: sizes do not betray what the page holds (BREACH).
    sizes = {len(anon_client.get("/", headers={"Accept-Encoding": "gzip"}).content) for _ in range(6)}
    assert len(sizes) > 1


def test_the_parts_kept_between_pages_never_carry_one_visitors_account_to_another(
    anon_client, owner_client, other_client, owner, other
):
    """The site head, brand, navigation and footer are rendered once per process (the
    ``fragments`` cache); the account menu, CSRF token and search box are every visitor's own
    (the htmx CSRF header only for signed-in visitors: nobody else posts through htmx)."""
    pages = [("/tracks/?q=harbour", "harbour"), ("/tracks/?q=lights", "lights")]
    seen = []
    visitors = ((anon_client, None), (owner_client, owner), (other_client, other), (anon_client, None))
    for client, who in visitors:
        for url, q in pages:
            html = client.get(url).content.decode()
            assert 'class="site-footer"' in html and 'class="main-nav"' in html  # the kept parts are there
            assert f'id="header-q" type="search" name="q" value="{q}"' in html
            for person in (owner, other):
                assert (person.email in html) == (person == who), (who, person)
            assert ("Sign in</a>" in html) == (who is None)
            if who is None:  # nothing to post through htmx: no token made
                assert "X-CSRFToken" not in html
            else:
                seen.append(html.split('hx-headers=\'{"X-CSRFToken": "')[1].split('"')[0])
    assert len(seen) == 4 and len(set(seen)) == len(seen)  # a fresh masked CSRF token on every page


def test_every_page_carries_its_own_csp_nonce_in_its_scripts(anon_client, owner_client):
    """Inline-capable script tags carry the response's nonce; none is kept from another page."""
    import re

    nonces = []
    for client in (anon_client, owner_client, anon_client):
        response = client.get("/tracks/")
        header = response.get("Content-Security-Policy", "")
        page_nonces = set(re.findall(r'<script[^>]* nonce="([^"]+)"', response.content.decode()))
        assert page_nonces  # htmx's script tag carries one
        for nonce in page_nonces:
            assert f"'nonce-{nonce}'" in header
        nonces += page_nonces
    assert len(nonces) == len(set(nonces))
