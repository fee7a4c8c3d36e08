from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import Collection, SoundCategory, Track

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_real_playable_tracks_once():
    out = StringIO()
    call_command("seed_demo", "--count", "6", "--jobs", "1", stdout=out)

    assert "Demo catalogue: 6 tracks" in out.getvalue()
    tracks = Track.objects.published()
    assert tracks.count() == 6
    assert tracks.filter(kind="sfx").exists() and tracks.filter(kind="music").exists()
    for track in tracks:
        version = track.main_version()
        assert version.preview and len(version.peaks) > 0 and track.artwork_small
        assert track.artist.image
    music = tracks.filter(kind="music").first()
    assert music.bpm and music.key and music.genres.exists() and music.moods.exists()
    assert SoundCategory.objects.filter(parent__isnull=False).exists()
    assert Collection.objects.published().exists()

    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "already has tracks" in again.getvalue()
    assert Track.objects.count() == 6


@pytest.mark.django_db(False)
def test_demo_plan_names_every_item_once_without_numbering_the_sound_effects():
    from catalog.demo import plan

    items = plan(200)
    titles = [item.title for item in items]
    assert len(titles) == len(set(titles))
    sfx = [item.title for item in items if item.kind == "sfx"]
    assert len(sfx) == 30
    assert not [title for title in sfx if title.split()[-1].isdigit()]


def test_the_progress_line_guesses_the_time_left_only_once_a_few_files_are_done(monkeypatch):
    from io import StringIO

    from catalog.management.commands import seed_demo

    class Terminal(StringIO):
        def isatty(self):
            return True

    out = Terminal()
    command = seed_demo.Command(stdout=out)
    monkeypatch.setattr(seed_demo.time, "monotonic", lambda: 100.0)
    command._progress(1, 200, started=10.0)  # the first file took the workers' start too
    assert "1/200" in out.getvalue() and "working out the time left" in out.getvalue()
    command._progress(50, 200, started=10.0)
    assert "about 270 s left" in out.getvalue()


def test_the_progress_in_a_log_file_is_a_line_each_tenth_not_a_redrawn_bar(monkeypatch):
    from catalog.management.commands import seed_demo

    out = StringIO()  # not a terminal: `make run > log`
    command = seed_demo.Command(stdout=out)
    monkeypatch.setattr(seed_demo.time, "monotonic", lambda: 100.0)
    for n in range(1, 201):
        command._progress(n, 200, started=10.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in out.getvalue()
    assert lines[0].strip().startswith("20/200") and lines[-1].strip().startswith("200/200")
