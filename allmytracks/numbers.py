"""Numbers from text that comes from outside (query strings, form fields, webhook metadata)."""


def whole_number(value, *, max_digits=18):
    """A non-negative integer written in ASCII digits ("42"), or None for anything else.

    ``str.isdigit()`` alone lets through "²", "①" and other digits ``int()`` refuses, and Python
    refuses ``int()`` of more than 4,300 digits: both ended as server errors before.
    """
    text = "" if value is None else str(value).strip()
    if text and len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
