"""Demo placeholder images: described by their URL, drawn as valid SVG with escaped text."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from documents.demo_images import DEMO_IMAGE_PATH, DemoImage
from tests.support import SVG_NAMESPACE, parse_svg

SVG = SVG_NAMESPACE


def test_the_colour_comes_from_the_key_alone() -> None:
    first = DemoImage.for_key("boat-rockerz-450", text="Rockerz", caption="", width=80, height=80)
    again = DemoImage.for_key("boat-rockerz-450", text="Other", caption="x", width=90, height=60)
    other = DemoImage.for_key("boat-rockerz-550", text="Rockerz", caption="", width=80, height=80)

    assert first.color == again.color
    assert first.color != other.color


def test_the_url_describes_the_image_completely() -> None:
    image = DemoImage.for_key(
        "home-kitchen", text="Home & Kitchen #1?", caption="side view", width=600, height=400
    )

    url = image.url("http://shop.test:8123/")
    parts = urlsplit(url)

    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == f"http://shop.test:8123{DEMO_IMAGE_PATH}"
    )
    assert DemoImage.from_query(dict(parse_qsl(parts.query))) == image


def test_the_svg_is_valid_and_carries_the_escaped_text() -> None:
    name = 'Tom & Jerry\'s <b>"Best"</b> Mug'
    image = DemoImage.for_key("mug", text=name, caption="in use", width=800, height=800)

    svg = image.svg()
    root = parse_svg(svg)

    assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
        "800",
        "800",
        "0 0 800 800",
    )
    assert root.get("aria-label") == f"{name}, in use"
    assert [rect.get("fill") for rect in root.iter(f"{SVG}rect")] == [f"#{image.color}"]
    # The name wraps onto lines (`tspan`s); the caption is a text of its own.
    texts = [" ".join(node.itertext()) for node in root.iter(f"{SVG}text")]
    assert texts == [name, "in use"]
    assert "Tom &amp; Jerry's" in svg
    assert '&lt;b&gt;"Best"&lt;/b&gt; Mug' in svg
    assert "<b>" not in svg


def test_a_long_name_is_wrapped_and_shortened_to_five_lines() -> None:
    image = DemoImage(text="word " * 40, caption="", color="336699", width=400, height=400)

    root = parse_svg(image.svg())

    lines = [span.text or "" for span in root.iter(f"{SVG}tspan")]
    assert len(lines) == 5
    assert lines[-1].endswith("…")
    assert all(line.startswith("word") for line in lines)


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"w": "800", "h": "800", "color": "336699"}, "text is missing"),
        ({"w": "800", "h": "800", "color": "#336699", "text": "A"}, "color must be"),
        ({"w": "800", "h": "800", "color": "ABCDEF", "text": "A"}, "color must be"),
        ({"w": "8000", "h": "800", "color": "336699", "text": "A"}, "width and height must be"),
        ({"w": "eight", "h": "800", "color": "336699", "text": "A"}, "invalid literal for int"),
        ({"w": "800", "h": "800", "color": "336699", "text": "x" * 201}, "text must be 1 to 200"),
        ({"w": "800", "h": "800", "color": "336699", "text": " "}, "text must be 1 to 200"),
        ({"w": "800", "h": "800", "color": "336699", "text": "bell\x07"}, "control"),
        (
            {"w": "800", "h": "800", "color": "336699", "text": "A", "caption": "c" * 81},
            "caption must be at most 80",
        ),
    ],
)
def test_anything_but_a_demo_image_query_is_refused(query: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        DemoImage.from_query(query)
