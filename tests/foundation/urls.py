"""The real URLconf plus views that fail on purpose, for the error-page tests."""

from django.http import HttpResponse
from django.urls import path

from allmytracks.urls import handler400, handler403, handler404, handler429, handler500  # noqa: F401
from allmytracks.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("secret internal detail")


def echo_post(request):
    return HttpResponse(str(len(request.POST)))


urlpatterns = [
    path("test/boom/", boom),
    path("test/echo/", echo_post),
    *site_urlpatterns,
]
