"""placeOrder's data and its checks: a catalog and buyers written straight into MongoDB in bulk,
each buyer's request, what its answer says, and whether MongoDB holds exactly what the answers
say afterwards.

The buyers are as the API would have left them: a verified user with no password, one address in
their address book, a cart stored under the user's id, a session, and an access token for it
signed with the API's own settings.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from beanie import PydanticObjectId
from harness import BenchError
from load_client import Answer, Call
from pymongo.asynchronous.collection import AsyncCollection
from run_results import Outcome
from strawberry import relay

from documents.accounts import AuthSession, User
from documents.addresses import Address, AddressBook
from documents.carts import Cart, CartLine
from documents.catalog import Category, Product
from documents.common import Image, utc_now
from documents.orders import Order, PaymentMethod
from resolvers.accounts.access_tokens import AccessTokens
from settings import Settings

PLACE_ORDER = (
    "mutation($input: PlaceOrderInput!) "
    "{ placeOrder(input: $input) { order { number } errors { code } } }"
)
ORDERED = "ORDER"  # the outcome of an answer with an order
INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
INSERT_BATCH = 1000


# --- setup, straight into MongoDB -------------------------------------------------------------


@dataclass
class Catalog:
    """The products every ordinary cart draws from, and what orders have taken from them."""

    category_id: PydanticObjectId
    product_ids: list[PydanticObjectId]
    initial_stock: int  # all products together
    units_ordered: int = 0


@dataclass(frozen=True)
class Buyer:
    user_id: PydanticObjectId
    token: str
    address_id: str  # global ID
    units: int  # in the cart


async def create_catalog(products: int, stock: int, currency: str, rng: random.Random) -> Catalog:
    category = await Category(name="Bench", slug="bench").insert()
    assert category.id is not None
    documents = [
        new_product(f"Bench product {number}", category.id, stock, currency, rng)
        for number in range(products)
    ]
    for first in range(0, len(documents), INSERT_BATCH):
        await Product.insert_many(documents[first : first + INSERT_BATCH])
    return Catalog(category.id, [product_id(p) for p in documents], products * stock)


def new_product(
    name: str, category_id: PydanticObjectId, stock: int, currency: str, rng: random.Random
) -> Product:
    slug = name.lower().replace(" ", "-")
    return Product(
        id=PydanticObjectId(),
        name=name,
        slug=slug,
        brand="Bench",
        price=rng.randrange(10_000, 500_000, 100),
        currency=currency,
        discount_percent=rng.choice([0, 0, 10, 25]),
        stock=stock,
        category_id=category_id,
        images=[Image(url=f"https://img.bench.invalid/{slug}.jpg", alt=name)],
    )


def product_id(product: Product) -> PydanticObjectId:
    assert product.id is not None
    return product.id


async def create_hot_product(catalog: Catalog, stock: int, currency: str, label: str) -> Product:
    hot = new_product(
        f"Hot product {label}", catalog.category_id, stock, currency, random.Random(0)
    )
    return await hot.insert()


async def create_buyers(
    settings: Settings, count: int, label: str, cart: Callable[[], list[CartLine]]
) -> list[Buyer]:
    """`count` verified users, each with one address, a cart from `cart()`, a session and its
    access token, as the API would have left them."""
    now = utc_now()
    tokens = AccessTokens(settings)
    address = Address(
        name="Bench Buyer",
        phone="+919812345678",
        line1="12 MG Road",
        city="Bengaluru",
        state="Karnataka",
        postal_code="560001",
        country="IN",
    )
    address_id = str(relay.GlobalID("Address", str(address.id)))
    users, sessions, books, carts, buyers = [], [], [], [], []
    for number in range(count):
        user = User(
            id=PydanticObjectId(),
            email=f"{label}-{number}@bench.example",
            name=f"Buyer {number}",
            email_verified=True,
        )
        assert user.id is not None
        session = AuthSession(
            id=PydanticObjectId(), user_id=user.id, expires_at=now + timedelta(days=1)
        )
        lines = cart()
        users.append(user)
        sessions.append(session)
        books.append(AddressBook(user_id=user.id, addresses=[address], default_id=address.id))
        # A user's cart lives under the user's id, as `addCartLine` creates it.
        carts.append(Cart(id=user.id, user_id=user.id, lines=lines, version=len(lines)))
        token, _ = tokens.issue(user, session)
        buyers.append(Buyer(user.id, token, address_id, sum(line.quantity for line in lines)))
    for documents in (users, sessions, books, carts):
        for first in range(0, count, INSERT_BATCH):
            await type(documents[0]).insert_many(documents[first : first + INSERT_BATCH])
    return buyers


def catalog_cart(catalog: Catalog, rng: random.Random) -> Callable[[], list[CartLine]]:
    """Carts of 1-3 different catalog products, 1 or 2 of each."""

    def cart() -> list[CartLine]:
        chosen = rng.sample(catalog.product_ids, rng.randint(1, 3))
        return [CartLine(product_id=pid, quantity=rng.randint(1, 2)) for pid in chosen]

    return cart


def place_order_call(
    buyer: Buyer, *, query: str = PLACE_ORDER, payment_method: PaymentMethod = PaymentMethod.COD
) -> Call:
    """The buyer's placeOrder of their whole cart, with a new idempotency key; `query` must
    take `$input: PlaceOrderInput!`."""
    order_input = {"addressId": buyer.address_id, "idempotencyKey": str(uuid.uuid4())}
    if payment_method is not PaymentMethod.COD:  # the default, which placeOrder runs leave out
        order_input["paymentMethod"] = payment_method.value
    variables = {"input": order_input}
    return Call("/graphql", orjson.dumps({"query": query, "variables": variables}), buyer.token)


# --- answers ----------------------------------------------------------------------------------


def order_outcome(answer: Answer) -> Outcome:
    """What one placeOrder answer was: ORDERED and the order number, or the error's code (the
    payload's, the top-level GraphQL one, `HTTP <status>` or the client's exception)."""
    if answer.status == 0:
        return answer.body.decode(), None
    if answer.status != 200:
        return f"HTTP {answer.status}", None
    try:
        body = orjson.loads(answer.body)
        payload = (body.get("data") or {}).get("placeOrder")
        if payload is None:
            errors = body.get("errors") or [{}]
            return str((errors[0].get("extensions") or {}).get("code", "GRAPHQL_ERROR")), None
        if payload["order"] is not None and not payload["errors"]:
            return ORDERED, int(payload["order"]["number"])
        return "+".join(sorted({str(error["code"]) for error in payload["errors"]})), None
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return "UNREADABLE_ANSWER", None


# --- invariants -------------------------------------------------------------------------------


def orders_collection() -> AsyncCollection[dict[str, Any]]:
    return Order.get_pymongo_collection()


async def check_orders(
    run: str, buyers: list[Buyer], outcomes: list[Outcome], answers: list[Answer]
) -> list[Buyer]:
    """The run's orders in MongoDB are exactly the answered ones; no 5xx. The buyers who got
    an order."""
    if server_errors := Counter(a.status for a in answers if a.status >= 500):
        raise BenchError(f"{run}: the API answered with server errors: {dict(server_errors)}")
    ordered = [
        (buyer, number)
        for buyer, (outcome, number) in zip(buyers, outcomes, strict=True)
        if outcome == ORDERED and number is not None
    ]
    stored = (
        await orders_collection()
        .find(
            {"user_id": {"$in": [buyer.user_id for buyer in buyers]}},
            {"number": 1, "user_id": 1, "item_count": 1},
        )
        .to_list()
    )
    answered_numbers = sorted(number for _, number in ordered)
    stored_numbers = sorted(order["number"] for order in stored)
    if answered_numbers != stored_numbers:
        answers_said = Counter(outcome for outcome, _ in outcomes)
        unanswered = sum(answer.status == 0 for answer in answers)
        hint = (
            f"; {unanswered} requests got no answer (a client timeout is --timeout), and their "
            "orders may have been placed after the client gave up"
            if unanswered
            else ""
        )
        raise BenchError(
            f"{run}: {len(ordered)} answers carry an order ({len(set(answered_numbers))} distinct "
            f"numbers) but MongoDB holds {len(stored)} orders of these buyers; the answers were "
            f"{dict(answers_said)}{hint}"
        )
    if {order["user_id"] for order in stored} != {buyer.user_id for buyer, _ in ordered}:
        raise BenchError(f"{run}: the stored orders belong to other buyers than the answers say")
    stored_units = sum(order["item_count"] for order in stored)
    if stored_units != (units := sum(buyer.units for buyer, _ in ordered)):
        raise BenchError(f"{run}: the orders hold {stored_units} units, the carts held {units}")
    return [buyer for buyer, _ in ordered]


async def check_catalog_stock(run: str, catalog: Catalog, ordered: list[Buyer]) -> None:
    """What left the catalog's stock is exactly what its orders hold; nothing is below zero."""
    catalog.units_ordered += sum(buyer.units for buyer in ordered)
    [row] = await (
        await Product.get_pymongo_collection().aggregate(
            [
                {"$match": {"_id": {"$in": catalog.product_ids}}},
                {
                    "$group": {
                        "_id": None,
                        "total": {"$sum": "$stock"},
                        "lowest": {"$min": "$stock"},
                    }
                },
            ]
        )
    ).to_list()
    if row["lowest"] < 0:
        raise BenchError(f"{run}: a product's stock is {row['lowest']}")
    taken = catalog.initial_stock - row["total"]
    if taken != catalog.units_ordered:
        raise BenchError(
            f"{run}: {taken} units left the catalog's stock, its orders hold {catalog.units_ordered}"
        )


async def check_hot_product(run: str, hot: Product, stock: int, outcomes: list[Outcome]) -> None:
    """Exactly `stock` orders of the hot product, none below zero, every other answer
    INSUFFICIENT_STOCK."""
    current = await Product.get_pymongo_collection().find_one({"_id": hot.id}, {"stock": 1})
    assert current is not None
    stored = await orders_collection().count_documents({"lines.product_id": hot.id})
    counts = Counter(outcome for outcome, _ in outcomes)
    refused = {code: n for code, n in counts.items() if code != ORDERED}
    expected_refused = {INSUFFICIENT_STOCK: len(outcomes) - stock}
    if current["stock"] != 0 or stored != stock or counts[ORDERED] != stock:
        raise BenchError(
            f"{run}: {stock} units sold as {counts[ORDERED]} answered and {stored} stored "
            f"orders, leaving {current['stock']} in stock (oversold or undersold)"
        )
    if refused != expected_refused:
        raise BenchError(f"{run}: the refusals were {refused}, expected {expected_refused}")
