"""The ingest pipeline: one audio file in, one ready ``TrackVersion`` (and its ``Track``) out.

For each file:

1. **Hash** (SHA-256, streamed). A ready version with the same hash already exists → the
   file is a duplicate and nothing changes (re-running an import is a no-op).
2. **Probe** with mutagen: format (WAV, FLAC, AIFF, MP3 only), stream info (duration,
   sample rate, bit depth, channels, bitrate) and tags (title, artist, album, genre, BPM,
   key, ISRC, embedded artwork).
3. **Decode once** with the ffmpeg binary from ``imageio-ffmpeg``: a single process writes
   the 128 kbps MP3 preview (with an optional audible watermark every N seconds) *and*
   8 kHz mono PCM for the waveform; the artwork (step 6) is processed while it runs, so
   ingest costs little more than the preview transcode alone.
4. **Check the audio**: decoder errors, nothing decoded, fewer seconds than the header
   promises (truncated), or silence → the file fails with a readable reason.
5. **Peaks**: ~1000 min/max pairs (numpy) and a 100-bar summary for result rows.
6. **Artwork**: embedded picture → re-encoded JPEG (≤720 px) plus WebP 480/160 px with
   Pillow, decoded at reduced size (``draft``/``thumbnail``); decompression bombs refused.
7. **Save** in one transaction: artist, track (tags, with staff-supplied options winning),
   version; the master goes to the private storage, the preview and artwork to the public one.

Every failure raises ``IngestError`` with a message staff can act on; callers (the task,
``import_tracks``) record it and carry on with the next file.
"""

import hashlib
import io
import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.utils import timezone
from django.utils.text import slugify

from .models import (
    Artist,
    Genre,
    IngestJob,
    IngestStatus,
    Instrument,
    Mood,
    SoundCategory,
    Theme,
    Track,
    TrackVersion,
    normalise_isrc,
)

log = logging.getLogger(__name__)

SUPPORTED = {"MP3": "mp3", "WAVE": "wav", "FLAC": "flac", "AIFF": "aiff"}
SUPPORTED_LABEL = "WAV, FLAC, AIFF or MP3"
PCM_RATE = 8000  # Hz, mono: plenty for a waveform drawing
SILENCE = 10 ** (-60 / 20)  # -60 dBFS
MINI_BARS = 100
ARTWORK_SIZE = 720  # the JPEG kept for pages (shown at 320 px, sharp on 2× screens)
KEY_ALIASES = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}


class IngestError(Exception):
    """A file that cannot enter the catalogue; the message says why, for staff."""


@dataclass
class Probe:
    format: str
    duration: float
    sample_rate: int | None = None
    bit_depth: int | None = None
    channels: int | None = None
    bitrate: int | None = None
    tags: dict = field(default_factory=dict)
    picture: bytes | None = None


@dataclass
class IngestResult:
    status: str  # "imported" | "duplicate"
    version: TrackVersion
    message: str = ""

    @property
    def track(self):
        return self.version.track


def ffmpeg_exe():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# --- 1. hashing ------------------------------------------------------------------------------


