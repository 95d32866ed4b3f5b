"""Fuzzing the whole schema: whatever a client sends, the answer is never a 5xx, and every error
has a code, never INTERNAL_SERVER_ERROR.

Queries and mutations generated from `schema.graphql` (see `fuzz_requests`) are sent as an
anonymous client, a signed-in user and an admin, each to a small shop seeded afresh for the
example (queries with the search index built from that shop, so search, facets and suggestions
answer from it). Coded refusals of any kind pass: BAD_USER_INPUT, FORBIDDEN, QUERY_TOO_COMPLEX,
RATE_LIMITED...

The run is bounded and deterministic: a fixed number of examples, derandomized, and no example
database on disk. Emails and payments go to the stand-ins the tests always use. A failure names
the identity and the exact request body; that body replays it, no fuzzing needed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from starlette.applications import Starlette
from strawberry import relay

from documents.accounts import AuthSession, Role, User
from documents.cart_rules import cart_token_hash
from documents.carts import Cart, CartLine
from documents.common import utc_now
from documents.orders import OrderStatus
from resolvers.search_index import SearchIndexFollower
from settings import PaymentProviderName, Settings
from tests.api.fuzz_requests import (
    GUEST_CART_TOKEN,
    LINE_ID,
    MUTATION_BODIES,
    ORDER_NUMBERS,
    PLACEHOLDER,
    QUERY_BODIES,
)
from tests.factories import (
    make_address,
    make_category,
    make_order,
    make_paid_order,
    make_product,
    make_review,
    make_stock_movement,
    make_user,
)
from tests.support import clear_stored_state

IDENTITIES = ["anonymous", "user", "admin"]
# For each identity; 300 examples in all.
QUERY_EXAMPLES = 40
MUTATION_EXAMPLES = 60
FUZZ_SETTINGS = hypothesis_settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # The app and its HTTP client serve every example; each example seeds the shop afresh.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(autouse=True)
def only_stand_ins(settings: Settings) -> None:
    """The fuzzer calls every mutation: no email, payment, image or sign-in may leave the machine."""
    assert settings.sendgrid_api_key is None
    assert settings.payments is PaymentProviderName.STANDIN
    assert settings.cloudinary_url is None
    assert settings.google_client_id is None


# -- The shop each example starts from ------------------------------------------------------------


async def seed_shop() -> dict[str, Any]:
    """A small shop with one entity of every kind; the stored id of each, by the keys of
    `fuzz_requests.ENTITIES`."""
    top = await make_category("Fuzz Top", slug="fuzz-top")
    sub = await make_category("Fuzz Sub", parent=top, slug="fuzz-sub")
    empty = await make_category("Fuzz Empty", slug="fuzz-empty")
    product = await make_product(sub, name="Fuzz Product", slug="fuzz-product", stock=10)
    discounted = await make_product(sub, slug="fuzz-discounted", discount_percent=20, stock=5)
    customer = await make_user("customer@example.com", email_verified=True)
    admin = await make_user("admin@example.com", role=Role.ADMIN, email_verified=True)
    other = await make_user("other@example.com")
    entities = {
        "top": top,
        "sub": sub,
        "empty": empty,
        "product": product,
        "discounted": discounted,
        "hidden": await make_product(top, slug="fuzz-hidden", published=False),
        "sold_out": await make_product(top, slug="fuzz-sold-out", stock=0),
        "archived": await make_product(top, slug="fuzz-archived", archived_at=utc_now()),
        "customer": customer,
        "admin": admin,
        "other": other,
        "cart": await Cart(
            id=customer.id,
            user_id=customer.id,
            lines=[CartLine(id=LINE_ID, product_id=product.id, quantity=2)],
            version=1,
        ).insert(),
        "guest_cart": await Cart(
            token_hash=cart_token_hash(GUEST_CART_TOKEN),
            lines=[CartLine(product_id=discounted.id, quantity=1)],
            version=1,
            expires_at=utc_now() + timedelta(days=30),
        ).insert(),
        "order": await make_order(customer, (product, 1), number=ORDER_NUMBERS[0]),
        "delivered": await make_order(
            customer, (discounted, 1), number=ORDER_NUMBERS[1], status=OrderStatus.DELIVERED
        ),
        "paid": await make_paid_order(customer, (product, 2), number=ORDER_NUMBERS[2]),
        "others_order": await make_order(other, (product, 1), number=ORDER_NUMBERS[3]),
        "movement": await make_stock_movement(product),
    }
    entities["review"] = await make_review(discounted, customer)
    for key, user in (("session", customer), ("admin_session", admin), ("other_session", other)):
        entities[key] = await AuthSession(
            user_id=user.id, expires_at=utc_now() + timedelta(days=1)
        ).insert()
    ids = {key: entity.id for key, entity in entities.items()}
    ids["address"] = (await make_address(customer)).id
    return ids


def with_real_ids(body: str, ids: dict[str, Any]) -> str:
    """The body with every placeholder replaced by a global ID (base64: safe inside JSON)."""
    return PLACEHOLDER.sub(lambda match: str(relay.GlobalID(match[1], str(ids[match[2]]))), body)


async def bearer_headers(app: Starlette, identity: str, ids: dict[str, Any]) -> dict[str, str]:
    if identity == "anonymous":
        return {}
    user_key, session_key = {"user": ("customer", "session"), "admin": ("admin", "admin_session")}[
        identity
    ]
    user = await User.get(ids[user_key])
    session = await AuthSession.get(ids[session_key])
    assert user is not None
    assert session is not None
    token, _ = app.state.services.access_tokens.issue(user, session)
    return {"authorization": f"Bearer {token}"}


# -- The property ---------------------------------------------------------------------------------


async def assert_answered_with_codes(
    app: Starlette,
    settings: Settings,
    client: httpx.AsyncClient,
    identity: str,
    request: dict[str, Any],
    search_index: SearchIndexFollower | None = None,
) -> None:
    await clear_stored_state(app, settings)
    ids = await seed_shop()
    if search_index is not None:
        await search_index.rebuild()
    client.cookies.clear()
    body = with_real_ids(json.dumps(request), ids)
    headers = {"content-type": "application/json", **await bearer_headers(app, identity, ids)}

    response = await client.post("/graphql", content=body.encode(), headers=headers)

    failure = (
        f"as {identity}, the body {body}\nwas answered {response.status_code}: {response.text}"
    )
    assert response.status_code < 500, failure
    for error in response.json().get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, failure
        assert code != "INTERNAL_SERVER_ERROR", failure


@pytest.mark.parametrize("identity", IDENTITIES)
@hypothesis_settings(FUZZ_SETTINGS, max_examples=QUERY_EXAMPLES)
@given(request=QUERY_BODIES)
async def test_no_generated_query_is_answered_with_a_server_error(
    app: Starlette,
    settings: Settings,
    client: httpx.AsyncClient,
    search_index: SearchIndexFollower,
    identity: str,
    request: dict[str, Any],
) -> None:
    await assert_answered_with_codes(app, settings, client, identity, request, search_index)


@pytest.mark.parametrize("identity", IDENTITIES)
@hypothesis_settings(FUZZ_SETTINGS, max_examples=MUTATION_EXAMPLES)
@given(request=MUTATION_BODIES)
async def test_no_generated_mutation_is_answered_with_a_server_error(
    app: Starlette,
    settings: Settings,
    client: httpx.AsyncClient,
    identity: str,
    request: dict[str, Any],
) -> None:
    await assert_answered_with_codes(app, settings, client, identity, request)
