"""Money in integer minor units, and the only place prices are computed."""

from __future__ import annotations

from decimal import Decimal

from documents.errors import InvalidInputError

# ISO 4217 currencies whose minor unit is not 1/100. Everything else has two decimals.
_MINOR_UNIT_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
}

MAX_DISCOUNT_PERCENT = 90
# Far above any price, far below what MongoDB's 64-bit integers hold.
MAX_MINOR_UNITS = 10**15


def minor_unit_exponent(currency: str) -> int:
    """Number of decimals of `currency`'s minor unit (2 for INR and USD, 0 for JPY)."""
    return _MINOR_UNIT_EXPONENTS.get(currency, 2)


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units to an exact decimal amount in major units (1299 INR paise -> 12.99)."""
    exponent = minor_unit_exponent(currency)
    return Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def to_minor_units(amount: Decimal, currency: str, *, field: str) -> int:
    """An exact decimal amount to integer minor units; refuses fractions of a minor unit."""
    if not amount.is_finite():
        raise InvalidInputError(f"{field} is not a valid amount", field=field)
    # Checked before scaling, which could otherwise overflow the decimal context.
    if amount.copy_abs() >= MAX_MINOR_UNITS:
        raise InvalidInputError(f"{field} is too large", field=field)
    exponent = minor_unit_exponent(currency)
    # Checked on the digits as written, without the decimal context: scaling (or normalizing)
    # "1e-999999999999" would underflow to a silent 0.
    if _smallest_decimal_place(amount) < -exponent:
        raise InvalidInputError(f"{field} has more decimals than {currency} allows", field=field)
    scaled = amount.scaleb(exponent)
    if abs(scaled) > MAX_MINOR_UNITS:
        raise InvalidInputError(f"{field} is too large", field=field)
    return int(scaled)


def _smallest_decimal_place(amount: Decimal) -> int:
    """The exponent of the last non-zero digit (-2 for 12.50 and 12.5, 0 for 1200 and 0)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite, checked before
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return 0 if not any(digits) else exponent + trailing_zeros


def final_price(price_minor: int, discount_percent: int) -> int:
    """The price a customer pays after the product discount, rounded half up to a minor unit."""
    if price_minor < 0 or not 0 <= discount_percent <= MAX_DISCOUNT_PERCENT:
        raise ValueError("price must be >= 0 and discount between 0 and 90 percent")
    return (price_minor * (100 - discount_percent) + 50) // 100
