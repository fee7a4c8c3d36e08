"""Development mail backend: every message is written to var/mail/ and printed."""

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class FileAndConsoleBackend(FileBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._console = ConsoleBackend(alias=self.alias)

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        self._console.send_messages(email_messages)
        return sent
