// A storefront as a frontend team writes one: Apollo Client with the persisted-queries link
// (hashed queries over GET), the refresh token in a cookie, cash on delivery.
//
//   node storefront.mjs <API URL> <email> <password>
//
// The account must exist with a verified email (placeOrder needs one). Asserts at every step,
// exits non-zero on the first failure, and prints a JSON summary on stdout, with every HTTP
// request its fetch made, for tests/clients/test_storefront.py to check against MongoDB.
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import makeFetchCookie from "fetch-cookie";
import { CookieJar } from "tough-cookie";

const [apiUrl, email, password] = process.argv.slice(2);
if (!apiUrl || !email || !password) {
  console.error("usage: node storefront.mjs <API URL> <email> <password>");
  process.exit(2);
}
// A hung request must fail the run, not the suite's patience.
setTimeout(() => {
  console.error("storefront flow did not finish within 60 s");
  process.exit(3);
}, 60_000).unref();

const PRODUCTS = gql`
  query StorefrontProducts($first: Int!) {
    products(first: $first, filter: { inStock: true }) {
      totalCount
      edges { node { id name slug inStock finalPrice { amount currency } } }
    }
  }
`;
const PRODUCT = gql`
  query StorefrontProduct($slug: String!) {
    product(slug: $slug) { id name slug stock finalPrice { amount currency } }
  }
`;
const SEARCH = gql`
  query StorefrontSearch($search: String!) {
    products(search: $search, first: 10) { edges { node { id name } } }
  }
`;
const LOGIN = gql`
  mutation StorefrontLogin($input: LoginInput!) {
    login(input: $input) {
      accessToken user { email emailVerified } errors { field code message }
    }
  }
`;
const REFRESH = gql`
  mutation StorefrontRefresh {
    refreshToken { accessToken errors { code message } }
  }
`;
const ME = gql`
  query StorefrontMe { me { email emailVerified addresses { id } } }
`;
const ADD_TO_CART = gql`
  mutation StorefrontAddToCart($input: AddCartLineInput!) {
    addCartLine(input: $input) {
      cart { itemCount } errors { field code message }
    }
  }
`;
const ADD_ADDRESS = gql`
  mutation StorefrontAddAddress($input: AddAddressInput!) {
    addAddress(input: $input) { address { id } errors { field code message } }
  }
`;
const CART = gql`
  query StorefrontCart {
    cart { version itemCount total { amount currency } lines { quantity product { id } } }
  }
`;
const PLACE_ORDER = gql`
  mutation StorefrontPlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      order { id number status paymentMethod total { amount currency } lines { name quantity } }
      errors { field code message }
    }
  }
`;
const MY_ORDERS = gql`
  query StorefrontMyOrders { myOrders(first: 5) { edges { node { number status } } } }
`;

// Every request the client makes, as the API saw it: method, operation, whether it carried the
// document or only its hash, and whether the answer was PERSISTED_QUERY_NOT_FOUND.
const requests = [];
const jar = new CookieJar();
const cookieFetch = makeFetchCookie(fetch, jar);

async function recordingFetch(url, init = {}) {
  const method = (init.method ?? "GET").toUpperCase();
  const sent =
    method === "GET"
      ? Object.fromEntries(
          [...new URL(url).searchParams].map(([key, value]) => [
            key,
            key === "extensions" || key === "variables" ? JSON.parse(value) : value,
          ]),
        )
      : JSON.parse(init.body);
  const entry = {
    method,
    operationName: sent.operationName,
    document: typeof sent.query === "string",
    hash: sent.extensions?.persistedQuery?.sha256Hash ?? null,
  };
  requests.push(entry);
  try {
    const response = await cookieFetch(url, init);
    entry.status = response.status;
    const answer = JSON.parse(await response.clone().text());
    entry.notFound = (answer.errors ?? []).some(
      (error) => error.extensions?.code === "PERSISTED_QUERY_NOT_FOUND",
    );
    return response;
  } catch (error) {
    entry.error = String(error);
    throw error;
  }
}

let accessToken = null;
const client = new ApolloClient({
  cache: new InMemoryCache(),
  defaultOptions: { query: { fetchPolicy: "network-only" } },
  link: new SetContextLink((previous) => ({
    headers: {
      ...previous.headers,
      ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    },
  }))
    .concat(
      new PersistedQueryLink({
        sha256: (document) => createHash("sha256").update(document).digest("hex"),
        useGETForHashedQueries: true,
      }),
    )
    .concat(new HttpLink({ uri: apiUrl, fetch: recordingFetch })),
});

