import io
import time

import numpy as np
import pytest
from PIL import Image

from catalog import ingest
from catalog.ingest import IngestError, ingest_path
from catalog.models import IngestJob, Track, TrackVersion

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["wav", "flac", "aiff", "mp3"])
def test_every_supported_format_is_ingested_with_its_tags_preview_and_peaks(fmt, make_audio, cover_jpeg):
    path = make_audio(
        fmt,
        title="Harbour Lights",
        artist="Mara Voss",
        genre="Ambient",
        bpm=92,
        key="F#m",
        isrc="GB-AAA-24-00001",
        picture=cover_jpeg,
    )

    result = ingest_path(path, options={"moods": "Calm, Dreamy"})

    assert result.status == "imported"
    version = result.version
    track = version.track
    assert track.title == "Harbour Lights"
    assert track.artist.name == "Mara Voss"
    assert [g.name for g in track.genres.all()] == ["Ambient"]
    assert sorted(m.name for m in track.moods.all()) == ["Calm", "Dreamy"]
    assert (track.bpm, track.key, track.mode) == (92, "F#", "minor")
    assert track.isrc == "GBAAA2400001"
    assert track.ingest_status == "ready" and not track.is_published
    assert version.format == fmt
    assert version.sample_rate == 44100 and version.channels == 2
    assert version.bit_depth == (None if fmt == "mp3" else 16)
    assert version.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert len(version.peaks) == 1000 and max(hi for _, hi in version.peaks) > 50
    assert len(track.waveform) == 100
    # the master sits in the private storage, the preview is an MP3 in the public one
    assert version.master.storage.exists(version.master.name)
    assert version.master.name.startswith("masters/")
    with version.preview.open("rb") as fh:
        head = fh.read(3)
    assert head[:2] == b"\xff\xfb" or head[:3] == b"ID3"
    # embedded artwork became a JPEG and two WebP thumbnails
    with track.artwork_small.open("rb") as fh:
        small = Image.open(io.BytesIO(fh.read()))
    assert small.format == "WEBP" and max(small.size) == 160
    assert track.artwork_color.startswith("#")


def test_re_ingesting_the_same_file_changes_nothing(make_audio):
    path = make_audio("flac")
    first = ingest_path(path)
    before = (Track.objects.count(), TrackVersion.objects.count(), first.version.preview.name)

    again = ingest_path(path)

    assert again.status == "duplicate"
    assert again.version.pk == first.version.pk
    first.version.refresh_from_db()
    assert (Track.objects.count(), TrackVersion.objects.count(), first.version.preview.name) == before


def test_the_same_file_stored_meanwhile_is_a_duplicate_not_a_failure(make_audio, monkeypatch):
    """A double-clicked upload: both jobs pass the duplicate check before either has stored the
    file; the one that comes second finds it stored when it saves, and is a duplicate."""
    path = make_audio("wav")
    first = ingest_path(path)
    real, looks = ingest.find_duplicate, []

    def racing(content_hash):  # the second job's first look finds nothing: the first had not saved yet
        looks.append(content_hash)
        return None if len(looks) == 1 else real(content_hash)

    monkeypatch.setattr(ingest, "find_duplicate", racing)

    again = ingest_path(path)

    assert again.status == "duplicate" and again.version.pk == first.version.pk
    assert len(looks) == 2  # it went as far as saving
    assert Track.objects.count() == 1 and TrackVersion.objects.count() == 1


def test_a_version_is_attached_to_an_existing_track(make_audio):
    main = ingest_path(make_audio("wav", freq=330)).version
    stem = ingest_path(
        make_audio("wav", freq=660),
        options={"track_id": main.track_id, "version_kind": "stem", "version_name": "Drums"},
    ).version
    assert stem.track_id == main.track_id
    assert stem.label == "Drums" and stem.is_stem
    assert Track.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.wav", b"", "empty"),
        ("notes.wav", b"These are my notes, not audio at all.\n" * 20, "not a WAV audio file"),
    ],
)
def test_non_audio_and_empty_files_fail_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason):
        ingest_path(path)
    assert not Track.objects.exists()


