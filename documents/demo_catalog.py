"""A deterministic demo catalog: seeded category and product generators and a fast bulk loader.

The same seed always yields exactly the same documents (ids, names, prices and timestamps), so
demo data and benchmarks are reproducible. Generated dicts are raw MongoDB documents shaped like
the `Category` and `Product` Beanie documents (`_id` for the id) and are written straight
through the PyMongo collections, bypassing per-document Beanie overhead.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import math
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from documents.catalog import Category, Product
from documents.money import final_price, minor_unit_exponent

BASE_DATE = datetime(2026, 1, 1, tzinfo=UTC)
"""Fixed "now" of the demo catalog: every generated timestamp lies before it."""

# Products are created over the two years before BASE_DATE.
_PRODUCT_SPAN_MS = 730 * 24 * 3600 * 1000
_CATEGORIES_CREATED = BASE_DATE - timedelta(days=760)
_DISCOUNTS = (0, 0, 0, 5, 10, 15, 20, 25, 30, 40, 50)
_MAX_PRODUCTS = 1 << 24  # the ObjectId counter is three bytes
_MAX_INSERTS_IN_FLIGHT = 3
# Rough value of one unit of a currency in rupees; the vocabulary's price ranges are in rupees.
# Unknown currencies use the rupee figures as they are.
# fmt: off
_INR_PER_UNIT: dict[str, float] = {
    "INR": 1.0, "USD": 85.0, "EUR": 92.0, "GBP": 108.0, "JPY": 0.57, "AUD": 56.0, "CAD": 61.0,
    "SGD": 64.0, "AED": 23.0, "CHF": 96.0, "CNY": 11.7,
}
# fmt: on
_IMAGE_VIEWS = ("front view", "side view", "close-up", "in use")


@dataclass(frozen=True)
class DemoCatalogSummary:
    """What `load_demo_catalog` wrote and how long it took."""

    categories: int
    subcategories: int
    products: int
    seconds: float


@dataclass(frozen=True)
class _Sub:
    """Vocabulary of one subcategory. Prices are in rupees."""

    name: str
    item: str  # what one product is called in a sentence ("pair of headphones")
    price: tuple[int, int]
    models: tuple[str, ...]
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    features: tuple[str, ...]


@dataclass(frozen=True)
class _Top:
    """A top-level category: its brands, how common its products are, and its subcategories."""

    name: str
    description: str
    weight: int
    brands: tuple[str, ...]
    closers: tuple[str, ...]
    subs: tuple[_Sub, ...]
    name_format: str = "{brand} {model} {noun}"
    variant_format: str = " - {variant}"
    titled: bool = False  # product names are titles (books): descriptions don't repeat the name


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


# The vocabulary table is laid out by hand for reading; keep the formatter out of it.
# fmt: off
_CATALOG: tuple[_Top, ...] = (
    _Top(
        "Electronics", "Phones, laptops, audio and gadgets for work and play.", 14,
        _w("Aurora|Voltik|Zentrix|Novabeam|Kestrel|Orbitek"),
        _w("Backed by a 1-year {brand} warranty.|Ships with a USB-C cable and a quick-start guide."
           "|Eligible for free doorstep service during the warranty period."),
        (
            _Sub("Mobiles", "smartphone", (8999, 149999),
                 _w("Nova 5G|X12 Pro|Pulse 9|Edge 14|Zen 7 Lite|Titan Max|Neo 11|Vista S3"),
                 _w("Smartphone|5G Smartphone"),
                 _w("Midnight Black, 128 GB|Ocean Blue, 128 GB|Frost White, 256 GB"
                    "|Graphite, 256 GB|Sage Green, 512 GB"),
                 _w("a 6.7-inch AMOLED display with a 120 Hz refresh rate"
                    "|a 50 MP triple camera with optical stabilisation"
                    "|a 5000 mAh battery with 67 W fast charging"
                    "|an octa-core processor tuned for gaming|stereo speakers with spatial audio"
                    "|an IP68 dust- and water-resistant body"
                    "|a slim glass back with a matte finish")),
            _Sub("Laptops", "laptop", (24999, 249999),
                 _w("AirBook 14|ProBook X15|Zenith 16|Slate 13|Vector G5|Horizon 14 OLED"
                    "|Forge 15|Lumen 13"),
                 _w("Laptop|Thin and Light Laptop|Gaming Laptop|2-in-1 Laptop"),
                 _w("Core i5, 16 GB, 512 GB SSD|Core i7, 16 GB, 1 TB SSD|Ryzen 5, 8 GB, 512 GB SSD"
                    "|Ryzen 7, 16 GB, 1 TB SSD|Core i3, 8 GB, 256 GB SSD"),
                 _w("a 14-inch 2.8K display with full sRGB coverage|up to 12 hours of battery life"
                    "|a backlit keyboard and a glass touchpad|a full-metal body under 1.4 kg"
                    "|Wi-Fi 6E and two USB4 ports|a 1080p webcam with a privacy shutter"
                    "|a vapour-chamber cooling system")),
            _Sub("Headphones", "pair of headphones", (799, 34999),
                 _w("X5|Pulse|Air 3|Studio Pro|Bass Boost|Quiet Max|Sonic 2|Drift"),
                 _w("Wireless Headphones|Noise Cancelling Headphones|True Wireless Earbuds"
                    "|Over-Ear Headphones|Neckband Earphones"),
                 _w("Midnight Black|Pearl White|Navy Blue|Olive Green|Rose Pink"),
                 _w("active noise cancellation up to 40 dB|up to 50 hours of playback"
                    "|40 mm dynamic drivers with deep bass|Bluetooth 5.3 with multipoint pairing"
                    "|soft memory-foam ear cushions|a low-latency gaming mode"
                    "|a quick charge that gives 5 hours of music in 10 minutes")),
            _Sub("Cameras", "camera", (4999, 249999),
                 _w("Vista M50|Focus Z7|Optix R3|Snap 20|Prime X100|Trekcam 4K"),
                 _w("Mirrorless Camera|DSLR Camera|Action Camera|Instant Camera"),
                 _w("Body Only|with 18-55 mm Lens|with 24-105 mm Lens|Vlogging Kit|Black"),
                 _w("a 24.2 MP APS-C sensor|4K video at 60 fps|in-body five-axis stabilisation"
                    "|fast hybrid autofocus with eye tracking|a vari-angle touchscreen"
                    "|a weather-sealed magnesium body|dual SD card slots")),
            _Sub("Smartwatches", "smartwatch", (1499, 44999),
                 _w("Fit 3|Pulse Pro|Orbit S|Active 2|Luxe|Vita GT"),
                 _w("Smartwatch|Fitness Band|GPS Smartwatch"),
                 _w("Black Silicone Strap|Silver Mesh Strap|Blue Sport Strap|Rose Gold"
                    "|Brown Leather Strap"),
                 _w("a 1.43-inch always-on AMOLED display|heart-rate and SpO2 monitoring"
                    "|built-in GPS for runs and rides|Bluetooth calling"
                    "|up to 10 days of battery life|more than 100 sports modes"
                    "|5 ATM water resistance")),
        ),
    ),
    _Top(
        "Fashion", "Clothing, footwear, bags and watches for every day and every occasion.", 14,
        _w("Threadline|Urban Loom|Maison Vela|Rangrez & Co|Kashvi"),
        _w("Easy 30-day returns and exchanges.|Machine washable; see the care label for details."
           "|Check the size chart before ordering for the best fit."),
        (
            _Sub("Men's Clothing", "garment", (399, 7999),
                 _w("Slim Fit|Regular Fit|Relaxed|Classic|Everyday|Heritage"),
                 _w("Cotton Shirt|Linen Shirt|Polo T-Shirt|Chinos|Denim Jeans|Kurta"
                    "|Hooded Sweatshirt|Bomber Jacket"),
                 _w("Navy, M|White, L|Olive, XL|Charcoal, M|Sky Blue, S|Black, L"),
                 _w("breathable 100% cotton fabric|a tailored slim silhouette"
                    "|reinforced double-stitched seams|a soft enzyme-washed finish"
                    "|colour-fast dyes that don't fade|stretch fabric for all-day comfort")),
            _Sub("Women's Clothing", "garment", (499, 12999),
                 _w("Floral|A-Line|Flared|Everyday|Festive|Relaxed Fit|Printed"),
                 _w("Kurta Set|Maxi Dress|Anarkali Kurta|Wrap Top|Palazzo Pants|Saree"
                    "|Denim Jacket"),
                 _w("Maroon, M|Mustard, S|Teal, L|Ivory, M|Black, XL|Blush Pink, S"),
                 _w("lightweight rayon that drapes beautifully|hand-block printed motifs"
                    "|a flattering waist tie|pockets on both sides|a breathable cotton lining"
                    "|fine thread-work embroidery")),
            _Sub("Footwear", "pair of shoes", (499, 14999),
                 _w("Cloud Walk|Street|Trail|Classic|Aero|Flex Run"),
                 _w("Running Shoes|Sneakers|Loafers|Sandals|Chelsea Boots|Slip-Ons"),
                 _w("UK 6|UK 7|UK 8|UK 9|UK 10"),
                 _w("a cushioned EVA midsole|a breathable knit upper"
                    "|a slip-resistant rubber outsole|a padded collar and tongue"
                    "|genuine leather uppers|a removable memory-foam insole")),
            _Sub("Bags & Luggage", "bag", (599, 19999),
                 _w("Voyager|Metro|Nomad|Cabin Pro|Daypack|Heritage"),
                 _w("Backpack|Trolley Bag|Duffel Bag|Laptop Bag|Tote Bag|Sling Bag"),
                 _w("Black|Navy|Tan|Grey|Olive"),
                 _w("water-resistant polyester fabric|a padded 15.6-inch laptop sleeve"
                    "|360-degree spinner wheels|a built-in combination lock"
                    "|heavy-duty metal zippers|an anti-theft back pocket")),
            _Sub("Watches", "watch", (999, 39999),
                 _w("Chrono|Minimal|Heritage|Aviator|Diver|Classic"),
                 _w("Analog Watch|Chronograph Watch|Automatic Watch|Dress Watch"),
                 _w("Black Dial, Leather Strap|Blue Dial, Steel Bracelet|White Dial, Mesh Strap"
                    "|Green Dial, Steel Bracelet|Rose Gold"),
                 _w("scratch-resistant mineral glass|a Japanese quartz movement"
                    "|water resistance to 50 m|a stainless steel case"
                    "|luminous hands for low light|a quick-release strap")),
        ),
    ),
    _Top(
        "Home & Kitchen", "Cookware, appliances, decor and everything that makes a home.", 10,
        _w("Hearthwell|Copperleaf|Casa Nila|Kitchora|Brightnest"),
        _w("Comes with a 1-year replacement warranty.|Carefully packed to arrive in perfect shape."
           "|Easy to clean and built for daily use."),
        (
            _Sub("Cookware", "cookware piece", (349, 12999),
                 _w("Tri-Ply|Non-Stick|Cast Iron|Hard Anodised|Granite|Classic Steel"),
                 _w("Kadai|Fry Pan|Pressure Cooker|Tawa|Cookware Set|Saucepan"),
                 _w("24 cm|28 cm|3 L|5 L|3-Piece Set"),
                 _w("an induction-ready base|a PFOA-free non-stick coating"
                    "|stay-cool riveted handles|even heat distribution|a tempered glass lid"
                    "|a food-grade stainless steel interior")),
            _Sub("Kitchen Appliances", "appliance", (999, 49999),
                 _w("Turbo|Smart|Pro 750|Compact|Digital|Classic"),
                 _w("Mixer Grinder|Air Fryer|Electric Kettle|Induction Cooktop|Microwave Oven"
                    "|Toaster"),
                 _w("Black|Silver|White|Red"),
                 _w("a powerful 750 W motor|one-touch presets for everyday cooking"
                    "|auto shut-off for safety|a cool-touch exterior"
                    "|stainless steel jars and blades|a 2-year motor warranty")),
            _Sub("Home Decor", "decor piece", (249, 9999),
                 _w("Boho|Handcrafted|Minimal|Vintage|Terracotta|Brass"),
                 _w("Wall Clock|Table Lamp|Vase|Photo Frame Set|Wall Art|Scented Candle Set"),
                 _w("Set of 2|Large|Small|Gold|Natural"),
                 _w("handcrafted by artisans from Jaipur|a matte ceramic finish"
                    "|solid sheesham wood|an antique brass patina|a warm ambient glow"
                    "|ready-to-hang fittings")),
            _Sub("Bedding", "bedding set", (499, 9999),
                 _w("Percale|Sateen|Organic Cotton|Floral|Jaipuri|Microfibre"),
                 _w("Double Bedsheet Set|King Bedsheet Set|Comforter|Pillow Pair|Quilt|Blanket"),
                 _w("Indigo|Ivory|Sage|Grey|Coral"),
                 _w("300 thread count cotton|a soft, breathable weave"
                    "|fade-resistant reactive prints|two matching pillow covers"
                    "|hypoallergenic fill|an elasticated fitted sheet")),
            _Sub("Storage", "storage piece", (199, 5999),
                 _w("Stackable|Modular|Airtight|Foldable|Classic"),
                 _w("Storage Box Set|Container Set|Shoe Rack|Closet Organiser|Kitchen Rack"),
                 _w("Set of 3|Set of 6|Large|Medium|Transparent"),
                 _w("BPA-free food-grade plastic|airtight locking lids"
                    "|rust-proof powder-coated steel|a space-saving stackable design"
                    "|easy tool-free assembly|see-through panels")),
        ),
    ),
    _Top(
        "Beauty", "Skincare, makeup, haircare and fragrances for every routine.", 7,
        _w("Lumiere Botanics|Velvetine|Saffra|Dewdrop Lab|Ayana Naturals"),
        _w("Dermatologically tested and cruelty-free.|Free from parabens and sulphates."
           "|Do a patch test before first use."),
        (
            _Sub("Skincare", "skincare product", (199, 2999),
                 _w("Vitamin C|Hyaluronic|Niacinamide|Ceramide|Retinol|Aloe"),
                 _w("Face Serum|Moisturiser|Face Wash|Sunscreen SPF 50|Night Cream|Toner"),
                 _w("30 ml|50 ml|100 ml|Pack of 2"),
                 _w("a lightweight, non-greasy texture|10% niacinamide to refine pores"
                    "|broad-spectrum UVA and UVB protection"
                    "|ceramides that strengthen the skin barrier|a gentle, fragrance-free formula"
                    "|a visible glow in four weeks")),
            _Sub("Makeup", "makeup product", (149, 2499),
                 _w("Matte|Velvet|Long-Stay|HD|Dewy|Satin"),
                 _w("Liquid Lipstick|Kajal|Foundation|Compact Powder|Mascara|Eyeshadow Palette"),
                 _w("Nude Rose|Brick Red|Deep Plum|Warm Beige|Jet Black|Honey"),
                 _w("up to 16 hours of wear|a smudge-proof, transfer-proof finish"
                    "|rich, buildable colour|vitamin E for nourishment|a creamy glide-on texture"
                    "|a shade range made for Indian skin tones")),
            _Sub("Haircare", "haircare product", (149, 2499),
                 _w("Onion|Argan|Keratin|Bhringraj|Tea Tree|Coconut"),
                 _w("Shampoo|Conditioner|Hair Oil|Hair Mask|Hair Serum"),
                 _w("100 ml|200 ml|400 ml|Pack of 2"),
                 _w("cold-pressed botanical oils|visibly less hair fall in eight weeks"
                    "|a sulphate-free cleansing base|deep conditioning for frizzy hair"
                    "|a light, non-sticky feel|a fresh herbal fragrance")),
            _Sub("Fragrances", "fragrance", (299, 7999),
                 _w("Oud|Citrus|Musk|Amber|Blue|Sandalwood"),
                 _w("Eau de Parfum|Body Mist|Perfume|Deodorant Spray|Attar"),
                 _w("50 ml|100 ml|150 ml|Gift Set"),
                 _w("long-lasting notes for up to 8 hours|top notes of bergamot and pink pepper"
                    "|a warm sandalwood base|an alcohol-free formula"
                    "|an elegant travel-friendly bottle|small-batch blending")),
        ),
    ),
    _Top(
        "Sports & Outdoors", "Gear for fitness, cycling, camping, yoga and team sports.", 7,
        _w("Peakform|Trailmark|Kinetiq|Rallyon|Summit Forge"),
        _w("Tested for durability by amateur and pro athletes."
           "|Covered by a 6-month manufacturing warranty."
           "|Suitable for beginners and regular users alike."),
        (
            _Sub("Fitness Equipment", "piece of fitness gear", (299, 59999),
                 _w("Pro|Home Gym|Compact|Elite|Core|Power"),
                 _w("Adjustable Dumbbell Set|Treadmill|Exercise Bike|Kettlebell"
                    "|Resistance Band Set|Workout Bench"),
                 _w("5 kg|10 kg|20 kg|Standard|Heavy Duty"),
                 _w("a non-slip ergonomic grip|a sturdy steel frame|quiet magnetic resistance"
                    "|compact foldable storage|a digital display for time and calories"
                    "|free guided workout videos")),
            _Sub("Cycling", "cycling product", (499, 49999),
                 _w("Roadster|Trail 26|Urban|Sprint|Mountain Pro|Cruiser"),
                 _w("Mountain Bike|City Bike|Cycling Helmet|Bike Light Set|Cycling Gloves"),
                 _w("Matte Black|Red|Blue|Medium|Large"),
                 _w("a lightweight alloy frame|21-speed gearing|front suspension forks"
                    "|dual disc brakes|a USB-rechargeable LED|a ventilated in-mould shell"
                    "|padded gel palms")),
            _Sub("Camping & Hiking", "piece of outdoor gear", (299, 24999),
                 _w("Trekker|Alpine|Base Camp|Nomad|Ridge|Explorer"),
                 _w("Camping Tent|Trekking Backpack|Sleeping Bag|Hiking Shoes|Camping Lantern"
                    "|Trekking Pole"),
                 _w("2-Person|4-Person|45 L|60 L|Olive|Orange"),
                 _w("a waterproof rainfly with taped seams|a ventilated back panel"
                    "|comfort down to 5 degrees|a lightweight pack-down design"
                    "|a rechargeable 300-lumen light|aluminium twist-lock shafts")),
            _Sub("Team Sports", "piece of sports gear", (299, 14999),
                 _w("Match|Pro Grip|Training|Club|Tournament|Power Hit"),
                 _w("Cricket Bat|Football|Badminton Racket|Basketball|Cricket Kit|Volleyball"),
                 _w("Size 5|Size 7|Full Size|Junior|English Willow|Kashmir Willow"),
                 _w("hand-stitched match-grade construction|an isometric head frame"
                    "|a thick, well-pressed blade|a durable rubber bladder"
                    "|a cushioned anti-slip grip|a full-size carry cover")),
            _Sub("Yoga", "yoga accessory", (199, 4999),
                 _w("Eco|Pro Grip|Travel|Cushioned|Classic"),
                 _w("Yoga Mat|Yoga Block Set|Yoga Strap|Meditation Cushion|Yoga Wheel"),
                 _w("4 mm|6 mm|8 mm|Purple|Teal"),
                 _w("natural rubber with an anti-slip texture|high-density TPE foam"
                    "|a moisture-resistant surface|alignment lines for posture"
                    "|a carrying strap|a sweat-proof, easy-wipe finish")),
        ),
    ),
    _Top(
        "Books", "Fiction, non-fiction, children's books and textbooks.", 6,
        _w("Inkwell Press|Banyan House|Peacock Quill|Lantern Books"),
        _w("Printed on acid-free paper.|One of our readers' favourites this year."
           "|Also makes a thoughtful gift."),
        (
            _Sub("Fiction", "novel", (199, 999),
                 _w("The Silent|The Last|Beyond the|Whispers of the|The Hidden|Echoes of the"
                    "|A Season of|The Glass|Daughters of the|The Forgotten"),
                 _w("River|Orchard|Monsoon|Lighthouse|Kingdom|Garden|Horizon|City|Empire|Tide"),
                 _w("Paperback|Hardcover|Paperback|Collector's Edition"),
                 _w("a gripping story told across three generations"
                    "|vivid characters and sharp dialogue"
                    "|an unforgettable twist in the final chapters"
                    "|lyrical prose and a richly drawn setting|a tense, slow-burning mystery"
                    "|themes of family, loss and belonging")),
            _Sub("Non-Fiction", "book", (249, 1499),
                 _w("The Art of|A Short History of|The Science of|Mastering|Rethinking"
                    "|The Little Book of|The Power of|Notes on"),
                 _w("Habits|Money|Leadership|Sleep|Cities|Attention|Focus|Food|Memory|Work"),
                 _w("Paperback|Hardcover|Paperback"),
                 _w("research distilled into practical lessons|clear, jargon-free explanations"
                    "|stories from founders, scientists and historians"
                    "|exercises at the end of every chapter|fresh data and case studies"
                    "|a foreword by a leading economist")),
            _Sub("Children's Books", "children's book", (99, 799),
                 _w("The Brave Little|Where Is the|Hello,|The Curious|Ten Little|The Magic"),
                 _w("Elephant|Tiger|Moon|Dragon|Rabbit|Peacock|Robot"),
                 _w("Board Book|Paperback|Hardcover"),
                 _w("bright, full-page illustrations|simple rhymes for early readers"
                    "|a gentle bedtime story|sturdy pages for small hands"
                    "|fun activities on every spread|a story about kindness and sharing")),
            _Sub("Academic", "textbook", (299, 2999),
                 _w("Principles of|Fundamentals of|Introduction to|Advanced|Essentials of"
                    "|Concepts in"),
                 _w("Physics|Organic Chemistry|Economics|Data Structures|Accounting|Calculus"
                    "|Biology|Statistics"),
                 _w("Paperback|Hardcover|2nd Edition|5th Edition"),
                 _w("worked examples in every chapter|hundreds of practice problems with solutions"
                    "|a syllabus-aligned structure|clear diagrams and chapter summaries"
                    "|previous years' exam questions|online resources for instructors")),
        ),
        name_format="{model} {noun}",
        variant_format=" ({variant})",
        titled=True,
    ),
    _Top(
        "Toys & Games", "Board games, puzzles, learning toys and remote-control fun.", 5,
        _w("Tinkertown|Playnest|Brickwell|Zoomi"),
        _w("Made from child-safe, non-toxic materials.|Recommended for ages 3 and up."
           "|Makes a perfect birthday gift."),
        (
            _Sub("Board Games", "game", (299, 3999),
                 _w("Family|Classic|Deluxe|Strategy|Party|Travel"),
                 _w("Board Game|Card Game|Chess Set|Trivia Game|Word Game"),
                 _w("2-4 Players|2-6 Players|Family Edition|Travel Edition"),
                 _w("quick 30-minute rounds|easy rules for all ages|premium wooden pieces"
                    "|hundreds of question cards|a sturdy folding board"
                    "|plenty of replay value for game nights")),
            _Sub("Puzzles", "puzzle", (199, 2499),
                 _w("Landscape|Wildlife|World Map|Mandala|Vintage|3D"),
                 _w("Jigsaw Puzzle|Puzzle Cube|Floor Puzzle|Brain Teaser Set"),
                 _w("100 Pieces|500 Pieces|1000 Pieces|Set of 4"),
                 _w("thick, precision-cut pieces|a glare-free linen finish"
                    "|a reference poster in the box|vibrant artwork by Indian illustrators"
                    "|a smooth, fast-turning mechanism|hours of screen-free fun")),
            _Sub("Action Figures", "figure", (299, 4999),
                 _w("Galaxy Ranger|Shadow Ninja|Dino Rex|Cyber Knight|Star Pilot|Jungle Hero"),
                 _w("Action Figure|Figure Set|Collectible Figure|Playset"),
                 _w("6 Inch|12 Inch|Set of 3|Deluxe"),
                 _w("14 points of articulation|a detailed hand-painted finish"
                    "|swappable accessories|sturdy, drop-tested plastic|a display stand"
                    "|light and sound effects")),
            _Sub("Educational Toys", "learning toy", (199, 5999),
                 _w("STEM|Junior|Smart|Creative|Wooden|Explorer"),
                 _w("Building Blocks|Science Kit|Robotics Kit|Alphabet Puzzle|Abacus"
                    "|Coding Robot"),
                 _w("Ages 3+|Ages 5+|Ages 8+|120 Pieces|250 Pieces"),
                 _w("hands-on experiments with a guide|bright, chunky pieces for little hands"
                    "|screen-free coding challenges|sustainably sourced wood"
                    "|fine motor skill development|an illustrated activity booklet")),
            _Sub("Remote Control Toys", "remote-control toy", (599, 9999),
                 _w("Turbo|Storm|Rock Crawler|Falcon|Sky Hawk|Thunder"),
                 _w("RC Car|RC Drone|RC Helicopter|RC Boat|Stunt Car"),
                 _w("Red|Blue|Green|1:16 Scale|1:24 Scale"),
                 _w("2.4 GHz interference-free control|a rechargeable battery with USB charging"
                    "|360-degree stunt flips|shock-absorbing suspension"
                    "|one-key take-off and landing|up to 20 minutes of play per charge")),
        ),
    ),
    _Top(
        "Grocery", "Pantry staples, snacks, beverages and breakfast essentials.", 8,
        _w("Desi Pantry|Green Acre Farms|Morning Mill|Tastebud Co|Spice Route Kitchen"),
        _w("Store in a cool, dry place.|Best before 9 months from packaging."
           "|Packed in a hygienic, food-safe facility."),
        (
            _Sub("Snacks", "snack", (49, 999),
                 _w("Roasted|Salted|Masala|Peri Peri|Honey|Classic"),
                 _w("Almonds|Cashews|Makhana|Trail Mix|Banana Chips|Peanuts"),
                 _w("200 g|500 g|1 kg|Pack of 4"),
                 _w("slow roasting in small batches|no added preservatives"
                    "|a crunchy, wholesome bite|hand-picked premium kernels"
                    "|just the right amount of spice|resealable zip-lock packaging")),
            _Sub("Beverages", "beverage", (99, 1999),
                 _w("Premium|Classic|Gold|Masala|Organic|Estate"),
                 _w("Assam Tea|Darjeeling Tea|Green Tea|Filter Coffee|Instant Coffee"
                    "|Herbal Infusion"),
                 _w("250 g|500 g|1 kg|100 Bags"),
                 _w("single-estate leaves|a rich, full-bodied aroma|freshly roasted beans"
                    "|a bright, brisk cup|ethical sourcing from small growers"
                    "|a smooth, balanced finish")),
            _Sub("Staples", "pantry staple", (59, 2499),
                 _w("Organic|Premium|Everyday|Classic|Farm Fresh"),
                 _w("Basmati Rice|Whole Wheat Atta|Toor Dal|Poha|Jaggery Powder|Rock Salt"),
                 _w("500 g|1 kg|5 kg|10 kg"),
                 _w("direct sourcing from partner farms|naturally aged grains"
                    "|an unpolished, nutrient-rich grain|stone-ground softness"
                    "|no artificial colours|lab testing for purity")),
            _Sub("Breakfast & Spreads", "breakfast staple", (99, 1499),
                 _w("Crunchy|Classic|Organic|Honey|Multigrain|No Added Sugar"),
                 _w("Muesli|Peanut Butter|Rolled Oats|Granola|Mixed Fruit Jam|Corn Flakes"),
                 _w("400 g|750 g|1 kg|Pack of 2"),
                 _w("whole grains for lasting energy|real fruit and nut pieces"
                    "|plenty of protein and fibre|no palm oil|a delicious crunch in every spoon"
                    "|a ready-in-three-minutes recipe")),
        ),
        variant_format=", {variant}",
    ),
    _Top(
        "Furniture", "Sofas, beds, tables, chairs and wardrobes for every room.", 5,
        _w("Teakwood Studio|Loftcraft|Nestaura|Oakhaven"),
        _w("Free installation by our trained team.|Ships flat-packed with an assembly guide."
           "|Backed by a 3-year warranty against manufacturing defects."),
        (
            _Sub("Sofas", "sofa", (14999, 149999),
                 _w("Chesterfield|Lounge|Mid-Century|Modular|Recliner|Scandi"),
                 _w("3-Seater Sofa|L-Shaped Sofa|Sofa Cum Bed|2-Seater Sofa|Recliner Sofa"),
                 _w("Grey Fabric|Teal Velvet|Beige Linen|Tan Leatherette|Navy Fabric"),
                 _w("a solid hardwood frame|high-resilience foam cushions"
                    "|removable, washable covers|no-sag pocket springs"
                    "|stain-resistant upholstery|tapered solid wood legs")),
            _Sub("Beds", "bed", (9999, 99999),
                 _w("Platform|Hydraulic Storage|Upholstered|Sheesham|Classic|Minimal"),
                 _w("Queen Bed|King Bed|Single Bed|Bunk Bed"),
                 _w("Walnut Finish|Honey Finish|Grey|White|Teak Finish"),
                 _w("solid sheesham wood construction|hydraulic under-bed storage"
                    "|a padded upholstered headboard|a termite-resistant finish"
                    "|a slatted base for airflow|support for up to 400 kg")),
            _Sub("Tables", "table", (1999, 69999),
                 _w("Sheesham|Industrial|Marble Top|Nesting|Foldable|Scandi"),
                 _w("Coffee Table|Dining Table Set|Study Table|Console Table|Side Table"),
                 _w("4-Seater|6-Seater|Walnut|Natural|Black"),
                 _w("a scratch-resistant laminate top|a powder-coated steel base"
                    "|solid wood with a natural grain|built-in drawer storage"
                    "|rounded edges for safety|an easy 20-minute assembly")),
            _Sub("Chairs", "chair", (1499, 34999),
                 _w("Ergonomic|Mesh|Accent|Rocking|Executive|Scandi"),
                 _w("Office Chair|Dining Chair Set|Lounge Chair|Gaming Chair|Study Chair"),
                 _w("Black|Grey|Set of 2|Set of 4|Brown"),
                 _w("adjustable lumbar support|a breathable mesh back|a class-4 gas lift"
                    "|360-degree swivel with smooth castors|a solid beech wood frame"
                    "|thick moulded foam seating")),
            _Sub("Wardrobes", "wardrobe", (7999, 79999),
                 _w("Sliding Door|Mirror|Classic|Modular|Engineered Wood"),
                 _w("2-Door Wardrobe|3-Door Wardrobe|4-Door Wardrobe|Kids Wardrobe"),
                 _w("Wenge|White|Walnut|Frosty White|Oak"),
                 _w("a full-length mirror|soft-close hinges"
                    "|adjustable shelves and a hanging rail|a lockable drawer"
                    "|moisture-resistant engineered wood|anti-toppling wall fixtures")),
        ),
    ),
    _Top(
        "Automotive", "Accessories, care products and riding gear for cars and bikes.", 4,
        _w("Roadvik|Gearmate|Torqline|Autoglo"),
        _w("Check compatibility with your vehicle before ordering.|Comes with a 6-month warranty."
           "|Easy DIY installation in minutes."),
        (
            _Sub("Car Accessories", "car accessory", (199, 14999),
                 _w("Pro|Smart|Universal|Premium|Compact"),
                 _w("Dash Camera|Car Phone Holder|Tyre Inflator|Seat Cover Set"
                    "|Car Vacuum Cleaner|Car Charger"),
                 _w("Black|Beige|Grey|Tan"),
                 _w("a 1080p wide-angle lens with night vision|a strong magnetic mount"
                    "|a digital pressure gauge with auto cut-off|breathable premium leatherette"
                    "|powerful 120 W suction|dual fast-charging ports")),
            _Sub("Bike Accessories", "bike accessory", (149, 4999),
                 _w("Rider|Touring|Urban|Sport|Pro"),
                 _w("Bike Cover|Riding Gloves|Tank Bag|Mobile Holder|Saddle Bag"),
                 _w("Black|Red|Medium|Large|Universal"),
                 _w("waterproof, UV-resistant fabric|an anti-slip, vibration-damping grip"
                    "|knuckle protection|a magnetic base|reflective strips for night rides"
                    "|quick-release mounting")),
            _Sub("Car Care", "car care product", (149, 7999),
                 _w("Ceramic|Waterless|Foam|Premium|Quick"),
                 _w("Car Wash Shampoo|Car Polish|Microfibre Cloth Set|Pressure Washer|Tyre Shine"),
                 _w("500 ml|1 L|Pack of 3|Set of 6"),
                 _w("a pH-neutral formula that is safe on paint|a long-lasting showroom shine"
                    "|lint-free microfibre|UV protection for paint and trims"
                    "|a streak-free finish|1800 W high-pressure output")),
            _Sub("Helmets", "helmet", (999, 14999),
                 _w("Full Face|Open Face|Modular|Off-Road|Half Face"),
                 _w("Helmet|Riding Helmet|Racing Helmet"),
                 _w("Matte Black, M|Glossy White, L|Red, M|Blue, XL|Grey, L"),
                 _w("ISI-certified protection|a scratch-resistant anti-fog visor"
                    "|a removable, washable liner|an aerodynamic ABS shell|multiple air vents"
                    "|a quick-release chin strap")),
        ),
    ),
    _Top(
        "Health", "Supplements, health monitors, personal care and Ayurveda.", 6,
        _w("Vitanova|Pulsecare|Medisure|Herbavia|Wellspring Labs"),
        _w("Consult your doctor before use if you have a medical condition."
           "|Manufactured in a GMP-certified facility."
           "|Store below 25 degrees, away from direct sunlight."),
        (
            _Sub("Vitamins & Supplements", "supplement", (199, 4999),
                 _w("Daily|Advanced|Plant|Active|Essential|Max"),
                 _w("Multivitamin Tablets|Whey Protein|Omega-3 Capsules|Vitamin D3 Drops"
                    "|Biotin Gummies|Plant Protein"),
                 _w("Pack of 1|Pack of 2|Value Pack|Starter Pack"),
                 _w("clinically studied ingredients|24 g of protein per serving"
                    "|no added sugar|easy-to-swallow capsules"
                    "|third-party testing for purity|a great-tasting chocolate flavour")),
            _Sub("Health Monitors", "health device", (499, 9999),
                 _w("Smart|Digital|Pro|Compact|Bluetooth"),
                 _w("Blood Pressure Monitor|Pulse Oximeter|Glucometer|Digital Thermometer"
                    "|Weighing Scale|Nebuliser"),
                 _w("Standard|With App|Travel Pack"),
                 _w("clinically validated accuracy|a large backlit display"
                    "|app sync for tracking trends|memory for 120 readings"
                    "|one-button operation|a 2-year warranty")),
            _Sub("Personal Care", "personal care device", (499, 6999),
                 _w("Pro|Cordless|Sensitive|Gentle|Advanced"),
                 _w("Electric Toothbrush|Beard Trimmer|Hair Dryer|Body Massager|Epilator"),
                 _w("Black|White|Blue|Travel Kit"),
                 _w("a long-lasting rechargeable battery|self-sharpening stainless steel blades"
                    "|multiple heat and speed settings|a waterproof design for wet use"
                    "|a travel lock and pouch|a 2-minute smart timer")),
            _Sub("Ayurveda", "Ayurvedic product", (99, 1999),
                 _w("Pure|Classic|Organic|Herbal|Traditional"),
                 _w("Ashwagandha Capsules|Chyawanprash|Triphala Churna|Giloy Juice|Tulsi Drops"),
                 _w("60 Capsules|500 g|1 kg|500 ml|30 ml"),
                 _w("time-tested Ayurvedic recipes|sustainably harvested herbs"
                    "|no artificial colours or flavours|support for everyday immunity"
                    "|standardised herbal extracts|a traditional slow-cooked process")),
        ),
    ),
    _Top(
        "Jewellery", "Necklaces, earrings, rings and bracelets in gold, silver and more.", 4,
        _w("Swarna Rekha|Moonstone Atelier|Tara Jewels|Aurelia Fine"),
        _w("Arrives in a gift-ready box with a certificate of authenticity."
           "|Hypoallergenic and nickel-free.|Includes a polishing cloth."),
        (
            _Sub("Necklaces", "necklace", (499, 149999),
                 _w("Kundan|Temple|Pearl|Solitaire|Layered|Polki"),
                 _w("Necklace Set|Pendant Necklace|Choker|Mangalsutra|Chain"),
                 _w("Gold Plated|Sterling Silver|18K Gold|Rose Gold Plated|Oxidised Silver"),
                 _w("hand-set stones with a mirror polish|BIS-hallmarked gold"
                    "|an adjustable lobster clasp|lustrous freshwater pearls"
                    "|an anti-tarnish coating|traditional artisanal craftsmanship")),
            _Sub("Earrings", "pair of earrings", (299, 49999),
                 _w("Jhumka|Stud|Hoop|Chandbali|Drop|Solitaire"),
                 _w("Earrings|Earring Set"),
                 _w("Gold Plated|Sterling Silver|18K Gold|Rose Gold Plated|Oxidised Silver"),
                 _w("lightweight comfort for all-day wear|secure push-back closures"
                    "|hand-set stones with a mirror polish|BIS-hallmarked gold"
                    "|an anti-tarnish coating|delicate filigree work")),
            _Sub("Rings", "ring", (399, 99999),
                 _w("Solitaire|Eternity|Cocktail|Band|Floral|Promise"),
                 _w("Ring|Couple Rings|Statement Ring"),
                 _w("Size 12|Size 14|Size 16|Adjustable|Rose Gold Plated"),
                 _w("a brilliant-cut cubic zirconia|925 sterling silver|a comfort-fit inner band"
                    "|lab-grown diamonds|an elegant prong setting"
                    "|free resizing within 30 days")),
            _Sub("Bracelets", "bracelet", (299, 59999),
                 _w("Tennis|Charm|Kada|Cuff|Link|Evil Eye"),
                 _w("Bracelet|Bangle Set|Anklet Pair"),
                 _w("Gold Plated|Sterling Silver|Rose Gold Plated|Set of 2|Oxidised Silver"),
                 _w("a secure box clasp|925 sterling silver|hand-set stones with a mirror polish"
                    "|an adjustable fit|an anti-tarnish coating|BIS-hallmarked gold")),
        ),
    ),
    _Top(
        "Pet Supplies", "Food, toys, grooming and accessories for dogs and cats.", 4,
        _w("Pawsome Co|Whiskerly|Tailwag|Barkley & Bean"),
        _w("Vet-approved and safe for everyday use.|Loved by thousands of pet parents."
           "|Free from artificial colours."),
        (
            _Sub("Dog Food & Treats", "dog food", (149, 7999),
                 _w("Chicken & Rice|Lamb|Puppy|Adult|Grain-Free|Senior"),
                 _w("Dry Dog Food|Dog Treats|Wet Dog Food|Dental Chews"),
                 _w("400 g|1.2 kg|3 kg|10 kg|Pack of 12"),
                 _w("real meat as the first ingredient|omega fatty acids for a shiny coat"
                    "|added calcium for strong bones|no artificial preservatives"
                    "|easy-to-digest proteins|a taste dogs love")),
            _Sub("Cat Supplies", "cat product", (149, 5999),
                 _w("Ocean Fish|Kitten|Indoor|Clumping|Tuna|Premium"),
                 _w("Dry Cat Food|Cat Litter|Cat Treats|Scratching Post|Cat Bed"),
                 _w("1 kg|3 kg|5 kg|10 L|Grey"),
                 _w("high protein for active cats|low-dust, odour-locking granules"
                    "|taurine for heart and eye health|a sisal-wrapped scratching pole"
                    "|a plush, machine-washable cover|hairball control")),
            _Sub("Pet Toys & Accessories", "pet accessory", (99, 4999),
                 _w("Chew|Squeaky|Rope|Reflective|Comfort|Interactive"),
                 _w("Dog Toy|Dog Leash|Pet Collar|Pet Harness|Pet Bowl Set|Cat Teaser Wand"),
                 _w("Small|Medium|Large|Red|Blue"),
                 _w("non-toxic, durable rubber|reflective stitching for night walks"
                    "|an adjustable quick-release buckle|a no-pull front clip"
                    "|anti-skid stainless steel bowls|hours of interactive play")),
            _Sub("Pet Grooming", "grooming product", (149, 2999),
                 _w("Gentle|Tick & Flea|Deshedding|Oatmeal|Anti-Itch"),
                 _w("Pet Shampoo|Grooming Brush|Nail Clipper|Pet Wipes|Pet Conditioner"),
                 _w("200 ml|500 ml|Pack of 2|Small|Large"),
                 _w("a mild, tear-free formula|stainless steel pins that reduce shedding"
                    "|natural neem and aloe extracts|a safety guard against over-cutting"
                    "|a pH balanced for pets|a fresh, long-lasting fragrance")),
        ),
    ),
    _Top(
        "Office & Stationery", "Notebooks, pens, art supplies and desk essentials.", 4,
        _w("Papyra|Inkspire|Deskwise|Scribbly"),
        _w("Perfect for school, office and home.|Made with responsibly sourced materials."
           "|Bulk pricing available for offices and schools."),
        (
            _Sub("Notebooks & Diaries", "notebook", (99, 1999),
                 _w("Hardbound|Spiral|Leather|Dotted|Executive|Kraft"),
                 _w("Notebook|Diary|Planner|Journal|Sketchbook"),
                 _w("A5|A4|B5|Pack of 3|Pack of 6"),
                 _w("thick 100 GSM paper that resists bleed-through|lay-flat binding"
                    "|an elastic closure and a ribbon marker|a durable hardbound cover"
                    "|numbered pages with an index|acid-free, archival paper")),
            _Sub("Writing Instruments", "writing instrument", (49, 4999),
                 _w("Gel|Fountain|Ballpoint|Rollerball|Fineliner|Calligraphy"),
                 _w("Pen|Pen Set|Pen Gift Set|Marker Set|Highlighter Set"),
                 _w("Blue|Black|Pack of 5|Pack of 10|Assorted Colours"),
                 _w("smooth, skip-free ink flow|a quick-drying, smudge-proof ink"
                    "|a comfortable rubber grip|refillable cartridges"
                    "|a metal body with gold-tone trims|vibrant, water-based colours")),
            _Sub("Art Supplies", "art supply", (99, 4999),
                 _w("Artist|Student|Professional|Pastel|Watercolour"),
                 _w("Colour Pencil Set|Acrylic Paint Set|Brush Set|Canvas Board Pack"
                    "|Oil Pastels"),
                 _w("12 Shades|24 Shades|48 Shades|Set of 5|Set of 10"),
                 _w("richly pigmented, blendable colours|a non-toxic, child-safe formula"
                    "|soft synthetic bristles|a sturdy carry case"
                    "|lightfast, fade-resistant colours|primed cotton canvas")),
            _Sub("Desk Organisers", "desk accessory", (149, 4999),
                 _w("Bamboo|Metal Mesh|Wooden|Modular|Minimal"),
                 _w("Desk Organiser|File Tray|Pen Stand|Monitor Riser|Document Holder"),
                 _w("Black|White|Natural|Walnut|Set of 2"),
                 _w("multiple compartments for everyday essentials|sustainably sourced bamboo"
                    "|a powder-coated steel frame|non-slip rubber feet"
                    "|an ergonomic monitor height|a clean, minimal look")),
        ),
    ),
)
# fmt: on

_LEAD_SENTENCES = (
    "The {short} offers {f1} and {f2}.",
    "This {item} combines {f1} with {f2}.",
    "With {f1} and {f2}, the {short} is made for everyday use.",
    "{brand} built this {item} with {f1} and {f2}.",
)
_TITLED_LEAD_SENTENCES = (
    "This {item} offers {f1} and {f2}.",
    "Expect {f1} and {f2} in this {item}.",
    "Published by {brand}, this {item} offers {f1} and {f2}.",
)
_SECOND_SENTENCES = (
    "It also features {f3}.",
    "Highlights include {f3}.",
    "You also get {f3}.",
)


def _slugify(text: str) -> str:
    """Lowercase, hyphen-separated ASCII slug ("Home & Kitchen" -> "home-kitchen")."""
    text = text.lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _object_id(moment: datetime, machine: int, counter: int) -> ObjectId:
    """An ObjectId laid out like a real one: creation second, 5 "machine" bytes, 3-byte counter."""
    raw = (
        int(moment.timestamp()).to_bytes(4, "big")
        + machine.to_bytes(5, "big")
        + (counter & 0xFFFFFF).to_bytes(3, "big")
    )
    return ObjectId(raw)


def _machine_bytes(id_: Any) -> bytes:
    return bytes(ObjectId(id_).binary[4:9])


def generate_categories(seed: int) -> list[dict[str, Any]]:
    """The demo category tree as raw MongoDB documents (with `_id`), deterministic in `seed`.

    Each top-level category is followed by its subcategories. Subcategory slugs are prefixed with
    their parent's slug, so slugs are unique across the whole tree.
    """
    rng = random.Random(f"demo-catalog:{seed}:categories")
    machine = rng.getrandbits(40)
    counter = rng.getrandbits(24)
    documents: list[dict[str, Any]] = []
    moment = _CATEGORIES_CREATED

    def add(name: str, slug: str, description: str, parent_id: ObjectId | None) -> ObjectId:
        nonlocal counter, moment
        moment += timedelta(minutes=rng.randint(1, 90), milliseconds=rng.randint(0, 999))
        counter += 1
        category_id = _object_id(moment, machine, counter)
        documents.append(
            {
                "_id": category_id,
                "name": name,
                "slug": slug,
                "description": html.escape(description, quote=False),
                "image": {
                    "url": f"https://picsum.photos/seed/{slug}/600/400",
                    "alt": name,
                    "width": 600,
                    "height": 400,
                    "public_id": None,
                },
                "parent_id": parent_id,
                "created_at": moment,
                "updated_at": moment,
            }
        )
        return category_id

    for top in _CATALOG:
        top_slug = _slugify(top.name)
        top_id = add(top.name, top_slug, top.description, None)
        for sub in top.subs:
            description = (
                f"Browse {sub.name.lower()} from {top.brands[0]}, {top.brands[1]} "
                "and other trusted brands."
            )
            add(sub.name, f"{top_slug}-{_slugify(sub.name)}", description, top_id)
    return documents


@dataclass(frozen=True)
class _SubPick:
    top: _Top
    sub: _Sub
    category_id: ObjectId
    subcategory_id: ObjectId


def _resolve_categories(categories: list[dict[str, Any]]) -> list[_SubPick]:
    """Pair each known subcategory document with its vocabulary and its parent's id."""
    by_slug = {doc["slug"]: doc for doc in categories}
    picks: list[_SubPick] = []
    for top in _CATALOG:
        top_slug = _slugify(top.name)
        top_doc = by_slug.get(top_slug)
        if top_doc is None or top_doc.get("parent_id") is not None:
            continue
        for sub in top.subs:
            sub_doc = by_slug.get(f"{top_slug}-{_slugify(sub.name)}")
            if sub_doc is not None and sub_doc.get("parent_id") == top_doc["_id"]:
                picks.append(_SubPick(top, sub, top_doc["_id"], sub_doc["_id"]))
    if not picks:
        raise ValueError("categories contain none of the demo subcategories")
    return picks