def file_hash(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def find_duplicate(content_hash):
    return (
        TrackVersion.objects.filter(content_hash=content_hash, ingest_status=IngestStatus.READY)
        .select_related("track")
        .first()
    )


# --- 2. probing ------------------------------------------------------------------------------


def _first(value):
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    text = getattr(value, "text", None)
    if text is not None:
        value = text[0] if text else ""
    return str(value).strip()


def parse_key(text):
    """'Am' → ('A', 'minor'); 'F# major' → ('F#', 'major'); 'Bbm' → ('A#', 'minor'); junk → ('', '')."""
    text = (text or "").strip().replace("♯", "#").replace("♭", "b")
    if not text:
        return "", ""
    root = text[0].upper()
    rest = text[1:]
    if rest[:1] in ("#", "b"):
        root, rest = root + rest[0], rest[1:]
    root = KEY_ALIASES.get(root, root)
    if root not in Track.KEYS:
        return "", ""
    rest = rest.strip().lower()
    mode = "minor" if rest.startswith("m") and not rest.startswith("maj") else "major"
    return root, mode


def parse_bpm(text):
    try:
        bpm = round(float(str(text).replace(",", ".")))
    except (TypeError, ValueError):
        return None
    return bpm if 20 <= bpm <= 300 else None


# What a file's name says it holds, to tell staff what it does not (“not a WAV audio file”).
NAMED_FORMATS = {
    "wav": "a WAV",
    "wave": "a WAV",
    "flac": "a FLAC",
    "aif": "an AIFF",
    "aiff": "an AIFF",
    "aifc": "an AIFF",
    "mp3": "an MP3",
}


def _starts_as_audio(head):
    """Whether ``head`` (a file's first 12 bytes) begins as a WAV, FLAC, AIFF or MP3 file does."""
    return (
        (head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE")
        or head[:4] == b"fLaC"
        or (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"))
        or head[:3] == b"ID3"
        or (len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0)  # an MPEG frame
    )


def unreadable_reason(path, exc):
    """Why a file mutagen refused cannot be ingested, in words staff can act on; the library's own
    message (“Root chunk must be a RIFF chunk…”) goes to the log."""
    log.warning("cannot read %s as audio: %s: %s", path, exc.__class__.__name__, exc)
    with open(path, "rb") as fh:
        head = fh.read(12)
    if _starts_as_audio(head):
        return "This audio file is damaged and cannot be read. Export it again and upload the new file."
    named = NAMED_FORMATS.get(Path(path).suffix.lower().lstrip("."))
    if named:
        return f"This file is not {named} audio file (its content is not audio). Upload {SUPPORTED_LABEL}."
    return f"This file is not audio. Upload {SUPPORTED_LABEL}."


def probe(path):
    """Read format, stream info, tags and artwork with mutagen, or raise IngestError."""
    import mutagen
    from mutagen.id3 import ID3

    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types for damaged files
        raise IngestError(unreadable_reason(path, exc)) from exc
    if audio is None:
        raise IngestError(f"This is not an audio file we can read. Upload {SUPPORTED_LABEL}.")
    kind = type(audio).__name__
    fmt = SUPPORTED.get(kind)
    if fmt is None:
        raise IngestError(f"Unsupported format ({kind}). Upload {SUPPORTED_LABEL}.")
    info = audio.info
    duration = float(getattr(info, "length", 0) or 0)
    result = Probe(
        format=fmt,
        duration=duration,
        sample_rate=getattr(info, "sample_rate", None) or None,
        bit_depth=getattr(info, "bits_per_sample", None) or None,
        channels=getattr(info, "channels", None) or None,
        bitrate=getattr(info, "bitrate", None) or None,
    )
    tags = audio.tags
    if isinstance(tags, ID3):
        frames = {
            "title": "TIT2",
            "artist": "TPE1",
            "album": "TALB",
            "genre": "TCON",
            "bpm": "TBPM",
            "key": "TKEY",
            "isrc": "TSRC",
            "comment": "COMM",
        }
        for name, frame in frames.items():
            found = tags.getall(frame)
            if found:
                result.tags[name] = _first(found[0])
        pictures = tags.getall("APIC")
        if pictures:
            front = [p for p in pictures if p.type == 3] or pictures
            result.picture = front[0].data
    elif tags is not None:  # Vorbis comments (FLAC)
        names = {
            "title": ["title"],
            "artist": ["artist"],
            "album": ["album"],
            "genre": ["genre"],
            "bpm": ["bpm", "tbpm"],
            "key": ["initialkey", "key"],
            "isrc": ["isrc"],
            "comment": ["description", "comment"],
        }
        for name, keys in names.items():
            for key in keys:
                if key in tags:
                    result.tags[name] = _first(tags[key])
                    break
    if fmt == "flac" and getattr(audio, "pictures", None):
        front = [p for p in audio.pictures if p.type == 3] or audio.pictures
        result.picture = front[0].data
    return result


# --- 3–5. decoding, checks and peaks -----------------------------------------------------------


def start_transcode(path, preview_path, pcm_path, *, duration_hint):
    """Start one ffmpeg process writing the MP3 preview and 8 kHz mono PCM (for peaks).

    It runs while Python does the rest of the work (artwork), so ingest costs little more than
    the preview transcode alone. Finish with ``finish_transcode``.
    """
    every = settings.CATALOG_PREVIEW_WATERMARK_EVERY
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-i", str(path)]
    if every:
        # A short 880 Hz tone every N seconds, mixed into the preview only (not the peaks).
        length = max(duration_hint, 1) + 1
        tone = f"0.18*sin(2*PI*880*t)*lt(mod(t\\,{every})\\,0.35)*gte(t\\,{min(every, 3)})"
        cmd += [
            "-filter_complex",
            f"[0:a:0]asplit=2[pv][pk];aevalsrc=exprs='{tone}':s=44100:d={length:.2f}[wm];"
            "[pv][wm]amix=inputs=2:duration=first:normalize=0[pvo]",
            "-map",
            "[pvo]",
        ]
        pcm_map = "[pk]"
    else:
        cmd += ["-map", "0:a:0"]
        pcm_map = "0:a:0"
    cmd += ["-c:a", "libmp3lame", "-b:a", settings.CATALOG_PREVIEW_BITRATE, "-ar", "44100"]
    cmd += ["-map_metadata", "-1", "-id3v2_version", "0", "-y", str(preview_path)]
    cmd += [
        "-map",
        pcm_map,
        "-ac",
        "1",
        "-ar",
        str(PCM_RATE),
        "-f",
        "s16le",
        "-c:a",
        "pcm_s16le",
        "-y",
        str(pcm_path),
    ]
    # The argument list is fixed except for file paths; no shell is involved.
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603


def finish_transcode(proc, pcm_path):
    """Wait for ``start_transcode``; the PCM as float32 in -1..1 and ffmpeg's error text."""
    try:
        _, stderr = proc.communicate(timeout=settings.CELERY_TASK_SOFT_TIME_LIMIT - 10)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise IngestError("Decoding took too long; the file may be damaged.") from exc
    errors = stderr.decode("utf-8", "replace").strip()
    raw = Path(pcm_path).read_bytes() if Path(pcm_path).exists() else b""
    pcm = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    if proc.returncode != 0 and pcm.size == 0:
        raise IngestError(undecodable_reason(errors or f"exit status {proc.returncode}"))
    return pcm, errors


def undecodable_reason(decoder_errors):
    """Why audio that mutagen could read cannot be decoded, in words staff can act on; ffmpeg's own
    text (“[mp3float @ 0x55…] Header missing”, with the temporary file's path) goes to the log."""
    log.warning("cannot decode audio: %s", decoder_errors[-2000:])
    return "The audio in this file is damaged and cannot be decoded. Export it again and upload the new file."


def transcode(path, preview_path, *, duration_hint):
    """Preview and PCM in one go (no overlapping work)."""
    pcm_path = Path(preview_path).with_suffix(".pcm")
    proc = start_transcode(path, preview_path, pcm_path, duration_hint=duration_hint)
    try:
        return finish_transcode(proc, pcm_path)
    finally:
        pcm_path.unlink(missing_ok=True)


def check_audio(pcm, *, header_duration, decoder_errors):
    decoded = pcm.size / PCM_RATE
    if pcm.size == 0 or decoded < 0.05:
        if decoder_errors or (header_duration or 0) >= 0.05:  # sound was promised: the data is bad
            raise IngestError(undecodable_reason(decoder_errors or "no audio decoded"))
        raise IngestError("No audio could be decoded from the file (it holds no sound).")
    if header_duration and decoded < header_duration * 0.97 and header_duration - decoded > 0.5:
        raise IngestError(
            f"The file is truncated: its header promises {header_duration:.1f} s "
            f"but only {decoded:.1f} s of audio could be decoded."
        )
    peak = float(np.max(np.abs(pcm)))
    if peak < SILENCE:
        raise IngestError("The audio is silent (nothing louder than -60 dBFS).")
    if decoder_errors and "invalid" in decoder_errors.lower() and decoded < 1:
        raise IngestError(undecodable_reason(decoder_errors))
    return decoded


def compute_peaks(pcm, points=None):
    """``points`` [min, max] pairs scaled to -127..127 (fewer for very short sounds)."""
    points = points or settings.CATALOG_WAVEFORM_POINTS
    points = max(1, min(points, pcm.size))
    usable = pcm[: pcm.size - pcm.size % points] if pcm.size >= points else pcm
    buckets = usable.reshape(points, -1)
    lows = np.clip(np.round(buckets.min(axis=1) * 127), -127, 127).astype(int)
    highs = np.clip(np.round(buckets.max(axis=1) * 127), -127, 127).astype(int)
    return [[int(lo), int(hi)] for lo, hi in zip(lows, highs, strict=True)]


def mini_waveform(peaks, bars=MINI_BARS):
    """``bars`` heights 0–100 (peak amplitude per bar, normalised to the loudest bar)."""
    if not peaks:
        return []
    amps = np.array([max(abs(lo), abs(hi)) for lo, hi in peaks], dtype=np.float32)
    if amps.size < bars:
        amps = np.interp(np.linspace(0, amps.size - 1, bars), np.arange(amps.size), amps)
    chunks = np.array_split(amps, bars)
    values = np.array([c.max() if c.size else 0 for c in chunks])
    top = values.max() or 1
    return [int(max(4, round(v / top * 100))) for v in values]


# --- 6. artwork ------------------------------------------------------------------------------


@dataclass
class Artwork:
    jpeg: bytes
    medium_webp: bytes
    small_webp: bytes
    color: str


def process_artwork(data, *, label="Embedded artwork"):
    """Re-encode a picture (metadata stripped, turned as its orientation tag says, at most
    ARTWORK_SIZE px) with its WebP copies and average colour, or raise IngestError for a bomb or
    junk. ``label`` names the picture in that error (a file's embedded artwork, or one staff
    uploaded on a page)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        return None
    limit = settings.CATALOG_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, limit
            try:
                img = Image.open(io.BytesIO(data))
                # A phone's multi-picture JPEG (MPO) is a JPEG; its first picture is the photo.
                if img.format not in ("JPEG", "MPO", "PNG", "WEBP", "GIF"):
                    raise IngestError(
                        f"{label} in {img.format} format is not accepted: use JPEG, PNG or WebP."
                    )
                if img.width * img.height > limit:
                    raise IngestError(
                        f"{label} is {img.width}×{img.height} pixels, too large to be safe to open."
                    )
                img.draft("RGB", (ARTWORK_SIZE, ARTWORK_SIZE))  # JPEG: decode at reduced size
                ImageOps.exif_transpose(img, in_place=True)  # the tag goes with the rest of the metadata
                img.thumbnail((ARTWORK_SIZE, ARTWORK_SIZE))
                img = img.convert("RGB")
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise IngestError(f"{label} is too large to be safe to open: more than {limit:,} pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise IngestError(f"{label} is not a readable image.") from exc

    def encode(image, fmt, size=None, **kw):
        if size:
            image = image.copy()
            image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, fmt, **kw)
        return out.getvalue()

    r, g, b = img.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return Artwork(
        jpeg=encode(img, "JPEG", quality=85, progressive=True),
        medium_webp=encode(img, "WEBP", 480, quality=80, method=4),
        small_webp=encode(img, "WEBP", 160, quality=78, method=4),
        color=f"#{r:02x}{g:02x}{b:02x}",
    )


def store_artwork(track, artwork):
    """Give ``track`` the picture ``artwork`` (from ``process_artwork``): the JPEG pages show and
    shares link to, its WebP copies for the track's page and result rows, its average colour. None
    takes them all away. The files are stored now; the row is saved by the caller."""
    if artwork is None:
        track.artwork = track.artwork_medium = track.artwork_small = ""
        track.artwork_color = ""
        return
    track.artwork.save("a.jpg", ContentFile(artwork.jpeg), save=False)
    track.artwork_medium.save("m.webp", ContentFile(artwork.medium_webp), save=False)
    track.artwork_small.save("s.webp", ContentFile(artwork.small_webp), save=False)
    track.artwork_color = artwork.color


# --- 7. saving -------------------------------------------------------------------------------


def _taxonomy(model, names):
    objs = []
    for name in names:
        name = str(name).strip()[:60]
        slug = slugify(name)[:60]
        if not slug:
            continue
        try:
            with transaction.atomic():
                obj, _ = model.objects.get_or_create(slug=slug, defaults={"name": name})
        except IntegrityError:  # created meanwhile by a parallel ingest, or the name is taken
            obj = model.objects.filter(slug=slug).first() or model.objects.get(name=name)
        objs.append(obj)
    return objs


def _split(value):
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [v.strip() for v in str(value or "").replace(";", ",").split(",") if v.strip()]


def _artist(name):
    from .services import unique_slug

    name = (name or "").strip()[:120] or "Unknown artist"
    artist = Artist.objects.filter(name__iexact=name).first()
    if artist is None:
        artist = Artist.objects.create(name=name, slug=unique_slug(Artist, name, max_length=140))
    return artist


def _apply_track_fields(track, meta, options, probe_result):
    """Fill a new track from tags, then let staff/seed options override them."""
    tags = probe_result.tags
    track.title = (options.get("title") or tags.get("title") or meta["stem"]).strip()[:200]
    track.album = (options.get("album") or tags.get("album") or "")[:200]
    track.description = options.get("description") or tags.get("comment") or ""
    track.kind = options.get("kind") or Track.Kind.MUSIC
    track.isrc = normalise_isrc(options.get("isrc") or tags.get("isrc"))  # "" for a tag that is no ISRC
    track.bpm = parse_bpm(options.get("bpm") or tags.get("bpm"))
    key, mode = parse_key(tags.get("key", ""))
    track.key = options.get("key", key) or ""
    track.mode = options.get("mode", mode) or ""
    if track.key and not track.mode:
        track.mode = "major"
    track.vocals = options.get("vocals") or Track.Vocals.NONE
    track.explicit = bool(options.get("explicit", False))
    energy = options.get("energy")
    track.energy = int(energy) if energy and 1 <= int(energy) <= 5 else 3
    # A new track has no use yet: its popularity starts at the boost (refresh_popularity adds use).
    track.popularity = track.popularity_boost = int(options.get("popularity_boost", 0) or 0)
    if options.get("release_date"):
        track.release_date = options["release_date"]
    track.is_published = bool(options.get("publish", False))


def second_full_version(track, *, content_hash=None):
    """Why a new full version cannot join ``track``, or "" when it can: a track has one full
    version, the main file its fingerprint, duration and waveform describe. (``content_hash``: the
    file being stored, which may be that version already.)"""
    existing = track.versions.filter(kind=TrackVersion.Kind.FULL)
    if content_hash:
        existing = existing.exclude(content_hash=content_hash)
    existing = existing.first()
    if existing is None:
        return ""
    return (
        f"“{track.title}” already has its full track ({existing.original_filename or existing.label}). "
        "Upload this file as another version (an edit, a loop or a stem), or delete that full track "
        "first to replace it."
    )


def save_ingested(
    *, source_path, master_name, probe_result, content_hash, preview_path, pcm, decoded, options, artwork=None
):
    """Create (or complete) the track and version rows and store the files."""
    from .services import unique_slug

    peaks = compute_peaks(pcm)
    original = options.get("original_filename") or Path(source_path).name
    meta = {"stem": Path(original).stem.replace("_", " ").strip() or "Untitled"}

    with transaction.atomic():
        track = None
        if options.get("track_id"):
            track = Track.objects.select_for_update().filter(pk=options["track_id"]).first()
            if track is None:
                raise IngestError("The track this version was meant for no longer exists.")
        version_kind = options.get("version_kind") or TrackVersion.Kind.FULL
        new_track = track is None
        if not new_track and version_kind == TrackVersion.Kind.FULL:
            refusal = second_full_version(track, content_hash=content_hash)
            if refusal:
                raise IngestError(refusal)
        if new_track:
            named = options.get("artist") or probe_result.tags.get("artist") or options.get("default_artist")
            track = Track(artist=_artist(named))
            _apply_track_fields(track, meta, options, probe_result)
            track.slug = unique_slug(Track, track.title)
        track.duration_seconds = track.duration_seconds or decoded
        track.ingest_status = IngestStatus.READY
        track.ingest_error = ""
        if version_kind == TrackVersion.Kind.FULL:
            track.duration_seconds = decoded
            track.content_hash = content_hash
            track.waveform = mini_waveform(peaks)
        elif not track.waveform:
            track.waveform = mini_waveform(peaks)
        if artwork and not track.artwork:
            store_artwork(track, artwork)
        try:
            with transaction.atomic():
                track.save()
        except IntegrityError as exc:
            raise IngestError("This file is already the main version of another track.") from exc
        if new_track:
            track.genres.set(
                _taxonomy(Genre, _split(options.get("genres") or probe_result.tags.get("genre")))
            )
            track.moods.set(_taxonomy(Mood, _split(options.get("moods"))))
            track.instruments.set(_taxonomy(Instrument, _split(options.get("instruments"))))
            track.themes.set(_taxonomy(Theme, _split(options.get("themes"))))
            if options.get("sound_category"):
                track.sound_category = SoundCategory.objects.filter(slug=options["sound_category"]).first()
                track.save(update_fields=["sound_category"])

        version = TrackVersion.objects.filter(content_hash=content_hash).first() or TrackVersion(
            track=track, content_hash=content_hash
        )
        version.track = track
        version.kind = version_kind
        version.name = (options.get("version_name") or "")[:120]
        version.position = int(
            options.get("position", track.versions.count() if version.pk is None else version.position)
        )
        version.original_filename = original[:255]
        version.format = probe_result.format
        version.sample_rate = probe_result.sample_rate
        version.bit_depth = probe_result.bit_depth
        version.channels = probe_result.channels
        version.bitrate = probe_result.bitrate
        version.duration_seconds = decoded
        version.peaks = peaks
        version.ingest_status = IngestStatus.READY
        version.ingest_error = ""
        version.ingested_at = timezone.now()
        version.file_size = os.path.getsize(source_path)
        if master_name:
            version.master.name = master_name
        else:
            with open(source_path, "rb") as fh:
                version.master.save(original, File(fh), save=False)
        old_preview = version.preview.name if version.preview else ""
        with open(preview_path, "rb") as fh:
            version.preview.save("p.mp3", File(fh), save=False)
        version.save()
        if old_preview:
            transaction.on_commit(lambda: version.preview.storage.delete(old_preview))
    return version


@contextmanager
def local_path(field_file):
    """A path on local disk for a stored file (downloaded to a temporary file from S3)."""
    storage = field_file.storage
    try:
        local = storage.path(field_file.name)
    except NotImplementedError:
        local = None
    if local:
        yield Path(local)
        return
    suffix = Path(field_file.name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with storage.open(field_file.name, "rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp.flush()
        yield Path(tmp.name)


def ingest_path(path, *, options=None, master_name=None, content_hash=None, save_lock=None):
    """Run the whole pipeline on a local file. Returns an IngestResult or raises IngestError.

    ``master_name`` is the file's name in the private storage when it is already there (an
    admin upload); otherwise the file is copied there. ``save_lock`` serialises the final
    database transaction when several threads ingest into SQLite at once.
    """
    options = dict(options or {})
    path = Path(path)
    if not path.exists():
        raise IngestError("The file is missing.")
    size = path.stat().st_size
    if size == 0:
        raise IngestError("The file is empty (0 bytes).")
    if size > settings.CATALOG_MAX_MASTER_SIZE:
        raise IngestError(f"The file is larger than {settings.CATALOG_MAX_MASTER_SIZE // 2**20} MB.")
    content_hash = content_hash or file_hash(path)
    duplicate = find_duplicate(content_hash)
    if duplicate is not None:
        return IngestResult(
            "duplicate", duplicate, f"Same file as “{duplicate.track.title}” ({duplicate.label})."
        )
    probe_result = probe(path)
    with tempfile.TemporaryDirectory(prefix="amt-ingest-") as tmp:
        preview_path, pcm_path = Path(tmp) / "preview.mp3", Path(tmp) / "peaks.pcm"
        proc = start_transcode(path, preview_path, pcm_path, duration_hint=probe_result.duration)
        try:
            artwork = process_artwork(probe_result.picture)  # while ffmpeg works
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        pcm, errors = finish_transcode(proc, pcm_path)
        decoded = check_audio(pcm, header_duration=probe_result.duration, decoder_errors=errors)
        if not preview_path.exists() or preview_path.stat().st_size == 0:
            raise IngestError("The preview could not be made from this file.")
        with save_lock or nullcontext():
            try:
                version = save_ingested(
                    source_path=path,
                    master_name=master_name,
                    probe_result=probe_result,
                    content_hash=content_hash,
                    preview_path=preview_path,
                    pcm=pcm,
                    decoded=decoded,
                    options=options,
                    artwork=artwork,
                )
            except IngestError:
                # The same file stored meanwhile (a double-clicked upload, two imports at once) is
                # a duplicate, as it would have been found to be a moment later.
                duplicate = find_duplicate(content_hash)
                if duplicate is None:
                    raise
                return IngestResult(
                    "duplicate", duplicate, f"Same file as “{duplicate.track.title}” ({duplicate.label})."
                )
    return IngestResult("imported", version)


# --- jobs ------------------------------------------------------------------------------------


def create_job(fileobj, *, filename, source=IngestJob.Source.ADMIN, options=None, created_by=None):
    """Store an uploaded or imported file in the private storage as a pending ingest job."""
    job = IngestJob(
        original_filename=Path(filename).name[:255],
        source=source,
        options={**(options or {}), "original_filename": Path(filename).name},
        created_by=created_by,
    )
    job.upload.save(Path(filename).name, fileobj, save=False)
    job.save()
    return job


def run_job(job_id):
    """Process one pending job. Safe to call twice: only a pending job is picked up, or one whose
    processing stalled (its worker stopped mid-file: see ``resume_stalled_jobs``).

    Returns the job (reloaded) or None when another worker already has it.
    """
    now = timezone.now()
    claimable = Q(status=IngestJob.Status.PENDING) | Q(
        status=IngestJob.Status.RUNNING,
        started_at__lt=now - _stall_after(),
        attempts__lt=settings.CATALOG_INGEST_MAX_ATTEMPTS,
    )
    claimed = IngestJob.objects.filter(claimable, pk=job_id).update(
        status=IngestJob.Status.RUNNING, started_at=now, error=""
    )
    if not claimed:
        return None
    job = IngestJob.objects.get(pk=job_id)
    IngestJob.objects.filter(pk=job_id).update(attempts=job.attempts + 1)
    try:
        with local_path(job.upload) as path:
            result = ingest_path(path, options=job.options, master_name=job.upload.name)
    except IngestError as exc:
        _finish(job, IngestJob.Status.FAILED, error=str(exc))
    except Exception as exc:  # a bug or an outage must not stop the batch; staff see it and retry
        log.exception("ingest job %s crashed", job_id)
        _finish(job, IngestJob.Status.FAILED, error=f"Unexpected error ({exc.__class__.__name__}): {exc}")
    else:
        if result.status == "duplicate" and result.version.master.name == job.upload.name:
            # An earlier attempt stored this very file before it was cut short: that is its result
            # (and the upload is the version's master now, so it stays).
            _finish(job, IngestJob.Status.DONE, track=result.track, version=result.version)
        elif result.status == "duplicate":
            _finish(job, IngestJob.Status.DONE, error=result.message, duplicate_of=result.version)
            job.upload.storage.delete(job.upload.name)  # the catalogue already holds this exact file
        else:
            _finish(job, IngestJob.Status.DONE, track=result.track, version=result.version)
    job.refresh_from_db()
    return job


def _finish(job, status, *, error="", **fields):
    IngestJob.objects.filter(pk=job.pk).update(
        status=status, error=error, finished_at=timezone.now(), **fields
    )


def _delete_upload_file(sender, instance, **kwargs):
    """An upload's record deleted (by staff, once dealt with): its file goes too once that is
    committed — unless the file became a version's master, which it does when it is imported."""
    name = instance.upload.name
    if not name or TrackVersion.objects.filter(master=name).exists():
        return
    storage = instance.upload.storage
    transaction.on_commit(lambda: storage.delete(name), robust=True)


post_delete.connect(_delete_upload_file, sender=IngestJob, dispatch_uid="catalog-ingest-upload-file")


def _stall_after():
    return timedelta(minutes=settings.CATALOG_INGEST_STALL_MINUTES)


def resume_stalled_jobs():
    """Beat: a job still processing long after it started lost its worker (stopped, or killed for
    memory); queue it again, or, after CATALOG_INGEST_MAX_ATTEMPTS starts, mark it failed for staff
    to look at. Returns (queued again, failed)."""
    from allmytracks.tasks import enqueue_on_commit

    from .tasks import ingest_job

    cutoff = timezone.now() - _stall_after()
    stalled = IngestJob.objects.filter(status=IngestJob.Status.RUNNING, started_at__lt=cutoff)
    resumed = failed = 0
    for job in stalled.only("pk", "attempts"):
        this = IngestJob.objects.filter(pk=job.pk, status=IngestJob.Status.RUNNING, started_at__lt=cutoff)
        if job.attempts >= settings.CATALOG_INGEST_MAX_ATTEMPTS:
            failed += this.update(
                status=IngestJob.Status.FAILED,
                finished_at=timezone.now(),
                error=(
                    f"Processing stopped before it finished, {job.attempts} times (the worker was "
                    "stopped or ran out of memory). Retry it, or check the file."
                ),
            )
        elif this.update(status=IngestJob.Status.PENDING):
            enqueue_on_commit(ingest_job, job.pk)
            resumed += 1
    if resumed or failed:
        log.warning("stalled ingest jobs: %s queued again, %s failed", resumed, failed)
    return resumed, failed


def retry_job(job):
    """Put a failed job back in the queue (the task is sent after commit)."""
    from allmytracks.tasks import enqueue_on_commit

    from .tasks import ingest_job

    updated = IngestJob.objects.filter(pk=job.pk, status=IngestJob.Status.FAILED).update(
        status=IngestJob.Status.PENDING, error="", finished_at=None
    )
    if updated:
        enqueue_on_commit(ingest_job, job.pk)
    return bool(updated)
