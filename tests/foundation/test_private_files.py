import time

import pytest
import time_machine
from django.core.files.base import ContentFile

from allmytracks.storage import private_download_url, private_storage

pytestmark = pytest.mark.django_db


@pytest.fixture
def master():
    return private_storage().save("masters/abc.wav", ContentFile(b"RIFF-test-audio", name="abc.wav"))


def test_signed_link_downloads_the_file_as_an_attachment_with_its_filename(anon_client, master):
    url = private_download_url(
        master, filename="Artist - Title (AMT-7QK4-M2XD).wav", content_type="audio/wav"
    )
    response = anon_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"RIFF-test-audio"
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith("attachment")
    assert "AMT-7QK4-M2XD" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"


def test_tampered_link_is_refused(anon_client, master):
    url = private_download_url(master, filename="a.wav")
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = url.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    response = anon_client.get(forged)
    assert response.status_code == 403
    assert b"not valid" in response.content


def test_expired_link_is_refused(anon_client, master):
    url = private_download_url(master, filename="a.wav", max_age=60)
    with time_machine.travel(time.time() + 61):
        response = anon_client.get(url)
    assert response.status_code == 403
    assert b"expired" in response.content


def test_link_is_bound_to_one_file(anon_client, master):
    private_storage().save("masters/other.wav", ContentFile(b"other", name="other.wav"))
    url = private_download_url(master, filename="a.wav")
    assert "other" not in url
    assert b"".join(anon_client.get(url).streaming_content) == b"RIFF-test-audio"


def test_link_to_a_missing_file_is_404(anon_client):
    url = private_download_url("masters/gone.wav", filename="gone.wav")
    assert anon_client.get(url).status_code == 404


def test_private_files_are_not_reachable_under_media(anon_client, master):
    assert anon_client.get(f"/media/{master}").status_code == 404