def test_a_truncated_file_fails_with_a_reason(make_audio):
    path = make_audio("wav", seconds=4)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(IngestError, match="truncated"):
        ingest_path(path)


def test_a_silent_file_fails_with_a_reason(make_audio):
    path = make_audio("flac", level=0.0)
    with pytest.raises(IngestError, match="silent"):
        ingest_path(path)


def test_an_unsupported_format_fails_with_a_reason(tmp_path, make_audio):
    import subprocess

    source = make_audio("wav")
    ogg = tmp_path / "tone.ogg"
    subprocess.run(
        [ingest.ffmpeg_exe(), "-v", "error", "-i", str(source), "-c:a", "libvorbis", str(ogg)], check=False
    )
    if not ogg.exists():  # this ffmpeg build may lack vorbis: use Opus, also unsupported here
        subprocess.run(
            [ingest.ffmpeg_exe(), "-v", "error", "-i", str(source), "-c:a", "libopus", str(ogg)], check=True
        )
    with pytest.raises(IngestError, match="Unsupported format"):
        ingest_path(ogg)


def test_decompression_bomb_artwork_is_refused(settings):
    settings.CATALOG_MAX_IMAGE_PIXELS = 100 * 100
    out = io.BytesIO()
    Image.new("RGB", (400, 400), "red").save(out, "PNG")
    with pytest.raises(IngestError, match="too large|decompression bomb"):
        ingest.process_artwork(out.getvalue())


def test_the_watermark_setting_adds_an_audible_tone_to_the_preview_only(settings, make_audio, tmp_path):
    settings.CATALOG_PREVIEW_WATERMARK_EVERY = 1
    path = make_audio("wav", seconds=3, level=0.02)
    pcm, _ = ingest.transcode(path, tmp_path / "wm.mp3", duration_hint=3)
    plain_peak = float(abs(pcm).max())
    wm_pcm, _ = ingest.transcode(tmp_path / "wm.mp3", tmp_path / "again.mp3", duration_hint=3)
    assert plain_peak < 0.05  # the peaks come from the untouched audio
    assert float(abs(wm_pcm).max()) > 0.1  # the preview carries the tone


def test_a_failed_job_keeps_its_reason_and_the_batch_continues(tmp_path, make_audio):
    from django.core.files.base import ContentFile

    bad = ingest.create_job(ContentFile(b"junk" * 100), filename="broken.wav", source="import")
    with open(make_audio("mp3"), "rb") as fh:
        good = ingest.create_job(ContentFile(fh.read()), filename="good.mp3", source="import")

    for job in (bad, good):
        ingest.run_job(job.pk)

    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == IngestJob.Status.FAILED and "not a WAV audio file" in bad.error
    assert good.status == IngestJob.Status.DONE and good.version.master.name == good.upload.name
    assert good.track.title == "good"


def test_running_a_job_twice_does_the_work_once(make_audio):
    from django.core.files.base import ContentFile

    with open(make_audio("wav"), "rb") as fh:
        job = ingest.create_job(ContentFile(fh.read()), filename="x.wav")
    assert ingest.run_job(job.pk).status == "done"
    assert ingest.run_job(job.pk) is None
    assert TrackVersion.objects.count() == 1


