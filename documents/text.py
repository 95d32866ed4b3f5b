"""Rules for free text that clients send."""

from __future__ import annotations

import unicodedata

# Control, format (zero-width), surrogate, private-use and unassigned characters: invisible or
# look-alike in an address, never needed.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Format characters that writing needs: the zero-width non-joiner and joiner shape Indic and
# Persian words and join emoji sequences.
_JOINERS = frozenset({"\u200c", "\u200d"})
# Letters and symbols that draw nothing: Hangul fillers and the blank Braille pattern.
_BLANK_LOOKING = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"})
_MARKS_AND_SPACES = frozenset({"Mn", "Me", "Zs"})


def is_visible_text(text: str) -> bool:
    """No control or invisible characters (the joiners that writing needs aside)."""
    return not any(
        unicodedata.category(ch) in _HIDDEN_CATEGORIES and ch not in _JOINERS for ch in text
    )


def shows_something(text: str) -> bool:
    """At least one character that draws something by itself: not only spaces, combining marks,
    joiners or blank-looking letters."""
    return any(
        unicodedata.category(ch) not in _MARKS_AND_SPACES
        and ch not in _JOINERS
        and ch not in _BLANK_LOOKING
        and not ch.isspace()
        for ch in text
    )
