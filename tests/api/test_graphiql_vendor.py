"""The vendored GraphiQL files are exactly what the manifest lists (a hand edit is caught), at
the versions update.py pins, each package with its licence; update.py writes them from npm
tarballs."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from schema.graphiql import update
from schema.graphiql.update import (
    BUNDLED_LICENSES,
    INTEGRITY,
    PACKAGES,
    Package,
    bundled_packages,
    integrity_of,
    vendor,
)

VENDOR = Path(update.__file__).parent / "vendor"


def manifest(folder: Path = VENDOR) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_every_vendored_file_has_the_hash_the_manifest_lists() -> None:
    listed = {
        entry["path"]: entry["sha256"]
        for package in manifest()["packages"]
        for entry in package["files"]
    }
    on_disk = {str(path.relative_to(VENDOR)) for path in VENDOR.rglob("*") if path.is_file()} - {
        "manifest.json"
    }

    assert on_disk == set(listed)
    for path, sha256 in listed.items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == sha256, path


def test_the_manifest_has_the_pinned_versions_and_each_package_its_licence() -> None:
    packages = manifest()["packages"]

    assert [(p["name"], p["version"]) for p in packages] == [
        (package.name, package.version) for package in PACKAGES
    ]
    for package in PACKAGES:
        licence = (VENDOR / package.directory / "LICENSE").read_text()
        assert "MIT License" in licence, package.name
        assert "Permission is hereby granted, free of charge" in licence, package.name


def tarball(folder: Path, spec: str, files: dict[str, bytes]) -> Path:
    """An npm-style tarball: the package's files under package/ (the same bytes each time)."""
    path = folder / f"{spec.replace('/', '-').replace('@', '-')}.tgz"
    with tarfile.open(path, "w") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(f"package/{name}")
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return path


SOURCE_MAP = json.dumps(
    {
        "sources": [
            "../src/index.ts",
            "../../graphiql-toolkit/dist/esm/index.js",
            "../../../node_modules/dep/index.js",
            "../../../node_modules/@scope/dep/lib/a.js",
            "../../../node_modules/@scope/dep/lib/b.js",
            "../../../node_modules/outer/node_modules/inner/index.js",
        ]
    }
).encode()
TARBALLS = {
    "lib@1.0.0": {
        "umd/lib.min.js": b"var Lib = 1;",
        "umd/lib.min.js.map": SOURCE_MAP,
        "LICENSE": b"MIT License\nlib\n",
    },
    "@scope/plugin@2.0.0": {"dist/index.umd.js": b"var Plugin = 2;", "dist/style.css": b"p{}"},
    "bundled@0.1.0": {"LICENSE": b"MIT License\nbundled\n"},
}
LICENSES = {"dep": "MIT", "@scope/dep": "ISC", "inner": "BSD-2-Clause", "@graphiql/toolkit": "MIT"}


def pins(folder: Path) -> dict[str, str]:
    """The integrity of each test tarball, as INTEGRITY pins the real ones."""
    return {spec: integrity_of(tarball(folder, spec, files)) for spec, files in TARBALLS.items()}


def fetch_from(fetched: list[str]) -> update.Fetch:
    def fetch(spec: str, destination: Path) -> Path:
        fetched.append(spec)
        return tarball(destination, spec, TARBALLS[spec])

    return fetch


PINNED = (
    Package(
        "lib", "1.0.0", "lib", {"umd/lib.min.js": "lib.min.js"}, bundle_map="umd/lib.min.js.map"
    ),
    Package(
        "@scope/plugin",
        "2.0.0",
        "plugin",
        {"dist/index.umd.js": "plugin.umd.js", "dist/style.css": "plugin.css"},
        licenses=("lib@1.0.0", "bundled@0.1.0"),
    ),
)