def _charm_price(rng: random.Random, sub: _Sub, inr_per_unit: float, exponent: int) -> int:
    """A price in minor units inside the subcategory's range, ending in 9s like shop prices."""
    low, high = math.log(sub.price[0]), math.log(sub.price[1])
    # Log scale, skewed towards the cheaper end of the range as real assortments are.
    amount = math.exp(rng.triangular(low, high, low + 0.3 * (high - low))) / inr_per_unit
    unit = 10**exponent
    if amount >= 1000:
        return (max(round(amount / 100), 1) * 100 - 1) * unit
    if amount >= 100:
        return (round(amount / 50) * 50 - 1) * unit
    if amount >= 10:
        return (round(amount / 10) * 10 - 1) * unit
    if exponent == 0:
        return max(round(amount), 1)
    return int(amount) * unit + unit - 1


def _describe(rng: random.Random, pick: _SubPick, brand: str, short: str) -> str:
    f1, f2, f3 = rng.sample(pick.sub.features, 3)
    leads = _TITLED_LEAD_SENTENCES if pick.top.titled else _LEAD_SENTENCES
    values = {"short": short, "item": pick.sub.item, "brand": brand, "f1": f1, "f2": f2, "f3": f3}
    sentences = [rng.choice(leads).format(**values)]
    count = rng.choice((1, 2, 2, 3, 3, 3))
    if count >= 2:
        sentences.append(rng.choice(_SECOND_SENTENCES).format(**values))
    if count == 3:
        sentences.append(rng.choice(pick.top.closers).format(brand=brand))
    return " ".join(sentences)


