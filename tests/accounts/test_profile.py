"""The email ID never changes; profile edits, name blocklist, reauthentication, avatar."""

import io

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import NameBlocklistEntry, User
from accounts.names import blocked_term, validate_allowed_name

pytestmark = pytest.mark.django_db


def profile_data(user, **overrides):
    data = {"display_name": user.display_name, "country": "", "company": "", "bio": ""}
    data.update(overrides)
    return data


def reauthenticate(client, password):
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302


# --- the ID ---------------------------------------------------------------------------


def test_allauth_email_page_cannot_add_another_address(owner_client, members):
    response = owner_client.post(reverse("account_email"), {"action_add": "", "email": "second@example.com"})
    assert response.status_code == 403
    assert not EmailAddress.objects.filter(email="second@example.com").exists()


def test_allauth_email_page_cannot_remove_or_switch_the_address(owner_client, members):
    for action in ("action_remove", "action_primary"):
        response = owner_client.post(reverse("account_email"), {action: "", "email": "owner@example.com"})
        assert response.status_code == 403
    assert EmailAddress.objects.filter(email="owner@example.com", primary=True).exists()


def test_email_page_explains_the_id_cannot_change(owner_client, members):
    page = owner_client.get(reverse("account_email"))
    assert "cannot be changed" in page.text
    assert 'name="action_add"' not in page.text


def test_profile_form_ignores_an_email_field(owner_client, members):
    owner = members[0]
    owner_client.post(reverse("accounts:profile"), {**profile_data(owner), "email": "hijack@example.com"})
    owner.refresh_from_db()
    assert owner.email == "owner@example.com"


def test_the_model_refuses_an_email_change(members):
    owner = members[0]
    owner.email = "new@example.com"
    with pytest.raises(ValueError):
        owner.save()


# --- blocklist --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Administrator",
        "\u0410dministrator",  # Cyrillic А
        "admin\u200bistrator",  # zero-width space
        "ＡＤＭＩＮ",  # full-width, folded by NFKC
        "4dm1n",
        "Official Beats",
        "S.t.a.f.f",
        "Allmytracks Team",
        "AdminTeam",
        "Staff-Picks",
        "the_admin",
        "Admins",
        "$taff",
    ],
)
def test_names_that_impersonate_staff_are_refused(db, name):
    with pytest.raises(ValidationError) as exc:
        validate_allowed_name(name)
    assert "look-alike" in exc.value.messages[0]


@pytest.mark.parametrize(
    "name",
    [
        "Olivia Owner",
        "Zoë Müller",
        "李小龙",
        "Sound Lab",
        "Booking.com",
        "AC/DC Fans",
        # Words that hold a short term inside them are names, not claims to be staff.
        "Staffan Lindqvist",
        "Badminton Club",
        "Unofficial Records",
        "Supporters Club",
        "Staffordshire Films",
    ],
)
def test_ordinary_names_are_allowed(db, name):
    assert validate_allowed_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["Jane https://pay.example", "see www.pay.example", "pay.example/renew", "Jane (HTTP://x.example)"],
)
def test_a_name_cannot_carry_a_web_address_but_profile_text_can(db, name):
    with pytest.raises(ValidationError) as exc:
        validate_allowed_name(name, what="Your name")
    assert exc.value.messages == ["Your name cannot contain a web address."]
    assert validate_allowed_name(f"My work: {name}", web_address_ok=True) == f"My work: {name}"


def test_staff_added_blocklist_words_apply_at_once(db):
    assert blocked_term("Label Boss") is None
    NameBlocklistEntry.objects.create(term="boss")
    assert blocked_term("Label B\u043e\u0455\u0455") == "boss"  # Cyrillic о and ѕ


def test_profile_with_a_blocked_name_shows_a_clear_error_and_keeps_the_input(owner_client, members, password):
    reauthenticate(owner_client, password)
    response = owner_client.post(
        reverse("accounts:profile"), profile_data(members[0], display_name="\u0410dmin Team", bio="Hello")
    )
    assert response.status_code == 200
    assert "cannot contain" in response.text
    assert "Hello" in response.text
    assert User.objects.get(pk=members[0].pk).display_name == "Olivia Owner"


def test_profile_text_is_checked_too(owner_client, members):
    response = owner_client.post(
        reverse("accounts:profile"), profile_data(members[0], bio="I am the moderator")
    )
    assert "Your profile text cannot contain" in response.text


# --- reauthentication ---------------------------------------------------------------------


