"""Showing amounts of money. Stripe counts in the smallest unit (cents); people don't."""

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "hkd": "HK$", "cad": "CA$", "aud": "A$", "jpy": "¥"}
ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp"}


def format_money(cents, currency="usd"):
    """1299, "usd" -> "$12.99"; 1200, "usd" -> "$12"; unknown currencies keep their code."""
    currency = (currency or "usd").lower()
    cents = int(cents or 0)
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    if currency in ZERO_DECIMAL:
        amount = f"{cents:,}"
    elif cents % 100 == 0:
        amount = f"{cents // 100:,}"
    else:
        amount = f"{cents // 100:,}.{cents % 100:02d}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"
