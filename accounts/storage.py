"""The private storage for enterprise letters, resolved when used (not at import).

A FileField keeps the storage object it was given at import time; tests and deployments
swap ``STORAGES``. This lazy proxy resolves ``storages["private"]`` on first use and again
after ``STORAGES`` changes, as Django does for ``default_storage``.
"""

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.utils.functional import LazyObject, empty


class _PrivateStorage(LazyObject):
    def _setup(self):
        self._wrapped = storages["private"]

    def __reduce__(self):
        return (_PrivateStorage, ())

    def __deepcopy__(self, memo):  # migration state copies fields: share the one proxy
        return self


_private = _PrivateStorage()


def letters_storage():
    return _private


def _reset(*, setting, **kwargs):
    if setting == "STORAGES":
        _private._wrapped = empty


setting_changed.connect(_reset)
