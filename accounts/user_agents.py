"""Sessions as people recognise them: "Chrome on Linux" rather than a user-agent string."""

from functools import lru_cache

from ua_parser import parse


@lru_cache(maxsize=512)
def describe(user_agent):
    """The browser and system a user-agent string names ("Firefox on Windows", "Mobile Safari on
    iOS · iPhone"), or "" when it names neither (a script, an empty header)."""
    if not user_agent:
        return ""
    found = parse(user_agent[:1000])
    browser = found.user_agent.family if found.user_agent and found.user_agent.family != "Other" else ""
    system = found.os.family if found.os and found.os.family != "Other" else ""
    device = found.device.family if found.device and found.device.family not in ("Other", "Spider") else ""
    if not (browser or system):
        return ""
    text = f"{browser or 'A browser'} on {system}" if system else browser
    if device and device not in text:
        text += f" · {device}"
    return text
