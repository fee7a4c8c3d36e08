"""The demo catalogue: a plan of tracks and sound effects, rendered to real files and ingested.

``plan(count)`` decides every item (titles, artists, tags, tempo, key, timbres, versions)
from a fixed seed; ``render(item, folder)`` synthesises and encodes its files (no database,
so it runs in worker processes); ``seed`` ingests the files through ``catalog.ingest`` and
adds collections. Used by ``manage.py seed_demo``.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from . import synth

GENRES = {
    # genre: (bpm range, lead timbres, chord timbres, drums?, moods, instruments, themes)
    "Cinematic": (
        (70, 110),
        ["strings", "bells"],
        ["strings", "pad"],
        False,
        ["Epic", "Tense", "Dramatic"],
        ["Strings", "Bells", "Pads"],
        ["Film", "Documentary", "Trailer"],
    ),
    "Corporate": (
        (100, 124),
        ["pluck", "piano"],
        ["piano", "pad"],
        True,
        ["Uplifting", "Happy", "Confident"],
        ["Piano", "Guitar", "Drums"],
        ["Business", "Technology", "Presentation"],
    ),
    "Lo-fi": (
        (70, 92),
        ["piano", "bells"],
        ["organ", "piano"],
        True,
        ["Calm", "Dreamy", "Nostalgic"],
        ["Piano", "Drums", "Bass"],
        ["Study", "Vlog", "Cooking"],
    ),
    "Electronic": (
        (118, 132),
        ["square", "pluck"],
        ["pad", "organ"],
        True,
        ["Energetic", "Confident", "Dark"],
        ["Synth", "Drums", "Bass"],
        ["Technology", "Sports", "Gaming"],
    ),
    "Ambient": (
        (60, 84),
        ["bells", "pad"],
        ["pad", "strings"],
        False,
        ["Calm", "Dreamy", "Hopeful"],
        ["Pads", "Bells", "Synth"],
        ["Nature", "Meditation", "Travel"],
    ),
    "Pop": (
        (96, 122),
        ["square", "pluck"],
        ["piano", "pad"],
        True,
        ["Happy", "Uplifting", "Romantic"],
        ["Synth", "Piano", "Drums"],
        ["Vlog", "Fashion", "Advertising"],
    ),
    "Acoustic": (
        (84, 112),
        ["guitar", "piano"],
        ["guitar", "piano"],
        True,
        ["Happy", "Hopeful", "Romantic"],
        ["Guitar", "Piano", "Bass"],
        ["Travel", "Family", "Cooking"],
    ),
    "Hip Hop": (
        (82, 98),
        ["piano", "square"],
        ["organ", "piano"],
        True,
        ["Confident", "Dark", "Energetic"],
        ["Drums", "Bass", "Piano"],
        ["Urban", "Sports", "Fashion"],
    ),
    "Orchestral": (
        (80, 120),
        ["strings", "bells"],
        ["strings", "organ"],
        False,
        ["Epic", "Hopeful", "Dramatic"],
        ["Strings", "Bells", "Organ"],
        ["Film", "Holiday", "Trailer"],
    ),
}
PALETTES = {
    "Epic": [(25, 20, 60), (190, 60, 40), (255, 190, 90)],
    "Tense": [(10, 15, 30), (70, 30, 90), (200, 60, 80)],
    "Dramatic": [(30, 10, 20), (150, 30, 60), (250, 160, 100)],
    "Uplifting": [(255, 160, 60), (230, 60, 120), (255, 240, 160)],
    "Happy": [(255, 200, 70), (60, 170, 220), (255, 255, 200)],
    "Confident": [(20, 40, 110), (40, 170, 200), (220, 250, 255)],
    "Calm": [(40, 110, 140), (120, 200, 180), (230, 255, 240)],
    "Dreamy": [(90, 70, 170), (240, 150, 200), (255, 230, 250)],
    "Nostalgic": [(120, 70, 50), (230, 170, 110), (255, 235, 200)],
    "Energetic": [(230, 30, 90), (255, 150, 20), (255, 250, 120)],
    "Dark": [(8, 8, 20), (40, 50, 90), (120, 140, 220)],
    "Hopeful": [(60, 130, 200), (250, 210, 120), (255, 255, 230)],
    "Romantic": [(160, 30, 70), (250, 130, 150), (255, 220, 230)],
}
ARTISTS = [
    ("Mara Voss", "Pianist and producer writing warm, unhurried music for stories told slowly."),
    ("Northbound Collective", "A trio making wide-screen cinematic pieces for film and documentary."),
    ("Kite & Keel", "Bright acoustic pop for brands, travel films and family moments."),
    ("Lumen Drive", "Electronic producer: driving synths, clean drums, big drops."),
    ("Ada Okafor", "Composer of orchestral and ambient scores for film and games."),
    ("The Quiet Hours", "Lo-fi beats for study sessions, cooking videos and late nights."),
    ("Salt & Signal", "Hip hop instrumentals with heavy low end and crisp drums."),
    ("Juniper Lane", "Singer-songwriter textures, guitars and soft keys."),
    ("Neon Atlas", "Retro synth pop and upbeat electronic tracks for ads."),
    ("Hollow Pines", "Ambient drones and field-recording inspired soundscapes."),
    ("Rui Tanaka", "Corporate and technology music that stays out of the way of a voice-over."),
    ("Field Theory", "Experimental electronic textures and pulses."),
    ("Clara Montague", "Neo-classical piano and strings."),
    ("Brass Harbour", "Upbeat and confident tracks for sport and action."),
    ("Velvet Static", "Dreamy lo-fi with tape warmth."),
    ("Orbit Sound Lab", "Sound design studio: whooshes, impacts, interface sounds."),
]
SFX_ARTIST = "Orbit Sound Lab"
WORDS_A = [
    "Golden",
    "Midnight",
    "Silver",
    "Distant",
    "Electric",
    "Quiet",
    "Bright",
    "Northern",
    "Velvet",
    "Endless",
    "Hidden",
    "Wild",
    "Paper",
    "Glass",
    "Summer",
    "Winter",
    "Neon",
    "Morning",
    "Open",
    "Falling",
    "Crimson",
    "Lucky",
    "Slow",
    "Rising",
    "Blue",
    "Amber",
    "Little",
    "Secret",
    "Ocean",
    "City",
]
WORDS_B = [
    "Horizon",
    "Drive",
    "Lights",
    "Dreams",
    "Echoes",
    "Skyline",
    "Journey",
    "Harbour",
    "Rain",
    "Fields",
    "Circuit",
    "Motion",
    "Memories",
    "Tides",
    "Hearts",
    "Roads",
    "Signals",
    "Gardens",
    "Waves",
    "Sparks",
    "Mornings",
    "Story",
    "Bloom",
    "Orbit",
    "Avenue",
    "Steps",
    "Pulse",
    "Air",
    "Stars",
    "Moments",
]
SFX = {
    # kind: (category path, titles, themes)
    "whoosh": (("Transitions", "Whooshes"), ["Fast Whoosh", "Air Swipe", "Soft Swish", "Passing Swoosh"]),
    "riser": (("Transitions", "Risers"), ["Tension Riser", "Sweep Up", "Build Up", "Cinematic Swell"]),
    "impact": (("Impacts", "Cinematic Hits"), ["Deep Impact", "Boom Hit", "Trailer Hit", "Heavy Thud"]),
    "click": (("Interface", "Clicks"), ["Button Click", "Soft Tap", "Toggle Click", "Menu Select"]),
    "notification": (
        ("Interface", "Notifications"),
        ["Message Chime", "Success Ding", "Alert Tone", "Soft Ping"],
    ),
    "rain": (("Nature", "Rain"), ["Light Rain", "Rain on Window", "Steady Drizzle", "Heavy Downpour"]),
    "wind": (("Nature", "Wind"), ["Mountain Wind", "Gentle Breeze", "Howling Wind", "Desert Gust"]),
    "laser": (("Sci-fi", "Lasers"), ["Laser Shot", "Blaster Zap", "Ray Gun", "Plasma Bolt"]),
}
COLLECTIONS = [
    (
        "Uplifting corporate",
        "Positive, confident backgrounds for presentations and brand films.",
        {"moods": ["Uplifting", "Confident"], "genres": ["Corporate", "Pop"]},
    ),
    ("Lo-fi for focus", "Warm, unhurried beats to study, cook and edit to.", {"genres": ["Lo-fi"]}),
    (
        "Cinematic moments",
        "Strings, swells and tension for trailers and documentaries.",
        {"genres": ["Cinematic", "Orchestral"]},
    ),
    (
        "Calm and ambient",
        "Slow textures for meditation, nature and travel films.",
        {"moods": ["Calm", "Dreamy"]},
    ),
    ("High energy", "Driving tempos for sport, action and workouts.", {"moods": ["Energetic"]}),
    (
        "Interface sounds",
        "Clicks, chimes and whooshes for apps, games and motion graphics.",
        {"kind": "sfx", "categories": ["Interface", "Transitions"]},
    ),
]


@dataclass
class Item:
    index: int
    kind: str
    title: str
    artist: str
    fmt: str
    seconds: float = 0
    genre: str = ""
    moods: list = field(default_factory=list)
    instruments: list = field(default_factory=list)
    themes: list = field(default_factory=list)
    bpm: int | None = None
    key: str = ""
    mode: str = ""
    energy: int = 3
    lead: str = ""
    chords: str = ""
    drums: bool = True
    sfx_kind: str = ""
    category: tuple = ()
    stems: bool = False
    edits: bool = False
    vocals: str = "none"
    days_old: int = 0
    popularity: int = 0  # how much it is previewed (play counts), not a boost


def plan(count, seed=7):
    """The list of items to make: about 85 % music, the rest sound effects."""
    rng = random.Random(seed)
    sfx_count = max(1, count * 15 // 100) if count >= 4 else 0
    music_count = count - sfx_count
    genre_names = list(GENRES)
    music_artists = [a for a, _ in ARTISTS if a != SFX_ARTIST]
    items, used = [], set()
    for i in range(music_count):
        genre = genre_names[i % len(genre_names)]
        bpm_range, leads, chords, drums, moods, instruments, themes = GENRES[genre]
        title = _title(rng, used)
        mode = rng.choice(["major", "minor"]) if genre not in ("Cinematic", "Hip Hop") else "minor"
        items.append(
            Item(
                index=i,
                kind="music",
                title=title,
                artist=music_artists[(i * 7 + rng.randrange(3)) % len(music_artists)],
                fmt=rng.choices(["flac", "wav", "mp3", "aiff"], weights=[6, 2, 3, 1])[0],
                seconds=rng.uniform(14, 30),
                genre=genre,
                moods=rng.sample(moods, 2),
                instruments=rng.sample(instruments, 2),
                themes=rng.sample(themes, 2),
                bpm=rng.randint(*bpm_range),
                key=rng.choice(list(synth.NOTE_INDEX)),
                mode=mode,
                energy=max(1, min(5, round(rng.gauss((sum(bpm_range) / 2 - 60) / 15, 0.9)))),
                lead=(lead := rng.choice(leads)),
                chords=rng.choice([c for c in chords if c != lead] or chords),  # not "piano over piano"
                drums=drums,
                stems=i % 25 == 0,
                edits=i % 20 == 10,
                vocals="none",
                days_old=rng.choice([0, 1, 2, 3, 5, 6]) if i % 6 == 0 else rng.randint(8, 120),
                popularity=int(rng.paretovariate(1.2) * 40),
            )
        )
    kinds = list(SFX)
    for j in range(sfx_count):
        kind = kinds[j % len(kinds)]
        category, titles = SFX[kind]
        title = titles[(j // len(kinds)) % len(titles)]
        if title in used:
            title = f"{title} {j // len(kinds) + 1}"
        used.add(title)
        items.append(
            Item(
                index=music_count + j,
                kind="sfx",
                title=title,
                artist=SFX_ARTIST,
                fmt=rng.choice(["wav", "wav", "flac"]),
                sfx_kind=kind,
                category=category,
                days_old=rng.randint(0, 90),
                popularity=int(rng.paretovariate(1.3) * 20),
            )
        )
    return items


def _title(rng, used):
    for _ in range(50):
        title = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
        if title not in used:
            used.add(title)
            return title
    title = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {len(used)}"
    used.add(title)
    return title


def palette_for(item):
    if item.kind == "sfx":
        return [(20, 24, 48), (75, 47, 214), (255, 184, 107)]
    return PALETTES.get(item.moods[0] if item.moods else "Calm", PALETTES["Calm"])


def render(item, folder):
    """Synthesise and encode ``item``'s files into ``folder``: [(path, options), …], main file first."""
    folder = Path(folder)
    subtitle = item.artist if item.kind == "music" else "Sound effect"
    cover = synth.artwork(item.title, subtitle, palette_for(item), seed=item.index, size=600)
    base = f"{item.index:04d}"
    if item.kind == "sfx":
        audio = synth.sound_effect(item.sfx_kind, seed=item.index)
        path = synth.encode(audio, folder / f"{base}.{item.fmt}", item.fmt)
        synth.tag_file(path, item.fmt, title=item.title, artist=item.artist, picture=cover)
        return [(path, {"version_kind": "full"})]
    layers = synth.compose(
        key=item.key,
        mode=item.mode,
        bpm=item.bpm,
        seconds=item.seconds,
        lead=item.lead,
        chords=item.chords,
        drums=item.drums,
        energy=item.energy,
        seed=item.index,
    )
    full = synth.mix(layers)
    path = synth.encode(full, folder / f"{base}.{item.fmt}", item.fmt)
    key_tag = f"{item.key}{'m' if item.mode == 'minor' else ''}"
    synth.tag_file(
        path,
        item.fmt,
        title=item.title,
        artist=item.artist,
        album=f"{item.genre} Sessions",
        genre=item.genre,
        bpm=item.bpm,
        key=key_tag,
        picture=cover,
    )
    files = [(path, {"version_kind": "full"})]
    if item.edits:
        bar = 60.0 / item.bpm * 4
        short = full[: int(min(15, full.shape[0] / synth.RATE) * synth.RATE)].copy()
        fade = int(0.8 * synth.RATE)
        short[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)[:, None]
        files.append((synth.encode(short, folder / f"{base}-15.flac", "flac"), {"version_kind": "15s"}))
        loop = full[: int(bar * 2 * synth.RATE)]
        files.append((synth.encode(loop, folder / f"{base}-loop.flac", "flac"), {"version_kind": "loop"}))
        no_lead = synth.mix({k: v for k, v in layers.items() if k != "melody"})
        files.append(
            (
                synth.encode(no_lead, folder / f"{base}-inst.flac", "flac"),
                {"version_kind": "instrumental", "version_name": "Without melody"},
            )
        )
    if item.stems:
        for name, label in (("drums", "Drums"), ("bass", "Bass"), ("chords", "Chords"), ("melody", "Melody")):
            if not np.any(layers[name]):
                continue
            stem = synth.stereo(layers[name])
            files.append(
                (
                    synth.encode(stem, folder / f"{base}-{name}.flac", "flac"),
                    {"version_kind": "stem", "version_name": f"{label} stem"},
                )
            )
    for position, (_, options) in enumerate(files):
        options["position"] = position
    return files