def _rating(rng: random.Random) -> tuple[float, int]:
    """(average, count): about 5% unrated; averages skew high like real shops' ratings."""
    if rng.random() < 0.05:
        return 0.0, 0
    count = min(int(math.exp(rng.uniform(0.0, math.log(5001.0)))), 5000)
    average = round(1.0 + 4.0 * rng.betavariate(5.0, 1.6), 1)
    return min(max(average, 1.0), 5.0), count


def generate_products(
    count: int, categories: list[dict[str, Any]], *, seed: int, currency: str
) -> Iterator[dict[str, Any]]:
    """Lazily yield `count` demo products as raw MongoDB documents, deterministic in `seed`.

    `categories` are the documents from `generate_categories`; each product gets a top-level
    `category_id` and a `subcategory_id` under it. Prices are integer minor units of `currency`
    and `final_price` comes from `documents.money.final_price`. Ids and slugs are unique.
    """
    if count < 0 or count > _MAX_PRODUCTS:
        raise ValueError(f"count must be between 0 and {_MAX_PRODUCTS}")
    if re.fullmatch(r"[A-Z]{3}", currency) is None:
        raise ValueError("currency must be a three-letter ISO 4217 code")
    picks = _resolve_categories(categories)
    return _products(count, picks, seed, currency, {_machine_bytes(c["_id"]) for c in categories})


