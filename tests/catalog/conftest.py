"""Real audio for catalogue tests (short tones written with numpy and encoded by ffmpeg), and the
staff site's client."""

import numpy as np
import pytest
from django.urls import reverse

from catalog import synth


def tone_samples(seconds=2.0, freq=440.0, level=0.5):
    t = np.arange(int(seconds * synth.RATE), dtype=np.float32) / synth.RATE
    mono = (level * np.sin(2 * np.pi * freq * t) * np.minimum(1, t * 20)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


@pytest.fixture
def make_audio(tmp_path):
    """make_audio(fmt, name=None, seconds=2, freq=440, level=0.5, **tags) -> Path of a real file."""

    def make(fmt, name=None, seconds=2.0, freq=440.0, level=0.5, **tags):
        path = tmp_path / "in" / (name or f"tone-{freq:g}-{seconds:g}.{fmt}")
        path.parent.mkdir(exist_ok=True)
        synth.encode(tone_samples(seconds, freq, level), path, fmt)
        if tags:
            synth.tag_file(path, fmt, **tags)
        return path

    return make


@pytest.fixture
def cover_jpeg():
    return synth.artwork("Test", "Cover", [(20, 40, 90), (200, 80, 60), (250, 220, 120)], seed=1, size=300)


@pytest.fixture
def golden_hour(make_audio):
    """A published track made through the real ingest: “Golden Hour” by Mira Vale, 12 s of G4."""
    from catalog.ingest import ingest_path

    path = make_audio("wav", name="golden.wav", seconds=12, freq=392)
    options = {"title": "Golden Hour", "artist": "Mira Vale", "genres": "Ambient", "publish": True}
    return ingest_path(path, options=options).version.track


@pytest.fixture
def admin_client(staff, staff_client):
    """The staff persona with an authenticator app set up (the staff site asks for two factors)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(staff, generate_totp_secret())
    assert staff_client.get(reverse("admin:catalog_track_changelist")).status_code == 200
    return staff_client
