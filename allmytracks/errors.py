"""The one shape of a domain refusal, shared by every app's services."""


class UserFacingError(Exception):
    """A refusal a person can read. ``str()`` is the message to show; ``url``, when set,
    is the page where the person can fix it (pricing, billing, the agreements, the profile)."""

    def __init__(self, message, url=None):
        super().__init__(message)
        self.message = message
        self.url = url

    def __str__(self):
        return self.message
