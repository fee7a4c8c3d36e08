"""Listenable demo audio made with numpy: short pieces of music and sound effects.

Used by ``manage.py seed_demo`` (and the tests) to fill a fresh checkout with real audio
that goes through the real ingest pipeline. Everything is deterministic for a seed.

Music: a chord progression in a key and mode at a tempo, with a drum pattern, a bass line,
a chord layer and a melody; each layer has an instrument-like timbre (piano, strings, synth
pad, pluck/guitar, bells, organ, square lead). Layers are kept apart so a track can ship
its own stems. Sound effects: whooshes, impacts, clicks, chimes, rain, wind, lasers, risers.
"""

import io
import subprocess
from pathlib import Path

import numpy as np

RATE = 44100
NOTE_INDEX = {
    "C": 0,
    "C#": 1,
    "D": 2,
    "D#": 3,
    "E": 4,
    "F": 5,
    "F#": 6,
    "G": 7,
    "G#": 8,
    "A": 9,
    "A#": 10,
    "B": 11,
}
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
PROGRESSIONS = {
    "major": [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 4], [5, 3, 0, 4]],
    "minor": [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 6], [0, 5, 3, 4]],
}


def midi_freq(note):
    return 440.0 * 2 ** ((note - 69) / 12)


def _env(n, attack, release, rate=RATE):
    env = np.ones(n, dtype=np.float32)
    a = min(n, max(1, int(attack * rate)))
    r = min(n - a, max(1, int(release * rate)))
    env[:a] = np.linspace(0, 1, a, dtype=np.float32)
    if r > 0:
        env[n - r :] *= np.linspace(1, 0, r, dtype=np.float32)
    return env


def tone(freq, dur, timbre, rng, rate=RATE):
    """One note of ``timbre`` at ``freq`` Hz lasting ``dur`` seconds."""
    n = max(1, int(dur * rate))
    t = np.arange(n, dtype=np.float32) / rate
    if timbre == "piano":
        wave = sum((0.6 / k) * np.sin(2 * np.pi * freq * k * t) * np.exp(-t * (2.5 + k)) for k in range(1, 7))
        return (wave * _env(n, 0.004, 0.05)).astype(np.float32)
    if timbre == "bells":
        mod = np.sin(2 * np.pi * freq * 3.5 * t) * 2.0 * np.exp(-t * 3)
        return (0.5 * np.sin(2 * np.pi * freq * t + mod) * np.exp(-t * 2.2) * _env(n, 0.002, 0.05)).astype(
            np.float32
        )
    if timbre in ("pluck", "guitar"):
        wave = sum(
            (0.7 / k**1.2) * np.sin(2 * np.pi * freq * k * t) * np.exp(-t * (4 + 2.5 * k))
            for k in range(1, 9)
        )
        return (wave * _env(n, 0.002, 0.03)).astype(np.float32)
    if timbre == "strings":
        vib = 1 + 0.004 * np.sin(2 * np.pi * 5.2 * t)
        phase = 2 * np.pi * freq * np.cumsum(vib) / rate
        wave = sum((0.35 / k) * np.sin(k * phase + rng.uniform(0, 6)) for k in range(1, 8))
        return (wave * _env(n, min(0.35, dur / 3), min(0.4, dur / 3))).astype(np.float32)
    if timbre == "pad":
        wave = sum(
            0.18 * np.sin(2 * np.pi * freq * d * t) + 0.06 * np.sin(2 * np.pi * freq * 2 * d * t)
            for d in (0.996, 1.0, 1.004)
        )
        return (wave * _env(n, min(0.5, dur / 2), min(0.6, dur / 2))).astype(np.float32)
    if timbre == "organ":
        wave = sum(
            a * np.sin(2 * np.pi * freq * k * t) for k, a in ((1, 0.35), (2, 0.25), (3, 0.12), (4, 0.08))
        )
        return (wave * _env(n, 0.01, 0.05)).astype(np.float32)
    if timbre == "square":
        wave = sum((0.3 / k) * np.sin(2 * np.pi * freq * k * t) for k in range(1, 12, 2))
        return (wave * _env(n, 0.005, 0.05) * np.exp(-t * 1.5)).astype(np.float32)
    if timbre == "bass":
        wave = 0.7 * np.sin(2 * np.pi * freq * t) + 0.2 * np.sin(2 * np.pi * freq * 2 * t)
        return (wave * _env(n, 0.005, 0.04) * np.exp(-t * 1.2)).astype(np.float32)
    return (0.4 * np.sin(2 * np.pi * freq * t) * _env(n, 0.01, 0.05)).astype(np.float32)


def _noise(n, rng):
    return rng.standard_normal(n).astype(np.float32)


def _bandpass(signal, low, high, rate=RATE):
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(signal.size, 1 / rate)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n=signal.size).astype(np.float32)


