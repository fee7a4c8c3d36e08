"""allauth's two-factor and "confirm it's you" pages in the site's words: sentence case, short
explanations, and every flow still working end to end (turning on the authenticator app with the
key the page shows, signing in with password and code, trusting a browser, recovery codes)."""

import html
import re
import time

import pytest
import time_machine
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.conftest import assert_no_stock_wording, give_totp

pytestmark = pytest.mark.django_db

STOCK_TITLE_CASE = [
    "Two-Factor Authentication",
    "Sign In",
    "Sign Out",
    "Trust this Browser?",
    "Don't Trust",
    "Confirm Access",
    "Please reauthenticate",
    "Alternative options",
    "Use authenticator app or code",
    "Enter an authenticator code",
    "Activate Authenticator App",
    "Deactivate Authenticator App",
    "Authenticator App",
    "Authenticator secret",
    "Recovery Codes",
    "recovery codes available",
    "Unused codes",
    "Generate new codes",
    "Are you sure?",
]


def assert_no_title_case(page):
    assert_no_stock_wording(page, STOCK_TITLE_CASE)


def code_for(secret):
    """The 6-digit code an authenticator app shows for this key now."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


@pytest.fixture
def still_clock():
    """The clock stands still, so a code worked out here is still the app's code when the view
    checks it (allauth accepts only the current 30-second window)."""
    with time_machine.travel(time.time(), tick=False):
        yield


def secret_of(user):
    from allauth.mfa.utils import decrypt

    return decrypt(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"])


def give_totp_secret(user):
    secret = generate_totp_secret()
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, secret)
    return secret


def sign_in_with_password(client, user, password):
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302
    return response


def textarea_codes(page):
    match = re.search(r'<textarea[^>]*id="recovery_codes"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, "the codes are not on the page"
    return match.group(1).split()


# --- turning two-factor on, from the settings page to the recovery codes -------------------


@pytest.mark.usefixtures("still_clock")
def test_member_turns_on_the_authenticator_app_with_the_key_the_page_shows(
    owner_client, members, password, django_capture_on_commit_callbacks
):
    owner = members[0]
    index = owner_client.get(reverse("mfa_index")).text
    assert "<h1>Two-factor authentication</h1>" in index
    assert "Authenticator app" in index and "Set up an authenticator app" in index
    assert "Recovery codes" in index and "You get recovery codes when you set up" in index
    assert_no_title_case(index)

    # allauth asks for the password first (the sign-in is not recent enough).
    response = owner_client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    confirm = owner_client.get(response.url).text
    assert "<h1>Confirm it's you</h1>" in confirm and "Enter your password." in confirm
    assert 'name="password"' in confirm and "csrfmiddlewaretoken" in confirm
    assert f'name="next" value="{reverse("mfa_activate_totp")}"' in confirm
    assert "Continue" in confirm
    assert_no_title_case(confirm)
    response = owner_client.post(response.url, {"password": password})
    assert response.url == reverse("mfa_activate_totp")

    page = owner_client.get(reverse("mfa_activate_totp")).text
    assert "<h1>Set up an authenticator app</h1>" in page
    assert (
        'src="data:image/svg+xml;base64,' in page
        and 'alt="QR code to scan with your authenticator app"' in page
    )
    assert "Can't scan it? Type this key into the app instead" in page
    assert "Enter the 6-digit code the app now shows" in page
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert ">Turn on two-factor</button>" in page and "csrfmiddlewaretoken" in page
    assert 'href="otpauth://totp/owner%40example.com?secret=' in page  # set-up on the phone itself
    assert_no_title_case(page)
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7=]+)"', page).group(1)
    assert f"secret={secret}&amp;issuer=AllMyTracks" in page  # the link holds the same key

    wrong = owner_client.post(
        reverse("mfa_activate_totp"), {"code": f"{(int(code_for(secret)) + 1) % 10**6:06}"}
    )
    assert wrong.status_code == 200
    assert "Incorrect code." in wrong.text and 'aria-invalid="true"' in wrong.text
    assert "<h1>Set up an authenticator app</h1>" in wrong.text
    assert not Authenticator.objects.filter(user=owner).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})
    assert response.url == reverse("mfa_view_recovery_codes")
    assert secret_of(owner) == secret
    assert mail.outbox[-1].to == [owner.email]  # allauth's "authenticator app activated" notice

    codes_page = owner_client.get(response.url).text
    assert "<h1>Recovery codes</h1>" in codes_page
    assert "Each code works once." in codes_page
    assert (
        f"{mfa_settings.RECOVERY_CODE_COUNT} of {mfa_settings.RECOVERY_CODE_COUNT} codes left." in codes_page
    )
    assert "Your unused codes" in codes_page
    assert f'method="get" action="{reverse("mfa_download_recovery_codes")}"' in codes_page
    assert ">Download codes</button>" in codes_page and "Create new codes" in codes_page
    assert "Go to the staff site" not in codes_page
    assert_no_title_case(codes_page)
    codes = textarea_codes(codes_page)
    assert codes == RecoveryCodes.activate(owner).get_unused_codes()

    download = owner_client.get(reverse("mfa_download_recovery_codes"))
    assert download["Content-Type"].startswith("text/plain")
    assert "attachment" in download["Content-Disposition"]
    assert download.content.decode().split() == codes

    index = owner_client.get(reverse("mfa_index")).text
    assert "Signing in asks for a code from your app." in index and "Turn off" in index
    assert "Show codes" in index and "Download codes" in index and "Create new codes" in index
    assert_no_title_case(index)


def test_staff_sent_to_set_up_two_factor_can_go_on_to_the_staff_site_afterwards(
    staff_client, members, password
):
    staff = members[2]
    give_totp(staff)
    RecoveryCodes.activate(staff)
    staff_client.post(reverse("account_reauthenticate"), {"password": password})
    page = staff_client.get(reverse("mfa_view_recovery_codes")).text
    assert "Go to the staff site" in page and f'href="{reverse("admin:index")}"' in page
    index = staff_client.get(reverse("mfa_index")).text
    assert "Staff need it for the staff site." in index


# --- signing in: password, then the code, then trust this browser -----------------------------


@pytest.mark.usefixtures("still_clock")
def test_member_with_two_factor_signs_in_with_password_and_a_code_from_the_app(
    anon_client, members, password
):
    owner = members[0]
    secret = give_totp_secret(owner)

    response = sign_in_with_password(anon_client, owner, password)
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in anon_client.session
    page = anon_client.get(response.url).text
    assert "<title>Sign in · AllMyTracks</title>" in page
    assert "<h1>Two-step sign-in</h1>" in page
    assert "Enter the 6-digit code from your authenticator app." in page
    assert "Enter one of your recovery codes instead." in page
    assert 'name="code"' in page and "autofocus" in page and "csrfmiddlewaretoken" in page
    assert "Sign in</button>" in page and 'form="logout-from-stage"' in page
    assert 'id="logout-from-stage"' in page and "Trouble signing in?" in page
    assert_no_title_case(page)

    wrong = anon_client.post(reverse("mfa_authenticate"), {"code": "12345"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.text
    assert "<h1>Two-step sign-in</h1>" in wrong.text
    assert "_auth_user_id" not in anon_client.session

    response = anon_client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert response.url == reverse("mfa_trust")
    trust = anon_client.get(response.url).text
    assert mfa_settings.TRUST_COOKIE_AGE.days == 14
    assert "<title>Trust this browser? · AllMyTracks</title>" in trust
    assert "<h1>Trust this browser for 2\xa0weeks?</h1>" in trust
    assert "For the next 2\xa0weeks, signing in on this browser will not ask for a code" in trust
    assert 'value="trust"' in trust and ">Trust this browser</button>" in trust
    assert 'value="skip"' in trust and ">Don't trust it</button>" in trust
    assert "Cancel sign-in</button>" in trust and 'id="logout-from-stage"' in trust
    assert_no_title_case(trust)

    response = anon_client.post(reverse("mfa_trust"), {"action": "trust"})
    assert response.status_code == 302
    assert int(anon_client.session["_auth_user_id"]) == owner.pk
    assert mfa_settings.TRUST_COOKIE_NAME in response.cookies

    # Trusted: the next sign-in on this browser asks for the password only.
    anon_client.post(reverse("account_logout"))
    response = sign_in_with_password(anon_client, owner, password)
    assert response.url != reverse("mfa_authenticate")
    assert int(anon_client.session["_auth_user_id"]) == owner.pk


@pytest.mark.usefixtures("still_clock")
def test_not_trusting_the_browser_asks_for_a_code_at_the_next_sign_in(anon_client, members, password):
    owner = members[0]
    secret = give_totp_secret(owner)
    sign_in_with_password(anon_client, owner, password)
    anon_client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    response = anon_client.post(reverse("mfa_trust"), {"action": "skip"})
    assert int(anon_client.session["_auth_user_id"]) == owner.pk
    assert mfa_settings.TRUST_COOKIE_NAME not in response.cookies
    anon_client.post(reverse("account_logout"))
    assert sign_in_with_password(anon_client, owner, password).url == reverse("mfa_authenticate")


def test_a_recovery_code_signs_in_once(anon_client, members, password):
    owner = members[0]
    give_totp(owner)
    code = RecoveryCodes.activate(owner).get_unused_codes()[0]
    sign_in_with_password(anon_client, owner, password)
    assert anon_client.post(reverse("mfa_authenticate"), {"code": code}).url == reverse("mfa_trust")

    other_browser = Client()
    sign_in_with_password(other_browser, owner, password)
    again = other_browser.post(reverse("mfa_authenticate"), {"code": code})
    assert again.status_code == 200 and "Incorrect code." in again.text


def test_cancelling_the_code_step_goes_back_to_sign_in_signed_out(anon_client, members, password):
    owner = members[0]
    give_totp(owner)
    sign_in_with_password(anon_client, owner, password)
    response = anon_client.post(reverse("account_logout"), {"next": reverse("account_login")})
    assert response.url == reverse("account_login")
    assert anon_client.get(reverse("mfa_authenticate")).url == reverse("account_login")
    assert "_auth_user_id" not in anon_client.session


# --- confirming it's you with the app, turning two-factor off ----------------------------------


@pytest.mark.usefixtures("still_clock")
def test_member_confirms_with_the_app_and_turns_two_factor_off(owner_client, members):
    owner = members[0]
    secret = give_totp_secret(owner)
    RecoveryCodes.activate(owner)

    response = owner_client.get(reverse("mfa_deactivate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    confirm = owner_client.get(response.url).text
    assert "Other ways to confirm" in confirm
    assert "Use your authenticator app</a>" in confirm
    assert_no_title_case(confirm)

    mfa_url = html.unescape(re.search(rf'href="({reverse("mfa_reauthenticate")}[^"]*)"', confirm).group(1))
    page = owner_client.get(mfa_url).text
    assert "<h1>Confirm it's you</h1>" in page
    assert "Enter the 6-digit code from your authenticator app." in page
    assert "Enter one of your recovery codes instead." in page
    assert f'name="next" value="{reverse("mfa_deactivate_totp")}"' in page
    assert "Use your password" in page and "csrfmiddlewaretoken" in page
    assert_no_title_case(page)
    response = owner_client.post(mfa_url, {"code": code_for(secret)})
    assert response.url == reverse("mfa_deactivate_totp")

    page = owner_client.get(reverse("mfa_deactivate_totp")).text
    assert "<h1>Turn off two-factor authentication?</h1>" in page
    assert "your recovery codes will stop working" in page
    assert "Turn off</button>" in page and "Keep it on" in page
    assert_no_title_case(page)
    response = owner_client.post(reverse("mfa_deactivate_totp"))
    assert response.url == reverse("mfa_index")
    assert not Authenticator.objects.filter(user=owner).exists()
    index = owner_client.get(response.url).text
    assert "Two-factor authentication is off." in index and "Set up an authenticator app" in index


def test_member_creates_new_recovery_codes_and_the_old_ones_stop_working(owner_client, members, password):
    owner = members[0]
    give_totp(owner)
    old_codes = RecoveryCodes.activate(owner).get_unused_codes()
    owner_client.post(reverse("account_reauthenticate"), {"password": password})

    page = owner_client.get(reverse("mfa_generate_recovery_codes")).text
    assert "<h1>Create new recovery codes?</h1>" in page
    assert "Your current codes will stop working straight away." in page
    assert "Create new codes</button>" in page and "Cancel" in page and "csrfmiddlewaretoken" in page
    assert_no_title_case(page)

    response = owner_client.post(reverse("mfa_generate_recovery_codes"))
    assert response.url == reverse("mfa_view_recovery_codes")
    new_codes = textarea_codes(owner_client.get(response.url).text)
    assert len(new_codes) == mfa_settings.RECOVERY_CODE_COUNT
    assert not set(new_codes) & set(old_codes)


@pytest.mark.usefixtures("still_clock")
def test_confirming_with_a_code_already_used_is_refused(owner_client, members):
    owner = members[0]
    secret = give_totp_secret(owner)
    code = code_for(secret)
    assert owner_client.post(reverse("mfa_reauthenticate"), {"code": code}).status_code == 302
    again = owner_client.post(reverse("mfa_reauthenticate"), {"code": code})
    assert again.status_code == 200 and "Incorrect code." in again.text
    assert "<h1>Confirm it's you</h1>" in again.text


# --- the personas: each page is its owner's only -------------------------------------------


@pytest.mark.parametrize(
    "name", ["mfa_index", "mfa_activate_totp", "mfa_view_recovery_codes", "mfa_reauthenticate"]
)
def test_visitors_who_are_not_signed_in_are_sent_to_sign_in(anon_client, name):
    response = anon_client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_another_member_sees_only_their_own_two_factor_state(owner_client, other_client, members):
    owner = members[0]
    give_totp(owner)
    owner_codes = RecoveryCodes.activate(owner).get_unused_codes()
    assert "Signing in asks for a code from your app." in owner_client.get(reverse("mfa_index")).text
    other_index = other_client.get(reverse("mfa_index")).text
    assert "Set up an authenticator app" in other_index
    assert other_client.get(reverse("mfa_view_recovery_codes")).status_code == 404
    assert other_client.get(reverse("mfa_download_recovery_codes")).status_code == 404
    assert not set(owner_codes) & set(other_index.split())