def test_changing_the_display_name_asks_for_the_password_again(owner_client, members, password):
    owner = members[0]
    response = owner_client.post(reverse("accounts:profile"), profile_data(owner, display_name="Liv"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    owner.refresh_from_db()
    assert owner.display_name == "Olivia Owner"
    # allauth replays the suspended request after the password is given.
    response = owner_client.post(response.url, {"password": password})
    owner.refresh_from_db()
    assert owner.display_name == "Liv"


def test_non_sensitive_changes_save_without_the_password(owner_client, members):
    owner = members[0]
    response = owner_client.post(reverse("accounts:profile"), profile_data(owner, country="GB", bio="Editor"))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.country == "GB" and owner.bio == "Editor"


def test_the_country_is_chosen_by_name_and_only_a_real_country_is_kept(owner_client, members):
    owner = members[0]
    page = owner_client.get(reverse("accounts:profile")).content.decode()
    assert (
        '<option value="DE">Germany</option>' in page
        and '<option value="" selected>Choose your country' in page
    )
    for forged in ("ĞB", "XX", "gbr"):
        response = owner_client.post(reverse("accounts:profile"), profile_data(owner, country=forged))
        assert response.status_code == 200
        assert "Choose your country from the list." in response.content.decode()
    owner.refresh_from_db()
    assert owner.country == ""


def test_marketing_choice_in_profile_is_recorded_with_legal(owner_client, members):
    from legal import services as legal

    owner_client.post(reverse("accounts:profile"), profile_data(members[0], marketing_opt_in="on"))
    assert legal.marketing_opted_in(members[0])
    owner_client.post(reverse("accounts:profile"), profile_data(members[0]))
    assert not legal.marketing_opted_in(members[0])


def test_saving_the_profile_after_a_forced_rename_lifts_the_review(owner_client, members, staff, password):
    from accounts import services
    from allmytracks.models import AuditLog

    owner = members[0]
    services.request_profile_review(user=owner, actor=staff, kind="rename", message="Choose another name")
    reauthenticate(owner_client, password)
    owner_client.post(reverse("accounts:profile"), profile_data(owner, display_name="Olivia O."))
    owner.refresh_from_db()
    assert owner.profile_review == "" and owner.display_name == "Olivia O."
    assert AuditLog.objects.for_object(owner).filter(action="accounts.profile_resubmitted").exists()
    assert owner_client.get(reverse("accounts:account")).status_code == 200


def test_a_forced_rename_is_not_lifted_by_saving_the_same_name(owner_client, members, staff, password):
    from accounts import services

    owner = members[0]
    services.request_profile_review(user=owner, actor=staff, kind="rename", message="Choose another name")
    reauthenticate(owner_client, password)
    for same in ("Olivia Owner", "  olivia   OWNER "):
        response = owner_client.post(reverse("accounts:profile"), profile_data(owner, display_name=same))
        assert response.status_code == 200
        assert "Staff asked you to choose a new display name: enter a different one." in response.text
    owner.refresh_from_db()
    assert owner.profile_review == "rename"
    assert owner_client.get(reverse("accounts:account")).status_code == 302  # still held at the profile


def test_refused_registration_data_is_not_lifted_by_saving_the_profile_unchanged(
    owner_client, members, staff, password
):
    from accounts import services

    owner = members[0]
    services.request_profile_review(user=owner, actor=staff, kind="resubmit", message="Your company is wrong")
    reauthenticate(owner_client, password)
    response = owner_client.post(reverse("accounts:profile"), profile_data(owner))
    assert response.status_code == 200 and "correct your registration details" in response.text
    owner.refresh_from_db()
    assert owner.profile_review == "resubmit"
    response = owner_client.post(reverse("accounts:profile"), profile_data(owner, company="Owner Films Ltd"))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.profile_review == "" and owner.company == "Owner Films Ltd"


# --- avatar ---------------------------------------------------------------------------------


def png_bytes(size=(64, 64), **save_kwargs):
    out = io.BytesIO()
    Image.new("RGB", size, "purple").save(out, "PNG", **save_kwargs)
    return out.getvalue()


def test_avatar_is_re_encoded_and_resized(owner_client, members):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-metadata")
    upload = SimpleUploadedFile("me.png", png_bytes((1200, 900), pnginfo=info), content_type="image/png")
    response = owner_client.post(reverse("accounts:profile"), {**profile_data(members[0]), "avatar": upload})
    assert response.status_code == 302
    owner = User.objects.get(pk=members[0].pk)
    with owner.avatar.open("rb") as fh:
        data = fh.read()
    assert b"secret-metadata" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert max(image.size) == 512


def test_a_large_photo_makes_an_avatar_but_a_huge_png_is_refused_with_its_size(
    owner_client, members, monkeypatch
):
    """A 24-megapixel JPEG (a phone photo) is decoded at a reduced scale; a PNG is decoded in full,
    so one of 20 megapixels (which compresses to a few kilobytes) is refused, saying why."""
    from PIL import JpegImagePlugin

    decoded = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def load(image):
        decoded.append(image.size)  # the size it is decoded at, after draft()
        return real_load(image)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    photo = io.BytesIO()
    Image.new("RGB", (6000, 4000), "teal").save(photo, "JPEG", quality=60)
    upload = SimpleUploadedFile("photo.jpg", photo.getvalue(), content_type="image/jpeg")
    response = owner_client.post(reverse("accounts:profile"), {**profile_data(members[0]), "avatar": upload})
    assert response.status_code == 302
    assert decoded[0] == (1500, 1000)  # 6000 × 4000 decoded at a quarter: a sixteenth of the pixels
    with User.objects.get(pk=members[0].pk).avatar.open("rb") as fh, Image.open(fh) as image:
        assert image.size == (512, 341)

    upload = SimpleUploadedFile("huge.png", png_bytes((5000, 4000), optimize=False), content_type="image/png")
    response = owner_client.post(reverse("accounts:profile"), {**profile_data(members[0]), "avatar": upload})
    assert response.status_code == 200
    assert "5,000 × 4,000 pixels" in response.text and "Save a smaller copy" in response.text


def test_a_phone_photo_keeps_its_orientation_and_a_multi_picture_jpeg_is_a_jpeg(owner_client, members):
    """The orientation tag is dropped with the metadata, so the picture is turned first; Pillow
    reads some phones' JPEGs as MPO (several pictures), which is still a photo."""

    def upload(data, name):
        file = SimpleUploadedFile(name, data, content_type="image/jpeg")
        response = owner_client.post(
            reverse("accounts:profile"), {**profile_data(members[0]), "avatar": file}
        )
        assert response.status_code == 302, response.content[:2000]
        with User.objects.get(pk=members[0].pk).avatar.open("rb") as fh, Image.open(fh) as image:
            return image.size

    sideways = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90° clockwise to view
    Image.new("RGB", (200, 100), "teal").save(sideways, "JPEG", exif=exif)
    assert upload(sideways.getvalue(), "portrait.jpg") == (100, 200)

    multi = io.BytesIO()
    Image.new("RGB", (300, 200), "teal").save(
        multi, "MPO", save_all=True, append_images=[Image.new("RGB", (300, 200), "navy")]
    )
    with Image.open(io.BytesIO(multi.getvalue())) as probe:
        assert probe.format == "MPO"
    assert upload(multi.getvalue(), "photo.jpg") == (300, 200)


def test_avatar_that_is_not_an_image_is_refused(owner_client, members):
    upload = SimpleUploadedFile("me.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = owner_client.post(reverse("accounts:profile"), {**profile_data(members[0]), "avatar": upload})
    assert response.status_code == 200
    assert "not" in response.text.lower() and "image" in response.text.lower()
    assert not User.objects.get(pk=members[0].pk).avatar


def test_countries_saved_before_the_list_become_iso_codes_or_are_cleared(members):
    """Migration accounts/0006: "UK" is GB, a real code stays, what is no country's code is cleared."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0006_countries_from_the_iso_list")
    owner, other, third = members
    for user, country in ((owner, "UK"), (other, "ĞB"), (third, "DE")):
        User.objects.filter(pk=user.pk).update(country=country)
    migration.to_iso_codes(apps, None)
    assert [User.objects.get(pk=u.pk).country for u in (owner, other, third)] == ["GB", "", "DE"]


def test_a_profile_without_its_date_of_birth_asks_for_it_in_plain_words(client):
    """Accounts from before sign-up asked for it (or from Google/Apple) give it on the profile."""
    from tests.factories import UserFactory

    user = UserFactory(date_of_birth=None)
    client.force_login(user)
    response = client.post(reverse("accounts:profile"), profile_data(user))
    assert response.status_code == 200
    assert "Enter your date of birth." in response.text and "This field is required." not in response.text
    user.refresh_from_db()
    assert user.date_of_birth is None