def drum_hits(rng):
    n_k = int(0.35 * RATE)
    t = np.arange(n_k) / RATE
    kick = (np.sin(2 * np.pi * (50 + 90 * np.exp(-t * 30)) * t) * np.exp(-t * 9)).astype(np.float32)
    n_s = int(0.2 * RATE)
    t = np.arange(n_s) / RATE
    snare = (
        0.5 * _bandpass(_noise(n_s, rng), 1200, 8000) * np.exp(-t * 22)
        + 0.3 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 30)
    ).astype(np.float32)
    n_h = int(0.06 * RATE)
    t = np.arange(n_h) / RATE
    hat = (0.25 * _bandpass(_noise(n_h, rng), 7000, 16000) * np.exp(-t * 70)).astype(np.float32)
    return {"kick": kick, "snare": snare, "hat": hat}


def _place(buffer, sound, at, gain=1.0):
    start = int(at * RATE)
    if start >= buffer.size:
        return
    end = min(buffer.size, start + sound.size)
    buffer[start:end] += gain * sound[: end - start]


def _normalise(signal, peak=0.85):
    top = float(np.max(np.abs(signal))) or 1.0
    return (signal * (peak / top)).astype(np.float32)


def compose(*, key, mode, bpm, seconds, lead, chords, drums=True, energy=3, seed=0):
    """A piece of music as separate layers: {"drums", "bass", "chords", "melody"} (mono float32)."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    bar = beat * 4
    bars = max(2, int(seconds / bar))
    total = bars * bar + 1.5
    n = int(total * RATE)
    layers = {name: np.zeros(n, dtype=np.float32) for name in ("drums", "bass", "chords", "melody")}
    scale = MAJOR if mode == "major" else MINOR
    root = 48 + NOTE_INDEX[key]
    progression = PROGRESSIONS[mode][seed % len(PROGRESSIONS[mode])]
    hits = drum_hits(rng)
    swing = 0.0 if energy >= 3 else beat * 0.04

    for b in range(bars):
        degree = progression[b % len(progression)]
        chord = [root + 12 + scale[(degree + i) % 7] + 12 * ((degree + i) // 7) for i in (0, 2, 4)]
        start = b * bar
        # chords: held for a bar (pads/strings/organ) or struck on beats (piano/guitar)
        if chords in ("pad", "strings", "organ"):
            for note in chord:
                _place(layers["chords"], tone(midi_freq(note), bar + 0.3, chords, rng), start, 0.55)
        else:
            for i in range(4 if energy >= 3 else 2):
                at = start + i * (bar / (4 if energy >= 3 else 2))
                for note in chord:
                    _place(layers["chords"], tone(midi_freq(note), beat * 1.5, chords, rng), at, 0.45)
        # bass: root on the beat, an octave jump for busier tracks
        bass_root = root - 12 + scale[degree]
        steps = 8 if energy >= 4 else 4 if energy >= 2 else 2
        for i in range(steps):
            note = bass_root + (12 if energy >= 4 and i % 2 else 0)
            _place(
                layers["bass"],
                tone(midi_freq(note), bar / steps * 0.9, "bass", rng),
                start + i * bar / steps,
                0.8,
            )
        # melody: a scale walk around the chord, rhythm denser with energy
        per_bar = [2, 4, 4, 8, 8][max(0, min(4, energy - 1))]
        degree_pos = degree + 7
        for i in range(per_bar):
            if rng.random() < 0.18:
                continue
            degree_pos += int(rng.choice([-2, -1, 1, 1, 2, 0]))
            degree_pos = max(5, min(16, degree_pos))
            note = root + 12 + scale[degree_pos % 7] + 12 * (degree_pos // 7)
            at = start + i * bar / per_bar + (swing if i % 2 else 0)
            _place(layers["melody"], tone(midi_freq(note), bar / per_bar * 1.6, lead, rng), at, 0.5)
        # drums
        if drums:
            for i in range(4):
                at = start + i * beat
                if i in (0, 2) or energy >= 4:
                    _place(layers["drums"], hits["kick"], at, 0.9)
                if i in (1, 3):
                    _place(layers["drums"], hits["snare"], at, 0.6 if energy >= 3 else 0.35)
                for h in range(2 if energy < 4 else 4):
                    _place(
                        layers["drums"], hits["hat"], at + h * beat / (2 if energy < 4 else 4) + swing, 0.5
                    )
    fade = int(1.5 * RATE)
    for layer in layers.values():
        layer[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return layers


def mix(layers, pan=None):
    """Stereo (n, 2) float32 mix of mono layers with a gentle per-layer pan."""
    pan = pan or {"drums": 0.0, "bass": 0.0, "chords": -0.3, "melody": 0.3}
    n = max(layer.size for layer in layers.values())
    out = np.zeros((n, 2), dtype=np.float32)
    for name, layer in layers.items():
        p = pan.get(name, 0.0)
        out[: layer.size, 0] += layer * (1 - p) / 1.4
        out[: layer.size, 1] += layer * (1 + p) / 1.4
    return _normalise(out)


def stereo(mono):
    return _normalise(np.stack([mono, mono], axis=1))


# --- sound effects -------------------------------------------------------------------------


def sound_effect(kind, seed=0):
    """A stereo sound effect of ``kind`` (see SFX_KINDS)."""
    rng = np.random.default_rng(seed)
    if kind == "whoosh":
        dur = rng.uniform(0.8, 1.8)
        n = int(dur * RATE)
        t = np.linspace(0, 1, n, dtype=np.float32)
        noise = _bandpass(_noise(n, rng), 300, 6000)
        sig = noise * np.sin(np.pi * t) ** 3
        left, right = sig * (1 - t), sig * t
        return _normalise(np.stack([left + 0.3 * right, right + 0.3 * left], axis=1))
    if kind == "impact":
        dur = rng.uniform(1.2, 2.5)
        n = int(dur * RATE)
        t = np.arange(n) / RATE
        boom = np.sin(2 * np.pi * (40 + 120 * np.exp(-t * 12)) * t) * np.exp(-t * 3)
        crack = _bandpass(_noise(n, rng), 500, 9000) * np.exp(-t * 25)
        return stereo((boom + 0.6 * crack).astype(np.float32))
    if kind == "click":
        n = int(0.12 * RATE)
        t = np.arange(n) / RATE
        f = rng.uniform(1500, 3500)
        return stereo((np.sin(2 * np.pi * f * t) * np.exp(-t * 90)).astype(np.float32))
    if kind == "notification":
        pieces = []
        base = rng.choice([72, 76, 79])
        for step in (0, int(rng.choice([4, 5, 7]))):
            pieces.append(tone(midi_freq(base + step), 0.45, "bells", rng))
        return stereo(np.concatenate(pieces))
    if kind == "rain":
        dur = rng.uniform(5, 8)
        n = int(dur * RATE)
        bed = _bandpass(_noise(n, rng), 800, 9000) * 0.3
        drops = np.zeros(n, dtype=np.float32)
        for at in rng.uniform(0, dur - 0.05, int(dur * 40)):
            drop = tone(rng.uniform(2000, 5000), 0.03, "sine", rng)
            _place(drops, drop, at, rng.uniform(0.1, 0.4))
        sig = (bed + drops) * _env(n, 0.8, 0.8)
        return _normalise(np.stack([sig, np.roll(sig, 400)], axis=1), 0.6)
    if kind == "wind":
        dur = rng.uniform(5, 8)
        n = int(dur * RATE)
        t = np.arange(n) / RATE
        gust = 0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6))
        sig = _bandpass(_noise(n, rng), 120, 900) * gust * _env(n, 1.0, 1.0)
        return _normalise(np.stack([sig, np.roll(sig, 900)], axis=1), 0.6)
    if kind == "laser":
        dur = rng.uniform(0.3, 0.7)
        n = int(dur * RATE)
        t = np.arange(n) / RATE
        f = 2400 * np.exp(-t * 6) + 200
        phase = 2 * np.pi * np.cumsum(f) / RATE
        return stereo((np.sign(np.sin(phase)) * 0.4 * np.exp(-t * 4)).astype(np.float32))
    if kind == "riser":
        dur = rng.uniform(3, 5)
        n = int(dur * RATE)
        t = np.arange(n) / RATE
        f = 200 * 2 ** (t / dur * 3)
        phase = 2 * np.pi * np.cumsum(f) / RATE
        sig = np.sin(phase) * (t / dur) ** 2 + _bandpass(_noise(n, rng), 2000, 12000) * 0.3 * (t / dur) ** 3
        return stereo(sig.astype(np.float32))
    raise ValueError(kind)


SFX_KINDS = ["whoosh", "impact", "click", "notification", "rain", "wind", "laser", "riser"]


# --- files ---------------------------------------------------------------------------------


def wav_bytes(samples, rate=RATE):
    """16-bit PCM WAV of a (n,) or (n, channels) float array in -1..1."""
    import wave

    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def encode(samples, path, fmt, rate=RATE):
    """Write ``samples`` to ``path`` as wav, flac, aiff or mp3 (through the ffmpeg binary)."""
    import imageio_ffmpeg

    path = Path(path)
    raw = wav_bytes(samples, rate)
    if fmt == "wav":
        path.write_bytes(raw)
        return path
    codec = {
        "flac": ["-c:a", "flac"],
        "aiff": ["-c:a", "pcm_s16be"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    }
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-f",
        "wav",
        "-i",
        "pipe:0",
        *codec[fmt],
        "-y",
    ]
    cmd += ["-f", {"flac": "flac", "aiff": "aiff", "mp3": "mp3"}[fmt], str(path)]
    subprocess.run(cmd, input=raw, check=True, capture_output=True)  # noqa: S603 (fixed arguments, no shell)
    return path


def tag_file(path, fmt, *, title="", artist="", album="", genre="", bpm=None, key="", isrc="", picture=None):
    """Write tags (and a front-cover picture) the way real releases carry them."""
    from mutagen.id3 import APIC, ID3, TALB, TBPM, TCON, TIT2, TKEY, TPE1, TSRC

    if fmt == "flac":
        from mutagen.flac import FLAC, Picture

        audio = FLAC(path)
        for name, value in (("title", title), ("artist", artist), ("album", album), ("genre", genre)):
            if value:
                audio[name] = value
        if bpm:
            audio["bpm"] = str(bpm)
        if key:
            audio["initialkey"] = key
        if isrc:
            audio["isrc"] = isrc
        if picture:
            pic = Picture()
            pic.type, pic.mime, pic.data = 3, "image/jpeg", picture
            audio.add_picture(pic)
        audio.save()
        return
    if fmt == "mp3":
        from mutagen.mp3 import MP3

        audio = MP3(path)
    elif fmt == "wav":
        from mutagen.wave import WAVE

        audio = WAVE(path)
    else:
        from mutagen.aiff import AIFF

        audio = AIFF(path)
    if audio.tags is None:
        audio.add_tags()
    tags: ID3 = audio.tags
    frames = [(TIT2, title), (TPE1, artist), (TALB, album), (TCON, genre), (TKEY, key), (TSRC, isrc)]
    for frame, value in frames:
        if value:
            tags.add(frame(encoding=3, text=[value]))
    if bpm:
        tags.add(TBPM(encoding=3, text=[str(bpm)]))
    if picture:
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=picture))
    audio.save()


def artwork(title, subtitle, palette, seed=0, size=800):
    """A square cover: a two-colour gradient, soft shapes, and the title. Returns JPEG bytes."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = np.random.default_rng(seed)
    top, bottom = np.array(palette[0], dtype=np.float32), np.array(palette[1], dtype=np.float32)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    diag = (ramp + np.linspace(0, 1, size, dtype=np.float32)[None, :, None]) / 2
    pixels = top * (1 - diag) + bottom * diag
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    style = seed % 3
    for i in range(int(rng.integers(3, 7))):
        x, y = rng.uniform(0, size, 2)
        r = rng.uniform(size * 0.08, size * 0.35)
        alpha = int(rng.uniform(25, 70))
        colour = (255, 255, 255, alpha) if i % 2 else (*[int(c) for c in palette[2]], alpha + 30)
        if style == 0:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        elif style == 1:
            draw.rectangle([x - r, y - r / 3, x + r, y + r / 3], fill=colour)
        else:
            for k in range(6):
                draw.arc(
                    [x - r - k * 14, y - r - k * 14, x + r + k * 14, y + r + k * 14],
                    200,
                    340,
                    fill=colour,
                    width=5,
                )
    layer = layer.filter(ImageFilter.GaussianBlur(2))
    img = Image.alpha_composite(img.convert("RGBA"), layer)
    draw = ImageDraw.Draw(img)
    # a waveform band across the lower third
    xs = np.arange(40, size - 40, 8)
    for x in xs:
        h = float(abs(np.sin(x / 37 + seed) * np.cos(x / 91))) * 70 + 6
        draw.rounded_rectangle(
            [x, size * 0.68 - h, x + 4, size * 0.68 + h], radius=2, fill=(255, 255, 255, 150)
        )
    title_font = ImageFont.load_default(size=int(size * 0.085))
    small_font = ImageFont.load_default(size=int(size * 0.04))
    draw.text((size * 0.07, size * 0.08), title, font=title_font, fill=(255, 255, 255, 255))
    draw.text(
        (size * 0.07, size * 0.08 + size * 0.11), subtitle.upper(), font=small_font, fill=(255, 255, 255, 200)
    )
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=88)
    return out.getvalue()


def portrait(initials, palette, seed=0, size=400):
    """A square artist picture: a radial gradient with the initials centred. Returns JPEG bytes."""
    from PIL import Image, ImageDraw, ImageFont

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    dist = np.clip(np.sqrt((xx - 0.3) ** 2 + (yy - 0.25) ** 2) / 1.1, 0, 1)[..., None]
    inner, outer = np.array(palette[1], np.float32), np.array(palette[0], np.float32)
    img = Image.fromarray(np.clip(inner * (1 - dist) + outer * dist, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=int(size * 0.36))
    draw.text((size / 2, size / 2), initials.upper(), font=font, fill=(255, 255, 255), anchor="mm")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()