async function query(document, variables) {
  const { data } = await client.query({ query: document, variables });
  return data;
}

async function mutate(document, variables) {
  const { data } = await client.mutate({ mutation: document, variables });
  return data;
}

async function refreshCookie() {
  const cookies = await jar.getCookies(apiUrl);
  return cookies.find((cookie) => cookie.key === "refresh_token");
}

// Browse: the catalog, then one product's page.
const listed = (await query(PRODUCTS, { first: 10 })).products;
assert.ok(listed.totalCount > 0, "the catalog lists products");
const chosen = listed.edges[0].node;
assert.equal(chosen.inStock, true);
const product = (await query(PRODUCT, { slug: chosen.slug })).product;
assert.equal(product.id, chosen.id);
assert.ok(product.stock >= 2, `product ${product.slug} has 2 in stock`);

// Search by a word of its name.
const word = product.name.split(/\s+/)[0];
const found = (await query(SEARCH, { search: word })).products.edges.map((edge) => edge.node.id);
assert.ok(found.includes(product.id), `searching "${word}" finds ${product.name}`);

// Sign in: the access token in memory, the refresh token in an httpOnly cookie.
const login = (await mutate(LOGIN, { input: { email, password } })).login;
assert.deepEqual(login.errors, []);
assert.equal(login.user.emailVerified, true);
accessToken = login.accessToken;
const signedInCookie = await refreshCookie();
assert.ok(signedInCookie, "login sets the refresh cookie");
assert.equal(signedInCookie.httpOnly, true);
assert.equal((await query(ME)).me.email, login.user.email);

// Refresh with the cookie alone: a new access token, and the cookie rotated.
accessToken = null;
const refreshed = (await mutate(REFRESH)).refreshToken;
assert.deepEqual(refreshed.errors, []);
assert.ok(refreshed.accessToken);
accessToken = refreshed.accessToken;
const refreshedCookie = await refreshCookie();
assert.notEqual(refreshedCookie.value, signedInCookie.value, "the refresh token rotates");
assert.equal((await query(ME)).me.email, login.user.email);

// Cart, address, order.
const quantity = 2;
const added = (await mutate(ADD_TO_CART, { input: { productId: product.id, quantity } }))
  .addCartLine;
assert.deepEqual(added.errors, []);
assert.equal(added.cart.itemCount, quantity);
// Ship to the buyer's default address (listed first), or add one if there is none.
let addressId = (await query(ME)).me.addresses[0]?.id;
const addedAddress = !addressId;
if (addedAddress) {
  const added = (
    await mutate(ADD_ADDRESS, {
      input: {
        name: "Asha Rao",
        phone: "9812345678",
        line1: "12 MG Road",
        city: "Bengaluru",
        state: "Karnataka",
        postalCode: "560001",
      },
    })
  ).addAddress;
  assert.deepEqual(added.errors, []);
  addressId = added.address.id;
}
const cart = (await query(CART)).cart;
assert.deepEqual(
  cart.lines.map((line) => [line.product.id, line.quantity]),
  [[product.id, quantity]],
);
const placed = (
  await mutate(PLACE_ORDER, {
    input: {
      addressId,
      paymentMethod: "COD",
      idempotencyKey: randomUUID(),
      expectedTotal: cart.total.amount,
      expectedCartVersion: cart.version,
    },
  })
).placeOrder;
assert.deepEqual(placed.errors, []);
const order = placed.order;
assert.equal(order.paymentMethod, "COD");
assert.deepEqual(order.total, cart.total);
assert.deepEqual(
  order.lines.map((line) => [line.name, line.quantity]),
  [[product.name, quantity]],
);
const mine = (await query(MY_ORDERS)).myOrders.edges.map((edge) => edge.node.number);
assert.ok(mine.includes(order.number), "myOrders lists the new order");
assert.equal((await query(CART)).cart.itemCount, 0, "checkout empties the cart");

console.log(
  JSON.stringify({
    product: { id: product.id, slug: product.slug, stockSeen: product.stock },
    quantity,
    addressId,
    addedAddress,
    order: {
      id: order.id,
      number: order.number,
      status: order.status,
      total: { amount: order.total.amount, currency: order.total.currency },
    },
    requests,
  }),
);
