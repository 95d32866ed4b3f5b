"""Money is integer minor units; decimals appear only at the edges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from documents.errors import InvalidInputError
from documents.money import final_price, to_decimal, to_minor_units


@pytest.mark.parametrize(
    ("price", "discount", "expected"),
    [
        (10_000, 0, 10_000),
        (10_000, 15, 8_500),
        (129_999, 15, 110_499),
        (1, 50, 1),
        (3, 50, 2),
        (0, 90, 0),
        (999, 90, 100),
    ],
)
def test_final_price_rounds_half_up_to_a_minor_unit(
    price: int, discount: int, expected: int
) -> None:
    assert final_price(price, discount) == expected


@pytest.mark.parametrize(("price", "discount"), [(-1, 0), (100, -1), (100, 91)])
def test_final_price_refuses_impossible_inputs(price: int, discount: int) -> None:
    with pytest.raises(ValueError, match="price"):
        final_price(price, discount)


def test_decimal_amounts_follow_the_currency_exponent() -> None:
    assert to_decimal(129_900, "INR") == Decimal("1299.00")
    assert str(to_decimal(5, "USD")) == "0.05"
    assert str(to_decimal(1500, "JPY")) == "1500"
    assert str(to_decimal(1_234, "KWD")) == "1.234"


def test_decimal_amounts_convert_exactly_or_not_at_all() -> None:
    assert to_minor_units(Decimal("1299.99"), "INR", field="price") == 129_999
    assert to_minor_units(Decimal("12"), "JPY", field="price") == 12
    with pytest.raises(InvalidInputError):
        to_minor_units(Decimal("0.001"), "INR", field="price")
    with pytest.raises(InvalidInputError):
        to_minor_units(Decimal("Infinity"), "INR", field="price")
