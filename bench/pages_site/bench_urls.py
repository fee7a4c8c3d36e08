"""The site's URLs plus ``/bench/bare/``: the baseline of DESIGN §3's throughput target — a bare
Django view rendering the same 24 rows as the first page of /tracks/ from one query."""

from django.http import HttpResponse
from django.template import engines
from django.urls import include, path

from catalog.models import Track

BARE = engines["django"].from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Music</title></head><body>
<ol>{% for t in tracks %}
<li><a href="/tracks/{{ t.slug }}/">{{ t.title }}</a>
 by <a href="/artists/{{ t.artist.slug }}/">{{ t.artist.name }}</a> {{ t.duration_seconds|floatformat:0 }} s
 {% if t.bpm %} · {{ t.bpm }} BPM{% endif %}{% if t.key %} · {{ t.key }}{% endif %}</li>
{% endfor %}</ol></body></html>"""
)


def bare(request):
    tracks = (
        Track.objects.filter(is_published=True, ingest_status="ready", kind="music")
        .select_related("artist")
        .order_by("-popularity", "-id")[:24]
    )
    return HttpResponse(BARE.render({"tracks": tracks}, request))


urlpatterns = [path("bench/bare/", bare), path("", include("allmytracks.urls"))]
