"""Rules for free text that clients send."""

from __future__ import annotations

import unicodedata

# Control, format (zero-width), surrogate, private-use and unassigned characters: invisible or
# look-alike in an address, never needed.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def is_visible_text(text: str) -> bool:
    """No control or invisible characters."""
    return not any(unicodedata.category(ch) in _HIDDEN_CATEGORIES for ch in text)
