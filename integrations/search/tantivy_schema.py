"""The Tantivy index's fields, text analysers and documents (see `tantivy_engine.py`).

A product is indexed three ways: its words stemmed per field (name, brand, category names,
description) for exact matches with field boosts; its title words unstemmed (`name_words`,
`label_words`) for typo-tolerant and prefix matches; and its filter and order values as fast
fields. Change anything here that changes what is stored and `SCHEMA_VERSION` goes up: an
index of another version is rebuilt rather than read.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime, timedelta

import tantivy

from integrations.search.engine import SearchDocument

# Kept beside the index (tantivy_engine.py): an index of another version is rebuilt.
SCHEMA_VERSION = 6

ID = "id"  # raw hex: deletes by term, and the order of ties (a text fast field)
ID_HIGH = "id_high"  # the id's first 8 bytes, and its last 4: "after this id" as ranges
ID_LOW = "id_low"
NAME = "name"
DESCRIPTION = "description"
BRAND_TEXT = "brand_text"
CATEGORY_TEXT = "category_text"
NAME_WORDS = "name_words"
LABEL_WORDS = "label_words"  # brand and category names
BRAND = "brand"
CATEGORY_ID = "category_id"
SUBCATEGORY_ID = "subcategory_id"
BRAND_SUGGEST = "brand_suggest"
CATEGORY_SUGGEST = "category_suggest"
FINAL_PRICE = "final_price"
IN_STOCK = "in_stock"
RATING = "rating_average"
CREATED_AT = "created_at_ms"
STATIC_RANK = "static_rank"
# The final price as a price filter tests it on a page's hits (tantivy_queries.Checks), with
# bits spread above it (`checked_value`).
PRICE_CHECK = "price_check"

STEMMED = "en_stem"
PLAIN = "plain"
MAX_WORD_LENGTH = 40
# Separates a suggestion's lowercased key from what it shows ("sony\x1fSony").
SUGGEST_SEPARATOR = "\x1f"


# Words are runs of letters or of digits: "16GB" is "16 gb", as names write "16 GB".
WORD_PATTERN = r"[0-9]+|[^\W\d_]+"


def _analyzer(*, stem: bool) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN))
        .filter(tantivy.Filter.remove_long(MAX_WORD_LENGTH))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


STEMMED_ANALYZER = _analyzer(stem=True)
PLAIN_ANALYZER = _analyzer(stem=False)


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Only the name is stored (for suggestions, which list each name once); hits are read by
    # their ids' fast fields, and highlights mark up the text MongoDB returns.
    builder.add_text_field(ID, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field(ID_HIGH, fast=True)
    builder.add_unsigned_field(ID_LOW, fast=True)
    for name, stored in ((NAME, True), (DESCRIPTION, False), (BRAND_TEXT, False)):
        builder.add_text_field(name, stored=stored, tokenizer_name=STEMMED, index_option="basic")
    builder.add_text_field(CATEGORY_TEXT, tokenizer_name=STEMMED, index_option="basic")
    for name in (NAME_WORDS, LABEL_WORDS):
        builder.add_text_field(name, tokenizer_name=PLAIN, index_option="basic")
    for name in (BRAND, CATEGORY_ID, SUBCATEGORY_ID):
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    for name in (BRAND_SUGGEST, CATEGORY_SUGGEST):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field(FINAL_PRICE, fast=True)
    builder.add_boolean_field(IN_STOCK, indexed=True, fast=True)
    builder.add_float_field(RATING, fast=True)
    builder.add_integer_field(CREATED_AT, fast=True)
    builder.add_integer_field(STATIC_RANK, fast=True)
    builder.add_unsigned_field(PRICE_CHECK, fast=True)
    return builder.build()


def register_analyzers(index: tantivy.Index) -> None:
    """Every `tantivy.Index` object needs them before it indexes or searches."""
    index.register_tokenizer(STEMMED, STEMMED_ANALYZER)
    index.register_tokenizer(PLAIN, PLAIN_ANALYZER)


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The stemmed form of one plain word (a shop's words are few: worth remembering)."""
    return (STEMMED_ANALYZER.analyze(word) or [word])[0]


def normalize(text: str) -> str:
    """Lowercased, accents folded, words joined by one space: how suggestions are keyed."""
    return " ".join(PLAIN_ANALYZER.analyze(text))


_OBJECT_ID = re.compile("[0-9a-f]{24}")


def split_id(id_: str) -> tuple[int, int]:
    """An ObjectId's 24 hex digits as two integers that order like the hex string."""
    if _OBJECT_ID.fullmatch(id_) is None:
        raise ValueError(f"not an ObjectId in hex: {id_!r}")
    value = int(id_, 16)
    return value >> 32, value & 0xFFFFFFFF


