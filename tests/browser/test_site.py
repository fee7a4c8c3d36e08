import pytest

from tests.browser.fixtures import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_says_what_the_service_is_and_passes_an_accessibility_scan(page):
    page.goto("/")
    assert "AllMyTracks" in page.title()
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
