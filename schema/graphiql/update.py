"""Vendor GraphiQL's browser files: `make graphiql-assets` (or `python schema/graphiql/update.py`).

Downloads the pinned versions below with `npm pack` and checks each tarball against the
integrity pinned in INTEGRITY (npm only checks it against what the registry says today), copies
the listed files and each package's licence into vendor/<directory>/, lists the packages a
bundle includes with their licences (THIRD_PARTY_NOTICES, from the bundle's source map), and
rewrites vendor/manifest.json with every file's source and SHA-256
(tests/api/test_graphiql_vendor.py checks the files against it).

To update: change the versions in PACKAGES and their pins in INTEGRITY (`npm view <name>@<version>
dist.integrity`), run it, open GraphiQL, run a query, and commit the result. A package a bundle
newly includes stops the run until its licence is added to BUNDLED_LICENSES. Only the standard
library and npm are needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

VENDOR = Path(__file__).parent / "vendor"
MANIFEST = "manifest.json"
NOTICES = "THIRD_PARTY_NOTICES"


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
    # A source map in the tarball whose sources name the packages its bundle includes.
    bundle_map: str | None = None

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
        bundle_map="graphiql.min.js.map",
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

# Each tarball's `dist.integrity`, as reviewed when its version was pinned; a tarball with any
# other content is refused.
INTEGRITY = {
    "react@18.3.1": "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
    "react-dom@18.3.1": "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
    "graphiql@3.9.0": "sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA==",
    "@graphiql/plugin-explorer@3.2.6": "sha512-MXzG/zVNzZfes4Em253bHyAbD/lwwAZkPKvxCAQkjz0i3dtcv4uF3D8iqJ7214iu3SCphbORYZZUC93fik1yew==",
    "graphiql-explorer@0.9.0": "sha512-fZC/wsuatqiQDO2otchxriFO0LaWIo/ovF/CQJ1yOudmY0P7pzDiP+l9CEHUiWbizk3e99x6DQG4XG1VxA+d6A==",
}

# The licence (SPDX) of every package GraphiQL's bundle includes, as each package declares it;
# the graphiql repository's own packages are MIT, as its LICENSE says.
BUNDLED_LICENSES = {
    "@babel/runtime": "MIT",
    "@floating-ui/core": "MIT",
    "@floating-ui/dom": "MIT",
    "@floating-ui/react-dom": "MIT",
    "@graphiql/react": "MIT",
    "@graphiql/toolkit": "MIT",
    "@headlessui/react": "MIT",
    "@n1ru4l/push-pull-async-iterable-iterator": "MIT",
    "@radix-ui/primitive": "MIT",
    "@radix-ui/react-collection": "MIT",
    "@radix-ui/react-compose-refs": "MIT",
    "@radix-ui/react-context": "MIT",
    "@radix-ui/react-dialog": "MIT",
    "@radix-ui/react-direction": "MIT",
    "@radix-ui/react-dismissable-layer": "MIT",
    "@radix-ui/react-dropdown-menu": "MIT",
    "@radix-ui/react-focus-guards": "MIT",
    "@radix-ui/react-focus-scope": "MIT",
    "@radix-ui/react-id": "MIT",
    "@radix-ui/react-menu": "MIT",
    "@radix-ui/react-popper": "MIT",
    "@radix-ui/react-portal": "MIT",
    "@radix-ui/react-presence": "MIT",
    "@radix-ui/react-primitive": "MIT",
    "@radix-ui/react-roving-focus": "MIT",
    "@radix-ui/react-slot": "MIT",
    "@radix-ui/react-tooltip": "MIT",
    "@radix-ui/react-use-callback-ref": "MIT",
    "@radix-ui/react-use-controllable-state": "MIT",
    "@radix-ui/react-use-escape-keydown": "MIT",
    "@radix-ui/react-use-layout-effect": "MIT",
    "@radix-ui/react-use-size": "MIT",
    "@radix-ui/react-visually-hidden": "MIT",
    "aria-hidden": "MIT",
    "clsx": "MIT",
    "codemirror": "MIT",
    "codemirror-graphql": "MIT",
    "copy-to-clipboard": "MIT",
    "entities": "BSD-2-Clause",
    "framer-motion": "MIT",
    "framesync": "MIT",
    "get-nonce": "MIT",
    "get-value": "MIT",
    "graphql": "MIT",
    "graphql-language-service": "MIT",
    "graphql-ws": "MIT",
    "hey-listen": "MIT",
    "is-plain-object": "MIT",
    "is-primitive": "MIT",
    "isobject": "MIT",
    "linkify-it": "MIT",
    "markdown-it": "MIT",
    "mdurl": "MIT",
    "meros": "MIT",
    "nullthrows": "MIT",
    "popmotion": "MIT",
    "punycode.js": "MIT",
    "react": "MIT",
    "react-compiler-runtime": "MIT",
    "react-remove-scroll": "MIT",
    "react-remove-scroll-bar": "MIT",
    "react-style-singleton": "MIT",
    "set-value": "MIT",
    "style-value-types": "MIT",
    "toggle-selection": "MIT",
    "tslib": "0BSD",
    "uc.micro": "MIT",
    "use-callback-ref": "MIT",
    "use-sidecar": "MIT",
    "vscode-languageserver-types": "MIT",
}
# Sources of the graphiql repository's own packages, outside node_modules, by directory.
_MONOREPO_PACKAGES = {
    "graphiql-react": "@graphiql/react",
    "graphiql-toolkit": "@graphiql/toolkit",
    "codemirror-graphql": "codemirror-graphql",
    "graphql-language-service": "graphql-language-service",
}

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


def integrity_of(tarball: Path) -> str:
    """The tarball's Subresource Integrity string, as npm's `dist.integrity` gives it."""
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return f"sha512-{base64.b64encode(digest).decode()}"


def _check_integrity(spec: str, tarball: Path, integrity: dict[str, str]) -> None:
    expected = integrity.get(spec)
    if expected is None:
        raise SystemExit(f"{spec} has no pinned integrity: add it to INTEGRITY")
    actual = integrity_of(tarball)
    if actual != expected:
        raise SystemExit(f"{spec}: the tarball's integrity is {actual}, not the pinned {expected}")


def bundled_packages(source_map: bytes) -> list[str]:
    """The packages a bundle includes, by the sources its source map names: those under
    node_modules, and the graphiql repository's own (the bundled package's `src` excluded)."""
    names = set()
    for source in json.loads(source_map)["sources"]:
        if "node_modules/" in source:
            parts = source.rsplit("node_modules/", 1)[1].split("/")
            names.add("/".join(parts[:2]) if parts[0].startswith("@") else parts[0])
            continue
        directory = next((part for part in source.split("/") if part not in ("", ".", "..")), "")
        if directory in _MONOREPO_PACKAGES:
            names.add(_MONOREPO_PACKAGES[directory])
    return sorted(names)


def _notices(package: Package, tarball: Path, licenses: dict[str, str]) -> bytes:
    assert package.bundle_map is not None
    names = bundled_packages(_read(tarball, package.bundle_map))
    unknown = [name for name in names if name not in licenses]
    if unknown:
        raise SystemExit(
            f"{package.spec}'s bundle includes {', '.join(unknown)}: check each one's licence "
            "and add it to BUNDLED_LICENSES"
        )
    width = max(len(name) for name in names)
    lines = [f"  {name.ljust(width)}  {licenses[name]}" for name in names]
    header = textwrap.fill(
        f"{package.spec}'s {' and '.join(package.files.values())} include these packages "
        f"(from the bundle's source map, {package.bundle_map}), each under the licence named. "
        "MIT is the licence in LICENSE beside this file, each package with its own copyright "
        "holders; each package's full licence text is in its own npm tarball and repository.",
        width=78,
    )
    return (header + "\n\n" + "\n".join(lines) + "\n").encode()


def _license_sources(package: Package) -> tuple[str, ...]:
    return package.licenses or (package.spec,)


def _license(package: Package, tarballs: dict[str, Path]) -> bytes:
    sources = _license_sources(package)
    if len(sources) == 1:
        return _read(tarballs[sources[0]], "LICENSE")
    parts = [f"{spec}:\n\n".encode() + _read(tarballs[spec], "LICENSE") for spec in sources]
    header = f"{package.spec} is MIT licensed; it ships no LICENSE file. These apply:\n\n"
    return header.encode() + b"\n\n".join(parts)


def vendor(
    packages: tuple[Package, ...],
    directory: Path,
    fetch: Fetch = npm_pack,
    *,
    integrity: dict[str, str] = INTEGRITY,
    licenses: dict[str, str] = BUNDLED_LICENSES,
) -> None:
    """Replace `directory` with the files of `packages` and their manifest, once every tarball
    matches its pinned integrity (else SystemExit, and `directory` is left as it was)."""
    specs = {spec for package in packages for spec in (package.spec, *package.licenses)}
    contents: dict[str, bytes] = {}
    entries = []
    with tempfile.TemporaryDirectory() as downloads:
        tarballs = {spec: fetch(spec, Path(downloads)) for spec in sorted(specs)}
        for spec, tarball in tarballs.items():
            _check_integrity(spec, tarball, integrity)
        for package in packages:
            files = [
                (name, _read(tarballs[package.spec], source), f"{package.spec}/{source}")
                for source, name in package.files.items()
            ]
            origin = " + ".join(f"{spec}/LICENSE" for spec in _license_sources(package))
            files.append(("LICENSE", _license(package, tarballs), origin))
            if package.bundle_map is not None:
                notices = _notices(package, tarballs[package.spec], licenses)
                files.append((NOTICES, notices, f"{package.spec}/{package.bundle_map}"))
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