def join_id(high: int, low: int) -> str:
    return f"{(high << 32) | low:024x}"


def epoch_milliseconds(value: datetime) -> int:
    """MongoDB hands back naive datetimes in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


RANK_RATING_SHIFT = 24  # below it, the id's last 24 bits (the ObjectId's counter)
RANK_STOCK_SHIFT = 33  # below it, the rating in hundredths (0 to 500)


def static_rank(document: SearchDocument) -> int:
    """A product's own place among equal text matches (tantivy_queries.py, "levels"): in stock
    first, then better rated, then the id's counter, which spreads the rest apart and leaves
    few exact ties (those go by id). Independent of the rest of the index, so pages by it stay
    put when other products change. Below 2**34."""
    rating = round(min(max(document.rating_average, 0.0), 5.0) * 100)
    counter = int(document.id[-6:], 16)
    return (int(document.in_stock) << RANK_STOCK_SHIFT) | (rating << RANK_RATING_SHIFT) | counter


def rank_in_stock(rank: int) -> bool:
    """Whether the product of a static rank is in stock."""
    return bool(rank >> RANK_STOCK_SHIFT)


def rank_rating(rank: int) -> int:
    """The rating of a static rank's product, in hundredths, rounded."""
    return (rank >> RANK_RATING_SHIFT) & ((1 << (RANK_STOCK_SHIFT - RANK_RATING_SHIFT)) - 1)


CHECK_BITS = 50  # a checked value's: prices are below it (documents.money.MAX_MINOR_UNITS)
_CHECK_MASK = (1 << CHECK_BITS) - 1
_SPREAD_MASK = (1 << (64 - CHECK_BITS)) - 1


def checked_value(product_id: str, value: int) -> int:
    """`value` (from 0 to below 2**CHECK_BITS) as a check column holds it for the product:
    above it, bits spread from the product's id. Tantivy stores a column of values in
    near-straight lines (the prices of products added by category, best rated first) in
    blocks, which cost about 50 µs to open per read at a million products; spread like this,
    the column stays bit-packed (about 5 µs)."""
    if not 0 <= value <= _CHECK_MASK:
        raise ValueError(f"a checked value is below 2**{CHECK_BITS}: {value}")
    digest = hashlib.blake2b(product_id.encode(), digest_size=2).digest()
    return (int.from_bytes(digest) & _SPREAD_MASK) << CHECK_BITS | value


def checked(stored: int) -> int:
    """The value a check column's `stored` holds (`checked_value`)."""
    return stored & _CHECK_MASK


def _suggest_keys(names: list[tuple[str, str]]) -> list[str]:
    """Each (display, extra) keyed by every word onward: "Smart Home" by "smart home" and by
    "home", so a prefix of any of its words finds it."""
    keys: list[str] = []
    for display, extra in names:
        words = normalize(display).split(" ")
        for start in range(len(words)):
            key = " ".join(words[start:])
            if key:
                keys.append(SUGGEST_SEPARATOR.join((key, extra, display)))
    return keys


def to_document(document: SearchDocument) -> tantivy.Document:
    high, low = split_id(document.id)
    doc = tantivy.Document()
    doc.add_text(ID, document.id)
    doc.add_unsigned(ID_HIGH, high)
    doc.add_unsigned(ID_LOW, low)
    doc.add_text(NAME, document.name)
    doc.add_text(DESCRIPTION, document.description)
    doc.add_text(BRAND_TEXT, document.brand)
    doc.add_text(NAME_WORDS, document.name)
    doc.add_text(LABEL_WORDS, document.brand)
    doc.add_text(BRAND, document.brand)
    doc.add_text(CATEGORY_ID, document.category_id)
    if document.subcategory_id is not None:
        doc.add_text(SUBCATEGORY_ID, document.subcategory_id)
    for category_name in document.category_names:
        doc.add_text(CATEGORY_TEXT, category_name)
        doc.add_text(LABEL_WORDS, category_name)
    for key in _suggest_keys([(document.brand, "")]):
        doc.add_text(BRAND_SUGGEST, key)
    category_ids = (document.category_id, document.subcategory_id)
    for key in _suggest_keys(
        [(n, i) for n, i in zip(document.category_names, category_ids, strict=False) if i]
    ):
        doc.add_text(CATEGORY_SUGGEST, key)
    doc.add_integer(FINAL_PRICE, document.final_price)
    doc.add_boolean(IN_STOCK, document.in_stock)
    doc.add_float(RATING, document.rating_average)
    doc.add_integer(CREATED_AT, epoch_milliseconds(document.created_at))
    doc.add_integer(STATIC_RANK, static_rank(document))
    doc.add_unsigned(PRICE_CHECK, checked_value(document.id, document.final_price))
    return doc
