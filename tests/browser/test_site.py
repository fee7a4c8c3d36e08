import pytest

from tests.browser.fixtures import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_says_what_the_service_is_and_passes_an_accessibility_scan(page):
    from tests.factories import GenreFactory, MoodFactory, TrackFactory, TrackVersionFactory

    mood = MoodFactory(name="Uplifting")
    TrackVersionFactory(track=TrackFactory(moods=[mood], genres=[GenreFactory(name="Lo-fi")]))
    page.goto("/")
    assert "AllMyTracks" in page.title()
    browse = page.get_by_role("navigation", name="Browse music by mood or genre")
    browse.get_by_role("link", name="Uplifting").click()
    page.wait_for_url(f"**/tracks/?mood={mood.slug}")
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Music that fits your story")
    assert page.get_by_role("link", name="Create account").is_visible()
    footer = page.locator("footer")
    assert "support@" in footer.inner_text()
    assert_accessible(page)


def test_unknown_page_shows_the_branded_404(page):
    response = page.goto("/no-such-page/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "We couldn’t find that page"
    assert page.get_by_role("link", name="Go to the home page").is_visible()
    assert_accessible(page)


PHONE_PAGES = ["/", "/tracks/", "/legal/", "/pricing/", "/collections/", "/accounts/login/"]


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_on_a_phone_pages_fit_the_screen_and_keep_their_side_margins(page, path):
    """Nothing wider than a 390 px screen, and page content not pressed against its edges."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    found = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const edge = [];
            const seen = 'main h1, main h2, main p, main .card, .site-header .brand';
            document.querySelectorAll(seen).forEach(el => {
                const r = el.getBoundingClientRect();
                const pressed = r.left < 12 || r.right > width - 12;
                if (r.width && pressed) edge.push(el.tagName + '.' + el.className);
            });
            return {overflow: document.documentElement.scrollWidth - width, edge};
        }"""
    )
    assert found["overflow"] == 0
    assert found["edge"] == []
