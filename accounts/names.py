"""Checking names and profile text against the staff-editable blocklist.

Text is folded before comparison so look-alike spellings are caught: Unicode NFKC,
zero-width and other invisible characters removed, letters from other scripts that
look like Latin ones mapped to them ("Аdmin" with a Cyrillic А), digits used as
letters ("4dm1n"), case folded, and everything but letters dropped.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

# Characters that render as nothing (zero-width spaces and joiners, soft hyphen, BOM …).
INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
        "\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0",
    ),
    None,
)

# Letters of other scripts (and digits) that are commonly used in place of Latin letters.
CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "һ": "h",
        "ӏ": "l",
        "ɡ": "g",
        "ո": "n",
        "ս": "u",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ϲ": "c",
        "ϳ": "j",
        # Latin look-alikes and digits/symbols used as letters
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ħ": "h",
        "ß": "ss",
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "|": "l",
        "!": "i",
    }
)
_NON_LETTERS = re.compile(r"[^a-z]+")


def strip_invisible(text):
    return unicodedata.normalize("NFKC", text or "").translate(INVISIBLE)


def fold(text):
    """The skeleton a blocklist term is looked for in."""
    text = strip_invisible(text).casefold()
    # Remove accents: decompose, drop combining marks.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.translate(CONFUSABLES)
    return _NON_LETTERS.sub("", text)


# A term of this many letters or more is refused anywhere in a name ("allmytracks", "moderator",
# "administrator"): no ordinary word holds one. A shorter one ("admin", "staff", "official") only as
# a word of its own, or with a plural "s": "Staffan", "Badminton" and "Unofficial" are names, while
# "Admins", "Staff Picks", "S.t.a.f.f", "AdminTeam" and "4dm1n" are not.
ANYWHERE_LETTERS = 9
# Characters that end a word inside a token ("staff-picks", "the_admin"); those used as letters
# ("4dm1n", "@dmin", "$taff") do not.
_WORD_BREAK = re.compile(r"[^\w@$|!]+|_")


def _words(text):
    """The folded words of ``text``: each space-separated token whole ("S.t.a.f.f" is "staff"), and
    its parts split at punctuation and where a small letter meets a capital ("AdminTeam")."""
    words = set()
    for token in strip_invisible(text).split():
        words.add(fold(token))
        for part in _WORD_BREAK.split(token):
            start = 0
            for i in range(1, len(part)):
                if part[i - 1].islower() and part[i].isupper():
                    words.add(fold(part[start:i]))
                    start = i
            words.add(fold(part[start:]))
    words.discard("")
    return words


def blocked_term(text, terms=None):
    """The first blocklist term found in ``text``, or None (see ``ANYWHERE_LETTERS``)."""
    if terms is None:
        from .models import NameBlocklistEntry

        terms = NameBlocklistEntry.objects.values_list("term", flat=True)
    skeleton = fold(text)
    if not skeleton:
        return None
    words = _words(text)
    for term in terms:
        folded = fold(term)
        if not folded:
            continue
        if len(folded) >= ANYWHERE_LETTERS and folded in skeleton:
            return term
        if folded in words or f"{folded}s" in words or folded == skeleton:
            return term
    return None


def same_name(a, b):
    """Whether two names are the same name as people write it: case and spacing aside."""
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


# A web address in a name: a scheme ("https://"), "www.", or a domain followed by a path
# ("example.com/pay"). A company called "Booking.com" is a name, not a link.
WEB_ADDRESS = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://|\bwww\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/")


def refuse_web_address(text, *, what="This name"):
    """``text``, or a readable error when it holds a web address (``WEB_ADDRESS``)."""
    if WEB_ADDRESS.search(text or ""):
        raise ValidationError(f"{what} cannot contain a web address.", code="web_address")
    return text


def validate_allowed_name(text, *, what="This name", web_address_ok=False):
    """Clean ``text`` (NFKC, invisible characters removed) or raise a readable error. A name
    (``web_address_ok`` False) holds no web address: names are written into letters and into
    emails the site sends to other people, where a link would be the site vouching for it."""
    cleaned = (
        " ".join(strip_invisible(text).split()) if "\n" not in (text or "") else strip_invisible(text).strip()
    )
    if not web_address_ok:
        refuse_web_address(cleaned, what=what)
    term = blocked_term(cleaned)
    if term:
        raise ValidationError(
            f"{what} cannot contain “{term}” or a look-alike spelling of it: it could make "
            "people think you speak for AllMyTracks. Please choose something else.",
            code="blocked_name",
        )
    return cleaned