def test_update_copies_the_listed_files_and_licences_and_writes_the_manifest(
    tmp_path: Path,
) -> None:
    fetched: list[str] = []
    target = tmp_path / "vendor"
    (target / "stale").mkdir(parents=True)
    (target / "stale" / "old.js").write_text("gone")

    vendor(PINNED, target, fetch_from(fetched), integrity=pins(tmp_path), licenses=LICENSES)

    assert sorted(fetched) == sorted(TARBALLS)
    assert (target / "lib" / "lib.min.js").read_bytes() == b"var Lib = 1;"
    assert (target / "lib" / "LICENSE").read_bytes() == b"MIT License\nlib\n"
    notices = (target / "lib" / "THIRD_PARTY_NOTICES").read_text()
    assert notices.endswith(
        "  @graphiql/toolkit  MIT\n  @scope/dep         ISC\n"
        "  dep                MIT\n  inner              BSD-2-Clause\n"
    )
    assert "lib@1.0.0's lib.min.js include these packages" in notices
    assert (target / "plugin" / "plugin.umd.js").read_bytes() == b"var Plugin = 2;"
    licence = (target / "plugin" / "LICENSE").read_text()
    assert "lib@1.0.0:\n\nMIT License\nlib" in licence
    assert "bundled@0.1.0:\n\nMIT License\nbundled" in licence
    assert not (target / "stale").exists()
    written = manifest(target)["packages"]
    assert [(p["name"], p["version"]) for p in written] == [
        ("lib", "1.0.0"),
        ("@scope/plugin", "2.0.0"),
    ]
    assert written[1]["files"] == [
        {
            "path": "plugin/plugin.umd.js",
            "from": "@scope/plugin@2.0.0/dist/index.umd.js",
            "sha256": hashlib.sha256(b"var Plugin = 2;").hexdigest(),
        },
        {
            "path": "plugin/plugin.css",
            "from": "@scope/plugin@2.0.0/dist/style.css",
            "sha256": hashlib.sha256(b"p{}").hexdigest(),
        },
        {
            "path": "plugin/LICENSE",
            "from": "lib@1.0.0/LICENSE + bundled@0.1.0/LICENSE",
            "sha256": hashlib.sha256(licence.encode()).hexdigest(),
        },
    ]


def test_update_names_a_file_the_tarball_lacks_and_leaves_the_vendored_files(
    tmp_path: Path,
) -> None:
    target = tmp_path / "vendor"
    (target / "lib").mkdir(parents=True)
    (target / "lib" / "lib.min.js").write_text("kept")
    missing = (Package("lib", "1.0.0", "lib", {"umd/other.js": "other.js"}),)

    with pytest.raises(SystemExit, match=r"has no file package/umd/other\.js"):
        vendor(missing, target, fetch_from([]), integrity=pins(tmp_path))

    assert (target / "lib" / "lib.min.js").read_text() == "kept"


def test_update_refuses_a_tarball_other_than_the_pinned_one_and_leaves_the_vendored_files(
    tmp_path: Path,
) -> None:
    target = tmp_path / "vendor"
    (target / "lib").mkdir(parents=True)
    (target / "lib" / "lib.min.js").write_text("kept")
    pinned = pins(tmp_path)
    changed = {**pinned, "bundled@0.1.0": integrity_of(tarball(tmp_path, "x", {"a": b"other"}))}
    unpinned = {spec: value for spec, value in pinned.items() if spec != "lib@1.0.0"}

    with pytest.raises(SystemExit, match=r"bundled@0\.1\.0: the tarball's integrity is sha512-"):
        vendor(PINNED, target, fetch_from([]), integrity=changed, licenses=LICENSES)
    with pytest.raises(SystemExit, match=r"lib@1\.0\.0 has no pinned integrity"):
        vendor(PINNED, target, fetch_from([]), integrity=unpinned, licenses=LICENSES)

    assert (target / "lib" / "lib.min.js").read_text() == "kept"


def test_update_stops_at_a_bundled_package_of_unknown_licence(tmp_path: Path) -> None:
    known = {name: licence for name, licence in LICENSES.items() if name != "inner"}

    with pytest.raises(SystemExit, match=r"lib@1\.0\.0's bundle includes inner: check"):
        vendor(
            PINNED, tmp_path / "vendor", fetch_from([]), integrity=pins(tmp_path), licenses=known
        )


def test_every_fetched_tarball_is_pinned_and_the_graphiql_bundle_has_its_notices() -> None:
    specs = {spec for package in PACKAGES for spec in (package.spec, *package.licenses)}
    notices = (VENDOR / "graphiql" / "THIRD_PARTY_NOTICES").read_text()

    assert set(INTEGRITY) == specs
    assert all(value.startswith("sha512-") for value in INTEGRITY.values())
    for name in ("graphql", "codemirror", "markdown-it", "@graphiql/react", "entities", "tslib"):
        line = rf"^  {re.escape(name)} +{re.escape(BUNDLED_LICENSES[name])}$"
        assert re.search(line, notices, flags=re.MULTILINE), name


def test_bundled_packages_are_named_by_the_source_maps_sources() -> None:
    assert bundled_packages(SOURCE_MAP) == ["@graphiql/toolkit", "@scope/dep", "dep", "inner"]