def _products(
    count: int, picks: list[_SubPick], seed: int, currency: str, taken_machines: set[bytes]
) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"demo-catalog:{seed}:products")
    machine = rng.getrandbits(40)
    while machine.to_bytes(5, "big") in taken_machines:  # keep ids apart from the categories'
        machine = rng.getrandbits(40)
    counter = rng.getrandbits(24)
    exponent = minor_unit_exponent(currency)
    inr_per_unit = _INR_PER_UNIT.get(currency, 1.0)
    cum_weights = list(itertools.accumulate(p.top.weight for p in picks))
    seen_slugs: set[str] = set()

    for _ in range(count):
        pick = rng.choices(picks, cum_weights=cum_weights)[0]
        top, sub = pick.top, pick.sub
        brand = rng.choice(top.brands)
        short = top.name_format.format(
            brand=brand, model=rng.choice(sub.models), noun=rng.choice(sub.nouns)
        )
        name = short
        if top.titled or rng.random() < 0.7:
            name += top.variant_format.format(variant=rng.choice(sub.variants))

        created_at = BASE_DATE - timedelta(
            milliseconds=int(_PRODUCT_SPAN_MS * rng.random() ** 1.25) + 1
        )
        counter += 1
        product_id = _object_id(created_at, machine, counter)
        slug = _slugify(name)
        if slug in seen_slugs:
            slug = f"{slug}-{str(product_id)[-6:]}"
            if slug in seen_slugs:
                slug = f"{_slugify(name)}-{product_id}"
        seen_slugs.add(slug)

        if rng.random() < 0.3:
            updated_at = created_at
        else:
            remaining_ms = (BASE_DATE - created_at) // timedelta(milliseconds=1)
            updated_at = created_at + timedelta(
                milliseconds=rng.randint(0, min(remaining_ms, 180 * 24 * 3600 * 1000))
            )

        price = _charm_price(rng, sub, inr_per_unit, exponent)
        discount = rng.choice(_DISCOUNTS)
        stock = 0 if rng.random() < 0.08 else min(int(rng.triangular(1, 501, 40)), 500)
        rating_average, rating_count = _rating(rng)
        description = _describe(rng, pick, brand, short)
        images = [
            {
                "url": f"https://picsum.photos/seed/{slug}-{n}/800/800",
                "alt": f"{name}, {_IMAGE_VIEWS[n - 1]}",
                "width": 800,
                "height": 800,
                "public_id": None,
            }
            for n in range(1, rng.randint(1, 4) + 1)
        ]
        yield {
            "_id": product_id,
            "name": name,
            "slug": slug,
            "description": html.escape(description, quote=False),
            "brand": brand,
            "price": price,
            "currency": currency,
            "discount_percent": discount,
            "final_price": final_price(price, discount),
            "stock": stock,
            "category_id": pick.category_id,
            "subcategory_id": pick.subcategory_id,
            "images": images,
            "rating_average": rating_average,
            "rating_count": rating_count,
            "published": rng.random() >= 0.03,
            "archived_at": None,
            "created_at": created_at,
            "updated_at": updated_at,
        }


