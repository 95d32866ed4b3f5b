"""Placeholder images for the demo catalog: small SVGs the API serves itself, so demo data works
offline and on any port.

A `DemoImage` is fully described by its URL (size, colour, text), so the route that serves it
needs no database and its answer never changes. This module owns that URL format both ways:
`DemoImage.url` writes it, `DemoImage.from_query` reads it back, `DemoImage.svg` draws it.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from documents.text import is_visible_text

DEMO_IMAGE_PATH = "/demo-images/placeholder.svg"
"""Where the API serves demo images; their URLs are the public URL plus this path and a query."""

MAX_TEXT_CHARS = 200  # the longest product name
MAX_CAPTION_CHARS = 80
MIN_SIDE, MAX_SIDE = 16, 2000
_MAX_LINES = 5
_COLOR = re.compile(r"[0-9a-f]{6}")


@dataclass(frozen=True)
class DemoImage:
    """A flat colour with centred text (a name) and an optional smaller caption below it."""

    text: str
    caption: str
    color: str  # six lower-case hex digits, no "#"
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (MIN_SIDE <= self.width <= MAX_SIDE and MIN_SIDE <= self.height <= MAX_SIDE):
            raise ValueError(f"width and height must be {MIN_SIDE} to {MAX_SIDE} pixels")
        if _COLOR.fullmatch(self.color) is None:
            raise ValueError("color must be six lower-case hex digits")
        if not self.text.strip() or len(self.text) > MAX_TEXT_CHARS:
            raise ValueError(f"text must be 1 to {MAX_TEXT_CHARS} characters")
        if len(self.caption) > MAX_CAPTION_CHARS:
            raise ValueError(f"caption must be at most {MAX_CAPTION_CHARS} characters")
        # XML cannot carry most control characters, even escaped.
        if not (is_visible_text(self.text) and is_visible_text(self.caption)):
            raise ValueError("text and caption must not contain control or invisible characters")

    @classmethod
    def for_key(cls, key: str, *, text: str, caption: str, width: int, height: int) -> DemoImage:
        """An image whose colour is derived from `key` (a slug): same key, same colour."""
        digest = hashlib.sha256(key.encode()).digest()
        hue = int.from_bytes(digest[:2], "big") / 65536
        # Mid-dark, moderately saturated colours, so white text stays readable on all of them.
        red, green, blue = colorsys.hls_to_rgb(hue, 0.32 + digest[2] / 255 * 0.1, 0.45)
        color = "".join(f"{round(channel * 255):02x}" for channel in (red, green, blue))
        return cls(text=text, caption=caption, color=color, width=width, height=height)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> DemoImage:
        """Read back the query `url` wrote; raise ValueError for anything else."""
        try:
            return cls(
                text=query["text"],
                caption=query.get("caption", ""),
                color=query["color"],
                width=int(query["w"]),
                height=int(query["h"]),
            )
        except KeyError as missing:
            raise ValueError(f"{missing.args[0]} is missing") from None

    def url(self, public_url: str) -> str:
        """Absolute URL of this image on the API at `public_url`."""
        query = {"w": self.width, "h": self.height, "color": self.color, "text": self.text}
        if self.caption:
            query["caption"] = self.caption
        return f"{public_url.rstrip('/')}{DEMO_IMAGE_PATH}?{urlencode(query)}"

    def svg(self) -> str:
        """The image as a standalone SVG document, every text XML-escaped."""
        width, height = self.width, self.height
        size = max(min(width, height) / 14, 8)
        per_line = max(int(width * 0.85 / (size * 0.55)), 4)
        lines = textwrap.wrap(self.text, per_line) or [self.text]
        if len(lines) > _MAX_LINES:
            last = lines[_MAX_LINES - 1][: per_line - 1].rstrip()
            lines = [*lines[: _MAX_LINES - 1], f"{last}…"]
        caption_size = size * 0.6
        block = len(lines) * size * 1.2 + (caption_size * 1.8 if self.caption else 0)
        top = (height - block) / 2 + size
        spans = "".join(
            f'<tspan x="{width / 2:g}" y="{top + index * size * 1.2:.1f}">{escape(line)}</tspan>'
            for index, line in enumerate(lines)
        )
        caption = ""
        if self.caption:
            caption_y = top + (len(lines) - 1) * size * 1.2 + caption_size * 1.8
            caption = (
                f'<text x="{width / 2:g}" y="{caption_y:.1f}" font-size="{caption_size:.1f}" '
                f'fill="#ffffff" fill-opacity="0.8">{escape(self.caption)}</text>'
            )
        label = f"{self.text}, {self.caption}" if self.caption else self.text
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(label)}>'
            f'<rect width="{width}" height="{height}" fill="#{self.color}"/>'
            '<g font-family="Helvetica, Arial, sans-serif" text-anchor="middle">'
            f'<text font-size="{size:.1f}" font-weight="bold" fill="#ffffff">{spans}</text>'
            f"{caption}</g></svg>"
        )
