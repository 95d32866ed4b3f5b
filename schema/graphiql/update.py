"""Vendor GraphiQL's browser files: `make graphiql-assets` (or `python schema/graphiql/update.py`).

Downloads the pinned versions below with `npm pack` (npm checks each tarball's integrity),
copies the listed files and each package's licence into vendor/<directory>/, and rewrites
vendor/manifest.json with every file's source and SHA-256 (tests/api/test_graphiql_vendor.py
checks the files against it). To update: change the versions in PACKAGES, run it, open GraphiQL,
run a query, and commit the result. Only the standard library and npm are needed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

VENDOR = Path(__file__).parent / "vendor"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Package:
    """An npm package to vendor: `files` maps a path in its tarball to the name it is kept under
    in vendor/<directory>/. `licenses` are the tarballs whose LICENSE make up the kept LICENSE
    (by default the package's own)."""

    name: str
    version: str
    directory: str
    files: dict[str, str]
    licenses: tuple[str, ...] = field(default=())

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


# In load order: the page links the scripts and stylesheets in this order.
PACKAGES = (
    Package(
        "react",
        "18.3.1",
        "react",
        {"umd/react.production.min.js": "react.production.min.js"},
    ),
    Package(
        "react-dom",
        "18.3.1",
        "react-dom",
        {"umd/react-dom.production.min.js": "react-dom.production.min.js"},
    ),
    # The last 3.x. Its UMD bundle includes graphql-js, CodeMirror 5 and @graphiql/react (0.29),
    # which the explorer plugin below must match. 4.x still has a UMD bundle (with changed
    # props); 5 ships ES modules only, which would need a bundling step.
    Package(
        "graphiql",
        "3.9.0",
        "graphiql",
        {"graphiql.min.js": "graphiql.min.js", "graphiql.min.css": "graphiql.min.css"},
    ),
    # Ships no LICENSE of its own: it is MIT, from the graphiql repository (whose LICENSE the
    # graphiql package carries), and its bundle includes graphiql-explorer (MIT).
    Package(
        "@graphiql/plugin-explorer",
        "3.2.6",
        "plugin-explorer",
        {"dist/index.umd.js": "plugin-explorer.umd.js", "dist/style.css": "plugin-explorer.css"},
        licenses=("graphiql@3.9.0", "graphiql-explorer@0.9.0"),
    ),
)

# Downloads the tarball of `spec` (name@version) into a folder and returns its path.
Fetch = Callable[[str, Path], Path]


def npm_pack(spec: str, destination: Path) -> Path:
    """The tarball of `spec`, from the npm registry npm is configured with."""
    completed = subprocess.run(  # noqa: S603 (our own arguments)
        ["npm", "pack", "--json", "--pack-destination", str(destination), spec],  # noqa: S607 (npm from PATH)
        check=True,
        capture_output=True,
        text=True,
    )
    return destination / json.loads(completed.stdout)[0]["filename"]


def _read(tarball: Path, path: str) -> bytes:
    """One file of an npm tarball (its files sit under package/), read without extracting."""
    with tarfile.open(tarball) as archive:
        try:
            member = archive.extractfile(f"package/{path}")
        except KeyError:
            member = None
        if member is None:
            raise SystemExit(f"{tarball.name} has no file package/{path}")
        return member.read()


def _license_sources(package: Package) -> tuple[str, ...]:
    return package.licenses or (package.spec,)


def _license(package: Package, tarballs: dict[str, Path]) -> bytes:
    sources = _license_sources(package)
    if len(sources) == 1:
        return _read(tarballs[sources[0]], "LICENSE")
    parts = [f"{spec}:\n\n".encode() + _read(tarballs[spec], "LICENSE") for spec in sources]
    header = f"{package.spec} is MIT licensed; it ships no LICENSE file. These apply:\n\n"
    return header.encode() + b"\n\n".join(parts)


def vendor(packages: tuple[Package, ...], directory: Path, fetch: Fetch = npm_pack) -> None:
    """Replace `directory` with the files of `packages` and their manifest."""
    specs = {spec for package in packages for spec in (package.spec, *package.licenses)}
    contents: dict[str, bytes] = {}
    entries = []
    with tempfile.TemporaryDirectory() as downloads:
        tarballs = {spec: fetch(spec, Path(downloads)) for spec in sorted(specs)}
        for package in packages:
            files = [
                (name, _read(tarballs[package.spec], source), f"{package.spec}/{source}")
                for source, name in package.files.items()
            ]
            origin = " + ".join(f"{spec}/LICENSE" for spec in _license_sources(package))
            files.append(("LICENSE", _license(package, tarballs), origin))
            listed = []
            for name, content, origin in files:
                path = f"{package.directory}/{name}"
                contents[path] = content
                sha256 = hashlib.sha256(content).hexdigest()
                listed.append({"path": path, "from": origin, "sha256": sha256})
            entries.append({"name": package.name, "version": package.version, "files": listed})
    shutil.rmtree(directory, ignore_errors=True)
    for path, content in contents.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(content)
    manifest = {
        "about": "Written by schema/graphiql/update.py (make graphiql-assets); do not edit.",
        "packages": entries,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def main() -> None:
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed: apt-get install npm (or install Node.js, which has it)")
    vendor(PACKAGES, VENDOR)
    for package in PACKAGES:
        print(f"vendored {package.spec} into {VENDOR / package.directory}")


if __name__ == "__main__":
    main()