def _take(documents: Iterator[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    return list(itertools.islice(documents, size))


async def _insert(
    collection: AsyncCollection[dict[str, Any]],
    batch: list[dict[str, Any]],
    in_flight: asyncio.Semaphore,
    inserted: list[int],
) -> None:
    try:
        result = await collection.insert_many(batch, ordered=False)
        inserted.append(len(result.inserted_ids))
    finally:
        in_flight.release()


async def load_demo_catalog(
    products: int, *, seed: int = 2024, currency: str = "INR", batch_size: int = 5000
) -> DemoCatalogSummary:
    """Insert the demo categories and `products` demo products; return what was written.

    Assumes `init_beanie` has run for `Category` and `Product` and that both collections are
    empty (nothing is dropped; duplicate slugs would fail). Products are generated lazily in a
    worker thread while up to three `insert_many(ordered=False)` batches are in flight, so
    memory stays flat and generation overlaps with the server's writes.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    categories = generate_categories(seed)
    documents = generate_products(products, categories, seed=seed, currency=currency)
    await Category.get_pymongo_collection().insert_many(categories, ordered=False)

    collection: AsyncCollection[dict[str, Any]] = Product.get_pymongo_collection()
    in_flight = asyncio.Semaphore(_MAX_INSERTS_IN_FLIGHT)
    inserted: list[int] = []
    async with asyncio.TaskGroup() as group:
        while batch := await asyncio.to_thread(_take, documents, batch_size):
            await in_flight.acquire()
            group.create_task(_insert(collection, batch, in_flight, inserted))

    top_level = sum(1 for c in categories if c["parent_id"] is None)
    return DemoCatalogSummary(
        categories=top_level,
        subcategories=len(categories) - top_level,
        products=sum(inserted),
        seconds=time.perf_counter() - started,
    )
