"""The storage a catalogue file field writes to, looked up when it is used.

A ``FileField`` keeps the storage object it was given at import time. Masters must go to
``storages["private"]`` as it is configured *now* (tests and deployments swap it), so the
field gets a lazy proxy that resolves the alias on first use and again after
``STORAGES`` changes — the same trick Django uses for ``default_storage``.
"""

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.utils.functional import LazyObject, empty


class _AliasStorage(LazyObject):
    def __init__(self, alias):
        super().__init__()
        self.__dict__["_alias"] = alias

    def _setup(self):
        self._wrapped = storages[self.__dict__["_alias"]]

    def __reduce__(self):
        return (_AliasStorage, (self.__dict__["_alias"],))

    def __deepcopy__(self, memo):  # migration state copies fields: share the one proxy
        return self


_private = _AliasStorage("private")


def private_storage():
    """The private storage (masters, stems): never served directly."""
    return _private


def _reset(*, setting, **kwargs):
    if setting == "STORAGES":
        _private._wrapped = empty


setting_changed.connect(_reset)
