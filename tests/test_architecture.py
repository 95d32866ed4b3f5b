"""Imports point one way: server -> schema -> resolvers -> {documents, loaders, integrations}."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# What each layer may import from the project (besides itself).
ALLOWED = {
    "schema": {"resolvers", "documents", "settings"},
    "resolvers": {"documents", "loaders", "integrations", "settings"},
    "loaders": {"documents"},
    "documents": set(),
    "integrations": set(),
    "settings": set(),
}
LAYERS = set(ALLOWED) | {"server", "tests", "bench"}


def project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & LAYERS


def test_layers_import_only_downwards() -> None:
    violations = []
    for layer, allowed in ALLOWED.items():
        files = [ROOT / f"{layer}.py"] if (ROOT / f"{layer}.py").exists() else []
        files += sorted((ROOT / layer).rglob("*.py")) if (ROOT / layer).is_dir() else []
        assert files, layer
        for path in files:
            for imported in project_imports(path) - allowed - {layer}:
                violations.append(f"{path.relative_to(ROOT)} imports {imported}")

    assert violations == []


def test_nothing_imports_the_composition_root() -> None:
    importers = [
        path.relative_to(ROOT)
        for layer in ALLOWED
        for path in (ROOT / layer).rglob("*.py")
        if "server" in project_imports(path)
    ]

    assert importers == []


def _project_files() -> list[Path]:
    files = [ROOT / "settings.py"]
    for layer in ("server", "schema", "resolvers", "documents", "loaders", "integrations"):
        files += sorted((ROOT / layer).rglob("*.py"))
    return files


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = []
    for path in _project_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or node.level):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private and not (node.module or "").startswith("__"):
                    offenders.append(f"{path.relative_to(ROOT)}: {', '.join(private)}")

    assert offenders == []


def _reads_cookies(node: ast.AST) -> bool:
    """`request.cookies`, or the Cookie header by name (`headers.get("cookie")`, `b"cookie"`)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "cookies"
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        name = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
        return name.strip().lower() == "cookie"
    return False


def test_graphql_resolvers_read_cookies_only_through_the_context() -> None:
    # Context.cookie marks the result private; the HTTP layer relies on that to let CDNs cache
    # GET answers whatever cookies a browser sends. The Google routes are not /graphql.
    readers = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _project_files()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if _reads_cookies(node)
    ]

    assert {reader.split(":")[0] for reader in readers} == {
        "resolvers/context.py",
        "schema/oauth.py",
    }, readers


@pytest.mark.parametrize(
    "source",
    [
        "request.cookies.get('refresh_token')",
        "request.headers.get('cookie')",
        "request.headers['Cookie']",
        "dict(scope['headers']).get(b'cookie')",
    ],
)
def test_the_cookie_check_sees_each_way_of_reading_them(source: str) -> None:
    assert any(_reads_cookies(node) for node in ast.walk(ast.parse(source)))
    assert not any(_reads_cookies(node) for node in ast.walk(ast.parse("headers.get('cookies2')")))


def test_accounts_do_not_depend_on_the_catalog() -> None:
    accounts = [ROOT / "documents" / "accounts.py"]
    accounts += sorted((ROOT / "resolvers" / "accounts").rglob("*.py"))
    accounts += sorted((ROOT / "schema" / "accounts").rglob("*.py"))
    importers = []
    for path in accounts:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            importers += [f"{path.relative_to(ROOT)}: {n}" for n in names if "catalog" in n]

    assert importers == []