def render_job(args):
    item, folder = args
    return item.index, render(item, folder)


def track_options(item):
    """What the demo says about the track beyond its tags."""
    options = {
        "kind": item.kind,
        "publish": True,
        "description": _description(item),
    }
    if item.kind == "music":
        options.update(
            moods=item.moods,
            instruments=item.instruments,
            themes=item.themes,
            energy=item.energy,
            vocals=item.vocals,
        )
    else:
        options.update(sound_category=_slug("-".join(item.category)), themes=["Sound design"])
    return options


def _description(item):
    if item.kind == "sfx":
        return (
            f"A {item.sfx_kind} sound effect from the {item.category[0].lower()} library, made for editors."
        )
    moods = " and ".join(m.lower() for m in item.moods)
    return (
        f"A {moods} {item.genre.lower()} piece at {item.bpm} BPM in {item.key} {item.mode}, led by "
        f"{item.lead.replace('square', 'synth lead')} over {item.chords}. "
        f"Good for {', '.join(t.lower() for t in item.themes)}."
    )


def _slug(text):
    from django.utils.text import slugify

    return slugify(text)


def ensure_taxonomies():
    """Sound-effect category tree and the artists (with bios and generated portraits)."""
    from django.core.files.base import ContentFile

    from .models import Artist, SoundCategory
    from .services import unique_slug

    for path, _ in SFX.values():
        parent = None
        for depth in range(len(path)):
            slug = _slug("-".join(path[: depth + 1]))
            node = SoundCategory.objects.filter(slug=slug).first()
            if node is None:
                node = SoundCategory.objects.create(parent=parent, name=path[depth], slug=slug)
            parent = node
    for n, (name, bio) in enumerate(ARTISTS):
        artist = Artist.objects.filter(name=name).first()
        if artist is None:
            artist = Artist(name=name, slug=unique_slug(Artist, name, max_length=140), bio=bio)
            palette = list(PALETTES.values())[n % len(PALETTES)]
            initials = "".join(word[0] for word in name.replace("&", "").split()[:2])
            artist.image.save(
                "artist.jpg", ContentFile(synth.portrait(initials, palette, seed=n)), save=False
            )
            artist.save()


