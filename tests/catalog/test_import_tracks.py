from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import IngestJob, Track

pytestmark = pytest.mark.django_db


def run(folder, *args):
    out = StringIO()
    call_command("import_tracks", str(folder), *args, stdout=out)
    return out.getvalue()


def test_import_reports_imported_skipped_and_failed_files_and_carries_on(make_audio, tmp_path):
    folder = make_audio("wav", name="a.wav").parent
    make_audio("mp3", name="b.mp3", freq=550)
    (folder / "broken.wav").write_bytes(b"RIFF" + b"\0" * 10)
    (folder / "empty.flac").write_bytes(b"")
    (folder / "readme.txt").write_text("not audio")

    output = run(folder, "--publish", "--genres", "Ambient")

    assert "Summary: 2 imported, 0 skipped, 3 failed." in output
    assert "empty.flac: The file is empty" in output
    assert "readme.txt: This is not an audio file we can read" in output
    assert Track.objects.published().count() == 2
    assert set(Track.objects.values_list("genres__name", flat=True)) == {"Ambient"}
    assert IngestJob.objects.filter(status="failed").count() == 3


def test_running_the_import_again_changes_nothing(make_audio):
    folder = make_audio("flac", name="a.flac").parent
    (folder / "junk.wav").write_bytes(b"junk")
    run(folder)
    counts = (Track.objects.count(), IngestJob.objects.count())

    output = run(folder)

    assert "Summary: 0 imported, 1 skipped, 1 failed." in output
    assert "already in the catalogue" in output and "failed before" in output
    assert (Track.objects.count(), IngestJob.objects.count()) == counts


def test_a_default_artist_names_only_the_files_whose_tags_name_none(make_audio):
    folder = make_audio("flac", name="tagged.flac", title="Tagged Tune", artist="Mara Voss").parent
    make_audio("wav", name="untagged.wav", freq=660)

    output = run(folder, "--default-artist", "House Band")

    assert "Summary: 2 imported" in output
    by_file = dict(Track.objects.values_list("title", "artist__name"))
    assert by_file["Tagged Tune"] == "Mara Voss"
    assert by_file["untagged"] == "House Band"


def test_artist_and_default_artist_cannot_be_given_together(make_audio):
    from django.core.management import CommandError

    folder = make_audio("wav").parent
    with pytest.raises(CommandError):
        run(folder, "--artist", "One", "--default-artist", "Other")
