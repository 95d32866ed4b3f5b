"""GraphiQL offline: a page that links only files this app serves (immutable, with their types),
a policy that allows nothing from another origin, and no GraphiQL files when GraphiQL is off."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from schema.graphiql.page import graphiql_files
from settings import Settings
from tests.support import app_sharing_services, error_codes

HTML = {"accept": "text/html"}
# What Chromium sends when it opens a URL.
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
GRAPHIQL = Path(__file__).parents[2] / "schema" / "graphiql"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"


class PageParts(HTMLParser):
    """Every element of a page with its attributes, and the text inside <script> and <style>."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.elements and self.elements[-1][0] in ("script", "style") and data.strip():
            self.inline.append(data)

    def urls(self) -> list[str]:
        return [
            value
            for _, attributes in self.elements
            for name, value in attributes.items()
            if name in ("src", "href") and value is not None
        ]

    def tagged(self, tag: str, attribute: str) -> list[str]:
        return [
            str(attributes[attribute])
            for name, attributes in self.elements
            if name == tag and attribute in attributes
        ]


async def page_parts(client: httpx.AsyncClient) -> PageParts:
    response = await client.get("/graphql", headers=BROWSER)
    assert response.status_code == 200, response.text
    return PageParts(response.text)


async def test_the_page_loads_only_files_of_this_origin_and_nothing_inline(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/graphql", headers=BROWSER)
    page = PageParts(response.text)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    build = f"/graphiql/{graphiql_files().build}/"
    assert page.tagged("script", "src") == [
        f"{build}react/react.production.min.js",
        f"{build}react-dom/react-dom.production.min.js",
        f"{build}graphiql/graphiql.min.js",
        f"{build}plugin-explorer/plugin-explorer.umd.js",
        f"{build}start.js",
    ]
    assert page.tagged("link", "href") == [
        "data:,",  # the icon: no request for /favicon.ico
        f"{build}graphiql/graphiql.min.css",
        f"{build}plugin-explorer/plugin-explorer.css",
        f"{build}page.css",
    ]
    assert set(page.urls()) == set(page.tagged("script", "src") + page.tagged("link", "href"))
    assert page.inline == []
    assert not any("style" in attributes for _, attributes in page.elements)
    assert re.fullmatch(r"3\.9\.0-[0-9a-f]{12}", graphiql_files().build)


async def test_every_file_the_page_links_is_served_immutable_with_its_type(
    client: httpx.AsyncClient,
) -> None:
    page = await page_parts(client)
    build = f"/graphiql/{graphiql_files().build}/"
    linked = [url for url in page.urls() if url != "data:,"]

    answers = {url: await client.get(url, headers={"accept-encoding": "gzip"}) for url in linked}

    for url, answer in answers.items():
        path = url.removeprefix(build)
        folder = GRAPHIQL / ("static" if "/" not in path else "vendor")
        assert answer.status_code == 200, url
        assert answer.content == (folder / path).read_bytes(), url
        assert answer.headers["content-type"] == CONTENT_TYPES[Path(path).suffix], url
        assert answer.headers["cache-control"] == IMMUTABLE, url
        assert answer.headers["x-content-type-options"] == "nosniff", url
    assert answers[f"{build}graphiql/graphiql.min.js"].headers["content-encoding"] == "gzip"


async def test_the_policy_allows_this_origin_only_and_styles_with_the_pages_nonce(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/graphql", headers=HTML)
    second = await client.get("/graphql", headers=HTML)

    nonces = [PageParts(answer.text).tagged("script", "nonce") for answer in (first, second)]
    assert [len(nonce) for nonce in nonces] == [1, 1]
    assert nonces[0] != nonces[1]
    for answer, (nonce,) in zip((first, second), nonces, strict=True):
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", nonce)
        assert answer.headers["content-security-policy"] == (
            "default-src 'none'; script-src 'self'; "
            f"style-src 'self' 'nonce-{nonce}'; font-src data:; img-src data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        assert "http" not in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
    # The nonce is handed to GraphiQL's scroll lock by the start-up script, the last one.
    assert PageParts(first.text).tagged("script", "src")[-1].endswith("/start.js")
    assert "document.currentScript.nonce" in (GRAPHIQL / "static" / "start.js").read_text()


@pytest.mark.parametrize(
    "path",
    [
        "nowhere.js",
        "graphiql/LICENSE",  # on disk, not served
        "../page.py",
        "%2e%2e/%2e%2e/page.py",
        "..%2f..%2fsettings.py",
        "graphiql/..%2f..%2fpage.py",
        "..%5cpage.py",
        "%2fetc%2fpasswd",
        "static/start.js",
        "vendor/manifest.json",
    ],
)
async def test_any_other_path_under_the_build_is_not_found(
    client: httpx.AsyncClient, path: str
) -> None:
    # A client resolves a plain ../ itself; Starlette may then redirect to a trailing slash.
    url = f"/graphiql/{graphiql_files().build}/{path}"
    response = await client.get(url, follow_redirects=True)

    assert response.status_code == 404
    assert all(answer.status_code == 307 for answer in response.history)
    assert response.json()["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    assert response.headers["cache-control"] == "no-store"


async def test_a_file_of_another_build_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphiql/3.9.0-000000000000/start.js")

    assert response.status_code == 404
    [error] = response.json()["errors"]
    assert error == {
        "message": "No GraphiQL file at this path: reload GraphiQL for its files",
        "extensions": {"code": "NOT_FOUND"},
    }
    assert response.headers["cache-control"] == "no-store"


async def test_with_graphiql_off_there_is_no_page_and_no_file(
    app: Starlette, settings: Settings
) -> None:
    configured = app_sharing_services(settings.model_copy(update={"graphiql": False}), app)
    transport = httpx.ASGITransport(app=configured)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = await http.get("/graphql", headers=BROWSER)
        script = await http.get(f"/graphiql/{graphiql_files().build}/start.js")

    assert "text/html" not in page.headers["content-type"]
    assert script.status_code == 404
    assert not any(
        getattr(route, "path", "").startswith("/graphiql") for route in configured.routes
    )


async def test_a_get_carrying_a_persisted_query_is_an_operation_not_the_page(
    client: httpx.AsyncClient,
) -> None:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    response = await client.get(
        "/graphql", params={"extensions": orjson.dumps(extensions).decode()}, headers=BROWSER
    )

    assert response.headers["content-type"] == "application/json"
    assert error_codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_get_without_a_query_gets_the_page_when_it_accepts_html_or_anything(
    client: httpx.AsyncClient,
) -> None:
    # Plain curl sends `Accept: */*`: it gets the page too, as the README says.
    for accept in ("text/html", "*/*"):
        page = await client.get("/graphql", headers={"accept": accept})

        assert page.headers["content-type"] == "text/html; charset=utf-8", accept
    json_only = await client.get("/graphql", headers={"accept": "application/json"})
    with_id = await client.get("/graphql", params={"documentId": "0" * 64}, headers=BROWSER)

    assert json_only.status_code == 400
    assert json_only.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert with_id.headers["content-type"] == "application/json"
