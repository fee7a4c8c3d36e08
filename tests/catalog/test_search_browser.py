"""A person searching in real Chromium: type, filter, results change in place, the URL follows,
the back button restores, the header box suggests as you type. Plus an accessibility scan."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_accessible, sign_in
from tests.factories import GenreFactory, TrackFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalogue(transactional_db):
    ambient = GenreFactory(name="Ambient", slug="ambient")
    rock = GenreFactory(name="Rock", slug="rock")
    TrackFactory(title="Summer Breeze", genres=[ambient], popularity=5)
    TrackFactory(title="Summer Nights", genres=[rock], popularity=9)
    TrackFactory(title="Night Drive", genres=[rock], popularity=3)
    from django.db import connection

    if connection.vendor == "postgresql":
        from catalog.search_index import rebuild_search_words

        rebuild_search_words()


def heading(page):
    return page.locator("#results-heading")


def test_search_filter_and_back_button_update_results_in_place(page, catalogue):
    page.goto("/tracks/")
    page.evaluate("window.__samePage = true")
    page.get_by_role("searchbox", name="Search royalty-free music").fill("summer")
    page.wait_for_url(re.compile(r"/tracks/\?q=summer$"))
    expect(heading(page)).to_contain_text("2 results")
    rows = page.locator(".track-list .tr-title")
    assert sorted(rows.all_inner_texts()) == ["Summer Breeze", "Summer Nights"]

    page.locator("label[for='f-genre-ambient'], label:has(#f-genre-ambient)").first.click()
    page.wait_for_url(re.compile(r"genre=ambient"))
    expect(heading(page)).to_contain_text("1 result")
    assert rows.all_inner_texts() == ["Summer Breeze"]
    assert page.locator(".active-filters").inner_text().startswith("Genre: Ambient")
    assert page.evaluate("window.__samePage") is True  # updated in place, no page load

    page.go_back()
    page.wait_for_url(re.compile(r"/tracks/\?q=summer$"))
    expect(heading(page)).to_contain_text("2 results")
    assert not page.locator("#f-genre-ambient").is_checked()
    assert page.locator("#search-q").input_value() == "summer"

    page.go_forward()
    page.wait_for_url(re.compile(r"genre=ambient"))
    expect(heading(page)).to_contain_text("1 result")
    assert page.locator("#f-genre-ambient").is_checked()
    page.wait_for_load_state("networkidle")  # no request still in flight when the server stops


def test_header_box_suggests_as_you_type_and_keyboard_picks(page, catalogue):
    page.goto("/")
    box = page.locator("#header-q")
    box.fill("nigh")
    listbox = page.get_by_role("listbox", name="Search suggestions")
    listbox.wait_for()
    assert "Night Drive" in listbox.inner_text()
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "header-q-option-0"
    box.press("Enter")
    page.wait_for_url(re.compile(r"/tracks/\?q=nigh"))
    expect(heading(page)).to_contain_text("2 results for “nigh”")
    page.wait_for_load_state("networkidle")


def test_search_page_is_accessible(page, catalogue):
    page.goto("/tracks/?q=summer&genre=rock")
    heading(page).wait_for()
    assert_accessible(page)
    page.goto("/sounds/")
    assert_accessible(page)
    page.wait_for_load_state("networkidle")


@pytest.fixture
def many_genres(transactional_db):
    """Fourteen genres, each on a track: the list folds six of them behind "Show 6 more"."""
    for i in range(14):
        genre = GenreFactory(name=f"Genre {i:02d}", slug=f"genre-{i:02d}")
        TrackFactory(title=f"Track {i:02d}", genres=[genre], popularity=100 - i, key="C", mode="major")


def test_a_folded_facet_list_opens_by_keyboard_and_stays_open_with_focus_across_updates(page, many_genres):
    page.goto("/tracks/")
    fold = page.locator("details.facet-more[data-facet='genre']")
    summary = fold.locator("summary")
    expect(summary).to_contain_text("Show 6 more")
    assert not page.locator("#f-genre-genre-12").is_visible()

    summary.focus()
    page.keyboard.press("Enter")
    expect(summary).to_contain_text("Show fewer")  # still there: the list can be folded again
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"

    keys = page.locator("details.facet[data-facet-group='key']")
    assert keys.get_attribute("open") is None  # groups after the third start closed
    keys.locator("summary").click()

    page.locator("#f-genre-genre-12").focus()
    page.keyboard.press("Space")  # filter by a folded genre: the results update in place
    page.wait_for_url(re.compile(r"genre=genre-12"))
    expect(heading(page)).to_contain_text("1 result")
    page.keyboard.press("Space")  # and off again: back into the folded part of the list
    page.wait_for_url(re.compile(r"/tracks/$"))
    expect(heading(page)).to_contain_text("14 results")
    expect(page.locator("#f-genre-genre-12")).to_be_visible()  # the list the visitor opened stays open
    assert keys.get_attribute("open") is not None  # and so does the group
    assert page.evaluate("document.activeElement.id") == "f-genre-genre-12"
    page.wait_for_load_state("networkidle")


def test_a_search_result_is_favourited_in_place_from_the_results(page, live_server, owner, catalogue):
    """Result rows each carry their own favourite form; they are not inside the search form (the
    parser would drop a form within a form and the button would submit the search instead)."""
    from catalog.models import Favourite

    sign_in(page, owner, live_server)
    page.goto("/tracks/?q=summer")
    page.evaluate("window.__samePage = true")
    owners = page.locator(".track-row .fav-btn").evaluate_all("bs => bs.map(b => b.form && b.form.className)")
    assert owners == ["fav-form", "fav-form"]  # every row's button posts its own form
    row = page.locator(".track-row").first  # the first row's form was the one the parser dropped
    expect(row).to_contain_text("Summer Nights")

    row.get_by_role("button", name="Add Summer Nights to favourites").click()

    expect(row.locator(".fav-btn")).to_have_attribute("aria-pressed", "true")
    assert page.url.endswith("/tracks/?q=summer") and page.evaluate("window.__samePage") is True
    favourites = Favourite.objects.filter(user=owner).values_list("track__title", flat=True)
    assert list(favourites) == ["Summer Nights"]
    page.wait_for_load_state("networkidle")

    # From the keyboard: the swapped button keeps the focus, so its new state is read out.
    second = page.locator(".track-row").nth(1).locator(".fav-btn")
    second.focus()
    page.keyboard.press("Enter")
    expect(second).to_have_attribute("aria-pressed", "true")
    expect(second).to_be_focused()
    page.keyboard.press("Space")
    expect(second).to_have_attribute("aria-pressed", "false")
    expect(second).to_be_focused()


def test_without_javascript_filters_apply_and_a_result_is_favourited(_browser, live_server, owner, catalogue):
    """The filters join the search form by their form attribute; the rows' favourite forms post
    on their own and come back to the same search."""
    from catalog.models import Favourite

    context = _browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, owner, live_server)
        page.goto("/tracks/?q=summer")
        page.locator("#f-genre-ambient").check()
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"q=summer.*genre=ambient|genre=ambient.*q=summer"))
        assert page.locator(".track-list .tr-title").all_inner_texts() == ["Summer Breeze"]

        page.get_by_role("button", name="Add Summer Breeze to favourites").click()
        page.wait_for_url(re.compile(r"genre=ambient"))
        assert Favourite.objects.filter(user=owner, track__title="Summer Breeze").exists()
        expect(page.get_by_role("button", name="Remove Summer Breeze from favourites")).to_be_visible()
    finally:
        context.close()


def test_results_update_in_place_when_something_styled_the_old_controls(page, catalogue):
    """htmx carries attributes of old elements onto new ones with the same id while it settles;
    a style attribute then trips the Content-Security-Policy (no inline styles). Browser
    extensions and password managers style inputs, so the update must not copy styles: the
    ``page`` fixture fails on any CSP violation."""
    page.goto("/tracks/?q=summer")
    styled = page.evaluate(
        "() => { document.querySelectorAll('#search-body input[id]')"
        ".forEach(el => el.style.outline = 'none');"
        " return document.querySelectorAll('#search-body input[style]').length; }"
    )
    assert styled > 0
    page.locator("label:has(#f-genre-ambient)").first.click()
    page.wait_for_url(re.compile(r"genre=ambient"))
    expect(heading(page)).to_contain_text("1 result")
    page.wait_for_load_state("networkidle")


def test_on_a_phone_the_results_come_first_and_filters_are_one_tap_away(page, catalogue):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/tracks/?q=summer")
    layout = page.evaluate(
        """() => ({
            overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
            brandLeft: document.querySelector('.site-header .brand').getBoundingClientRect().left,
            resultsTop: document.querySelector('#results-heading').getBoundingClientRect().top,
            filtersTop: document.querySelector('#filters').getBoundingClientRect().top,
        })"""
    )
    assert layout["overflow"] == 0  # nothing wider than the phone
    assert layout["brandLeft"] >= 16  # the header keeps its side margin
    assert layout["resultsTop"] < layout["filtersTop"]  # results above the filters
    page.get_by_role("link", name="Filters").click()
    expect(page).to_have_url(re.compile(r"#filters$"))
    expect(page.locator("#f-genre-ambient")).to_be_in_viewport()
    page.get_by_role("link", name="Back to results").click()
    expect(page).to_have_url(re.compile(r"#results-heading$"))
    header_bottom, heading_top = page.evaluate(
        "() => [document.querySelector('.site-header').getBoundingClientRect().bottom,"
        " document.querySelector('#results-heading').getBoundingClientRect().top]"
    )
    assert heading_top >= header_bottom  # not hidden under the sticky header

    page.set_viewport_size({"width": 1280, "height": 900})  # on a wide screen: side by side, no jump link
    expect(page.get_by_role("link", name="Filters")).to_be_hidden()