def finish(items_by_track, *, now):
    """Spread release dates, set play counts (and the popularity they make), and make the collections."""
    from django.core.files.base import ContentFile
    from django.db import transaction
    from django.db.models import F

    from .models import Collection, CollectionItem, Track
    from .search import forget_search_results
    from .services import refresh_popularity

    for track_id, item in items_by_track.items():
        Track.objects.filter(pk=track_id).update(
            created_at=now - timedelta(days=item.days_old, hours=item.index % 24),
            release_date=(now - timedelta(days=item.days_old)).date(),
            play_count=item.popularity * 7,  # as if previewed this often
        )
    # Published as they were added: the demo's “new from artists you follow” spreads over weeks too.
    Track.objects.filter(pk__in=list(items_by_track), is_published=True).update(published_at=F("created_at"))
    refresh_popularity()  # what the nightly job would make of those plays
    transaction.on_commit(forget_search_results, robust=True)  # the updates above send no signals
    for n, (title, description, rule) in enumerate(COLLECTIONS):
        if Collection.objects.filter(slug=_slug(title)).exists():
            continue
        tracks = Track.objects.published()
        if rule.get("kind"):
            tracks = tracks.filter(kind=rule["kind"])
        if rule.get("genres"):
            tracks = tracks.filter(genres__name__in=rule["genres"])
        if rule.get("moods"):
            tracks = tracks.filter(moods__name__in=rule["moods"])
        if rule.get("categories"):  # top-level sound categories
            tracks = tracks.filter(sound_category__parent__name__in=rule["categories"])
        ids = list(dict.fromkeys(tracks.order_by("-popularity").values_list("pk", flat=True)))[:18]
        if not ids:
            continue
        collection = Collection(
            title=title, slug=_slug(title), description=description, is_published=True, position=n
        )
        palette = list(PALETTES.values())[(n * 3) % len(PALETTES)]
        collection.cover.save(
            "c.jpg", ContentFile(synth.artwork(title, "Collection", palette, seed=100 + n)), save=False
        )
        collection.save()
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, track_id=tid, position=p) for p, tid in enumerate(ids)]
        )