def test_retrying_a_failed_job_runs_it_again(make_audio, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    job = ingest.create_job(ContentFile(b""), filename="empty.wav")
    ingest.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "empty" in job.error
    with job.upload.storage.open(job.upload.name, "wb") as fh:  # staff replaced the file
        fh.write(make_audio("wav").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest.retry_job(job)
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2


def test_ingest_takes_little_more_than_the_bare_preview_transcode(make_audio, tmp_path):
    """Not a benchmark (see bench/ingest.py): a guard that ingest does not decode twice."""
    import subprocess

    path = make_audio("wav", seconds=20)
    start = time.perf_counter()
    subprocess.run(
        [
            ingest.ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-y",
            str(tmp_path / "bare.mp3"),
        ],
        check=True,
    )
    bare = time.perf_counter() - start
    start = time.perf_counter()
    ingest_path(path)
    full = time.perf_counter() - start
    assert full < bare * 2 + 0.5


def _stalled(job, *, minutes_ago, attempts):
    """The job as a worker left it when it stopped mid-file."""
    from django.utils import timezone

    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.Status.RUNNING,
        started_at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
        attempts=attempts,
    )


def test_a_job_whose_worker_stopped_is_queued_again_and_finishes(
    make_audio, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    with open(make_audio("wav"), "rb") as fh:
        stalled = ingest.create_job(ContentFile(fh.read()), filename="stalled.wav")
    with open(make_audio("mp3"), "rb") as fh:
        busy = ingest.create_job(ContentFile(fh.read()), filename="busy.mp3")
    _stalled(stalled, minutes_ago=45, attempts=1)
    _stalled(busy, minutes_ago=5, attempts=1)  # still within its time: another worker has it

    with django_capture_on_commit_callbacks(execute=True):
        assert ingest.resume_stalled_jobs() == (1, 0)

    stalled.refresh_from_db()
    busy.refresh_from_db()
    assert stalled.status == IngestJob.Status.DONE and stalled.attempts == 2
    assert stalled.track.title == "stalled"
    assert busy.status == IngestJob.Status.RUNNING
    assert ingest.run_job(busy.pk) is None  # a redelivered task leaves a live job alone


def test_a_job_that_keeps_stopping_its_worker_is_marked_failed(make_audio):
    from django.core.files.base import ContentFile

    job = ingest.create_job(ContentFile(b"x" * 100), filename="huge.wav")
    _stalled(job, minutes_ago=45, attempts=3)

    assert ingest.resume_stalled_jobs() == (0, 1)
    assert ingest.run_job(job.pk) is None
    job.refresh_from_db()
    assert job.status == IngestJob.Status.FAILED
    assert "stopped before it finished, 3 times" in job.error and job.finished_at


def test_a_redelivered_job_whose_first_run_stored_the_file_keeps_it(make_audio):
    """The worker stored the track, then stopped before recording the job as done: running the job
    again finds its own file in the catalogue, records that as its result and deletes nothing."""
    from django.core.files.base import ContentFile

    with open(make_audio("wav"), "rb") as fh:
        job = ingest.create_job(ContentFile(fh.read()), filename="halfway.wav")
    assert ingest.run_job(job.pk).status == IngestJob.Status.DONE
    IngestJob.objects.filter(pk=job.pk).update(track=None, version=None, finished_at=None)
    _stalled(job, minutes_ago=90, attempts=1)

    job = ingest.run_job(job.pk)  # the broker hands the unacknowledged task out again

    assert job.status == IngestJob.Status.DONE and job.duplicate_of is None and not job.error
    assert job.version == TrackVersion.objects.get() and job.track.title == "halfway"
    assert job.version.master.storage.exists(job.version.master.name)


def test_deleting_an_uploads_record_deletes_its_file_but_never_a_master(
    make_audio, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    failed = ingest.create_job(ContentFile(b"junk" * 100), filename="broken.wav")
    ingest.run_job(failed.pk)
    with open(make_audio("wav"), "rb") as fh:
        imported = ingest.create_job(ContentFile(fh.read()), filename="kept.wav")
    imported = ingest.run_job(imported.pk)
    storage, failed_name, master = failed.upload.storage, failed.upload.name, imported.version.master.name
    assert imported.upload.name == master and storage.exists(failed_name)

    with django_capture_on_commit_callbacks(execute=True):
        IngestJob.objects.filter(pk__in=[failed.pk, imported.pk]).delete()

    assert not storage.exists(failed_name)
    assert storage.exists(master) and TrackVersion.objects.get().master.name == master


@pytest.mark.parametrize("fmt", ["flac", "mp3"])
def test_a_file_whose_audio_data_is_damaged_fails_with_a_reason_staff_can_act_on(make_audio, fmt):
    path = make_audio(fmt, seconds=3)
    data = bytearray(path.read_bytes())
    keep = 600 if fmt == "mp3" else 200  # the header and tags stay readable: only the audio is garbage
    data[keep:] = np.random.default_rng(1).integers(0, 256, len(data) - keep, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))

    with pytest.raises(IngestError) as failure:
        ingest_path(path)

    assert str(failure.value) == (
        "The audio in this file is damaged and cannot be decoded. Export it again and upload the new file."
    )
    assert not Track.objects.exists()
