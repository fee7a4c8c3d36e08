"""Template helpers for catalogue pages: signed preview links and waveform drawings."""

from django import template
from django.utils.safestring import mark_safe

from catalog import previews

register = template.Library()

MINI_W, MINI_H = 200, 40
WAVE_W, WAVE_H = 600, 80


@register.simple_tag
def preview_url(version):
    """The signed, expiring preview URL of a version (or a version id); '' when there is none."""
    if not version:
        return ""
    return previews.preview_url(getattr(version, "pk", version))


@register.filter
def mini_wave_path(bars):
    """An SVG path (viewBox 0 0 200 40) drawing up to 100 bars of heights 0–100, centred."""
    if not bars:
        return ""
    step = MINI_W / len(bars)
    mid = MINI_H / 2
    parts = []
    for i, value in enumerate(bars):
        half = max(1.0, value / 100 * (mid - 1))
        x = i * step + step / 2
        parts.append(f"M{x:.1f} {mid - half:.1f}V{mid + half:.1f}")
    return mark_safe("".join(parts))  # noqa: S308 - numbers only


@register.filter
def peaks_path(peaks, bars=150):
    """An SVG path (viewBox 0 0 600 80) of ``bars`` min/max bars from ~1000 [min, max] pairs."""
    if not peaks:
        return ""
    bars = int(bars)
    n = len(peaks)
    bars = min(bars, n)
    step = WAVE_W / bars
    mid = WAVE_H / 2
    top = max(1, max(max(abs(lo), abs(hi)) for lo, hi in peaks))
    parts = []
    for i in range(bars):
        chunk = peaks[i * n // bars : max((i + 1) * n // bars, i * n // bars + 1)]
        lo = min(p[0] for p in chunk) / top
        hi = max(p[1] for p in chunk) / top
        y1 = mid - max(hi, 0.02) * (mid - 1)
        y2 = mid - min(lo, -0.02) * (mid - 1)
        x = i * step + step / 2
        parts.append(f"M{x:.1f} {y1:.1f}V{y2:.1f}")
    return mark_safe("".join(parts))  # noqa: S308 - numbers only


@register.filter
def seconds(value):
    """83.4 → '1:23'; under a second, tenths: 0.12 → '0.1 s'."""
    value = float(value or 0)
    if 0 < value < 1:
        return f"{max(value, 0.1):.1f} s"
    total = int(round(value))
    return f"{total // 60}:{total % 60:02d}"


@register.filter
def in_set(value, collection):
    return value in (collection or ())
