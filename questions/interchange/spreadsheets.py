"""What every CSV the site writes needs."""


def csv_safe(text: str) -> str:
    """Defuse spreadsheet formulas in user-supplied text (CSV injection): a cell that a
    spreadsheet would read as a formula gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
