"""The words the demo catalog is made of: categories, subcategories, brands, names, sentences.

Data rather than logic, kept apart from the generator in `demo_catalog.py`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sub:
    """Vocabulary of one subcategory. Prices are in rupees."""

    name: str
    item: str  # what one product is called in a sentence ("pair of headphones")
    price: tuple[int, int]
    models: tuple[str, ...]
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    features: tuple[str, ...]


@dataclass(frozen=True)
class Top:
    """A top-level category: its brands, how common its products are, and its subcategories."""

    name: str
    description: str
    weight: int
    brands: tuple[str, ...]
    closers: tuple[str, ...]
    subs: tuple[Sub, ...]
    name_format: str = "{brand} {model} {noun}"
    variant_format: str = " - {variant}"
    titled: bool = False  # product names are titles (books): descriptions don't repeat the name


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


# The vocabulary table is laid out by hand for reading; keep the formatter out of it.
# fmt: off
CATALOG: tuple[Top, ...] = (
    Top(
        "Electronics", "Phones, laptops, audio and gadgets for work and play.", 14,
        words("Aurora|Voltik|Zentrix|Novabeam|Kestrel|Orbitek"),
        words("Backed by a 1-year {brand} warranty.|Ships with a USB-C cable and a quick-start guide."
           "|Eligible for free doorstep service during the warranty period."),
        (
            Sub("Mobiles", "smartphone", (8999, 149999),
                 words("Nova 5G|X12 Pro|Pulse 9|Edge 14|Zen 7 Lite|Titan Max|Neo 11|Vista S3"),
                 words("Smartphone|5G Smartphone"),
                 words("Midnight Black, 128 GB|Ocean Blue, 128 GB|Frost White, 256 GB"
                    "|Graphite, 256 GB|Sage Green, 512 GB"),
                 words("a 6.7-inch AMOLED display with a 120 Hz refresh rate"
                    "|a 50 MP triple camera with optical stabilisation"
                    "|a 5000 mAh battery with 67 W fast charging"
                    "|an octa-core processor tuned for gaming|stereo speakers with spatial audio"
                    "|an IP68 dust- and water-resistant body"
                    "|a slim glass back with a matte finish")),
            Sub("Laptops", "laptop", (24999, 249999),
                 words("AirBook 14|ProBook X15|Zenith 16|Slate 13|Vector G5|Horizon 14 OLED"
                    "|Forge 15|Lumen 13"),
                 words("Laptop|Thin and Light Laptop|Gaming Laptop|2-in-1 Laptop"),
                 words("Core i5, 16 GB, 512 GB SSD|Core i7, 16 GB, 1 TB SSD|Ryzen 5, 8 GB, 512 GB SSD"
                    "|Ryzen 7, 16 GB, 1 TB SSD|Core i3, 8 GB, 256 GB SSD"),
                 words("a 14-inch 2.8K display with full sRGB coverage|up to 12 hours of battery life"
                    "|a backlit keyboard and a glass touchpad|a full-metal body under 1.4 kg"
                    "|Wi-Fi 6E and two USB4 ports|a 1080p webcam with a privacy shutter"
                    "|a vapour-chamber cooling system")),
            Sub("Headphones", "pair of headphones", (799, 34999),
                 words("X5|Pulse|Air 3|Studio Pro|Bass Boost|Quiet Max|Sonic 2|Drift"),
                 words("Wireless Headphones|Noise Cancelling Headphones|True Wireless Earbuds"
                    "|Over-Ear Headphones|Neckband Earphones"),
                 words("Midnight Black|Pearl White|Navy Blue|Olive Green|Rose Pink"),
                 words("active noise cancellation up to 40 dB|up to 50 hours of playback"
                    "|40 mm dynamic drivers with deep bass|Bluetooth 5.3 with multipoint pairing"
                    "|soft memory-foam ear cushions|a low-latency gaming mode"
                    "|a quick charge that gives 5 hours of music in 10 minutes")),
            Sub("Cameras", "camera", (4999, 249999),
                 words("Vista M50|Focus Z7|Optix R3|Snap 20|Prime X100|Trekcam 4K"),
                 words("Mirrorless Camera|DSLR Camera|Action Camera|Instant Camera"),
                 words("Body Only|with 18-55 mm Lens|with 24-105 mm Lens|Vlogging Kit|Black"),
                 words("a 24.2 MP APS-C sensor|4K video at 60 fps|in-body five-axis stabilisation"
                    "|fast hybrid autofocus with eye tracking|a vari-angle touchscreen"
                    "|a weather-sealed magnesium body|dual SD card slots")),
            Sub("Smartwatches", "smartwatch", (1499, 44999),
                 words("Fit 3|Pulse Pro|Orbit S|Active 2|Luxe|Vita GT"),
                 words("Smartwatch|Fitness Band|GPS Smartwatch"),
                 words("Black Silicone Strap|Silver Mesh Strap|Blue Sport Strap|Rose Gold"
                    "|Brown Leather Strap"),
                 words("a 1.43-inch always-on AMOLED display|heart-rate and SpO2 monitoring"
                    "|built-in GPS for runs and rides|Bluetooth calling"
                    "|up to 10 days of battery life|more than 100 sports modes"
                    "|5 ATM water resistance")),
        ),
    ),
    Top(
        "Fashion", "Clothing, footwear, bags and watches for every day and every occasion.", 14,
        words("Threadline|Urban Loom|Maison Vela|Rangrez & Co|Kashvi"),
        words("Easy 30-day returns and exchanges.|Machine washable; see the care label for details."
           "|Check the size chart before ordering for the best fit."),
        (
            Sub("Men's Clothing", "garment", (399, 7999),
                 words("Slim Fit|Regular Fit|Relaxed|Classic|Everyday|Heritage"),
                 words("Cotton Shirt|Linen Shirt|Polo T-Shirt|Chinos|Denim Jeans|Kurta"
                    "|Hooded Sweatshirt|Bomber Jacket"),
                 words("Navy, M|White, L|Olive, XL|Charcoal, M|Sky Blue, S|Black, L"),
                 words("breathable 100% cotton fabric|a tailored slim silhouette"
                    "|reinforced double-stitched seams|a soft enzyme-washed finish"
                    "|colour-fast dyes that don't fade|stretch fabric for all-day comfort")),
            Sub("Women's Clothing", "garment", (499, 12999),
                 words("Floral|A-Line|Flared|Everyday|Festive|Relaxed Fit|Printed"),
                 words("Kurta Set|Maxi Dress|Anarkali Kurta|Wrap Top|Palazzo Pants|Saree"
                    "|Denim Jacket"),
                 words("Maroon, M|Mustard, S|Teal, L|Ivory, M|Black, XL|Blush Pink, S"),
                 words("lightweight rayon that drapes beautifully|hand-block printed motifs"
                    "|a flattering waist tie|pockets on both sides|a breathable cotton lining"
                    "|fine thread-work embroidery")),
            Sub("Footwear", "pair of shoes", (499, 14999),
                 words("Cloud Walk|Street|Trail|Classic|Aero|Flex Run"),
                 words("Running Shoes|Sneakers|Loafers|Sandals|Chelsea Boots|Slip-Ons"),
                 words("UK 6|UK 7|UK 8|UK 9|UK 10"),
                 words("a cushioned EVA midsole|a breathable knit upper"
                    "|a slip-resistant rubber outsole|a padded collar and tongue"
                    "|genuine leather uppers|a removable memory-foam insole")),
            Sub("Bags & Luggage", "bag", (599, 19999),
                 words("Voyager|Metro|Nomad|Cabin Pro|Daypack|Heritage"),
                 words("Backpack|Trolley Bag|Duffel Bag|Laptop Bag|Tote Bag|Sling Bag"),
                 words("Black|Navy|Tan|Grey|Olive"),
                 words("water-resistant polyester fabric|a padded 15.6-inch laptop sleeve"
                    "|360-degree spinner wheels|a built-in combination lock"
                    "|heavy-duty metal zippers|an anti-theft back pocket")),
            Sub("Watches", "watch", (999, 39999),
                 words("Chrono|Minimal|Heritage|Aviator|Diver|Classic"),
                 words("Analog Watch|Chronograph Watch|Automatic Watch|Dress Watch"),
                 words("Black Dial, Leather Strap|Blue Dial, Steel Bracelet|White Dial, Mesh Strap"
                    "|Green Dial, Steel Bracelet|Rose Gold"),
                 words("scratch-resistant mineral glass|a Japanese quartz movement"
                    "|water resistance to 50 m|a stainless steel case"
                    "|luminous hands for low light|a quick-release strap")),
        ),
    ),
    Top(
        "Home & Kitchen", "Cookware, appliances, decor and everything that makes a home.", 10,
        words("Hearthwell|Copperleaf|Casa Nila|Kitchora|Brightnest"),
        words("Comes with a 1-year replacement warranty.|Carefully packed to arrive in perfect shape."
           "|Easy to clean and built for daily use."),
        (
            Sub("Cookware", "cookware piece", (349, 12999),
                 words("Tri-Ply|Non-Stick|Cast Iron|Hard Anodised|Granite|Classic Steel"),
                 words("Kadai|Fry Pan|Pressure Cooker|Tawa|Cookware Set|Saucepan"),
                 words("24 cm|28 cm|3 L|5 L|3-Piece Set"),
                 words("an induction-ready base|a PFOA-free non-stick coating"
                    "|stay-cool riveted handles|even heat distribution|a tempered glass lid"
                    "|a food-grade stainless steel interior")),
            Sub("Kitchen Appliances", "appliance", (999, 49999),
                 words("Turbo|Smart|Pro 750|Compact|Digital|Classic"),
                 words("Mixer Grinder|Air Fryer|Electric Kettle|Induction Cooktop|Microwave Oven"
                    "|Toaster"),
                 words("Black|Silver|White|Red"),
                 words("a powerful 750 W motor|one-touch presets for everyday cooking"
                    "|auto shut-off for safety|a cool-touch exterior"
                    "|stainless steel jars and blades|a 2-year motor warranty")),
            Sub("Home Decor", "decor piece", (249, 9999),
                 words("Boho|Handcrafted|Minimal|Vintage|Terracotta|Brass"),
                 words("Wall Clock|Table Lamp|Vase|Photo Frame Set|Wall Art|Scented Candle Set"),
                 words("Set of 2|Large|Small|Gold|Natural"),
                 words("handcrafted by artisans from Jaipur|a matte ceramic finish"
                    "|solid sheesham wood|an antique brass patina|a warm ambient glow"
                    "|ready-to-hang fittings")),
            Sub("Bedding", "bedding set", (499, 9999),
                 words("Percale|Sateen|Organic Cotton|Floral|Jaipuri|Microfibre"),
                 words("Double Bedsheet Set|King Bedsheet Set|Comforter|Pillow Pair|Quilt|Blanket"),
                 words("Indigo|Ivory|Sage|Grey|Coral"),
                 words("300 thread count cotton|a soft, breathable weave"
                    "|fade-resistant reactive prints|two matching pillow covers"
                    "|hypoallergenic fill|an elasticated fitted sheet")),
            Sub("Storage", "storage piece", (199, 5999),
                 words("Stackable|Modular|Airtight|Foldable|Classic"),
                 words("Storage Box Set|Container Set|Shoe Rack|Closet Organiser|Kitchen Rack"),
                 words("Set of 3|Set of 6|Large|Medium|Transparent"),
                 words("BPA-free food-grade plastic|airtight locking lids"
                    "|rust-proof powder-coated steel|a space-saving stackable design"
                    "|easy tool-free assembly|see-through panels")),
        ),
    ),
    Top(
        "Beauty", "Skincare, makeup, haircare and fragrances for every routine.", 7,
        words("Lumiere Botanics|Velvetine|Saffra|Dewdrop Lab|Ayana Naturals"),
        words("Dermatologically tested and cruelty-free.|Free from parabens and sulphates."
           "|Do a patch test before first use."),
        (
            Sub("Skincare", "skincare product", (199, 2999),
                 words("Vitamin C|Hyaluronic|Niacinamide|Ceramide|Retinol|Aloe"),
                 words("Face Serum|Moisturiser|Face Wash|Sunscreen SPF 50|Night Cream|Toner"),
                 words("30 ml|50 ml|100 ml|Pack of 2"),
                 words("a lightweight, non-greasy texture|10% niacinamide to refine pores"
                    "|broad-spectrum UVA and UVB protection"
                    "|ceramides that strengthen the skin barrier|a gentle, fragrance-free formula"
                    "|a visible glow in four weeks")),
            Sub("Makeup", "makeup product", (149, 2499),
                 words("Matte|Velvet|Long-Stay|HD|Dewy|Satin"),
                 words("Liquid Lipstick|Kajal|Foundation|Compact Powder|Mascara|Eyeshadow Palette"),
                 words("Nude Rose|Brick Red|Deep Plum|Warm Beige|Jet Black|Honey"),
                 words("up to 16 hours of wear|a smudge-proof, transfer-proof finish"
                    "|rich, buildable colour|vitamin E for nourishment|a creamy glide-on texture"
                    "|a shade range made for Indian skin tones")),
            Sub("Haircare", "haircare product", (149, 2499),
                 words("Onion|Argan|Keratin|Bhringraj|Tea Tree|Coconut"),
                 words("Shampoo|Conditioner|Hair Oil|Hair Mask|Hair Serum"),
                 words("100 ml|200 ml|400 ml|Pack of 2"),
                 words("cold-pressed botanical oils|visibly less hair fall in eight weeks"
                    "|a sulphate-free cleansing base|deep conditioning for frizzy hair"
                    "|a light, non-sticky feel|a fresh herbal fragrance")),
            Sub("Fragrances", "fragrance", (299, 7999),
                 words("Oud|Citrus|Musk|Amber|Blue|Sandalwood"),
                 words("Eau de Parfum|Body Mist|Perfume|Deodorant Spray|Attar"),
                 words("50 ml|100 ml|150 ml|Gift Set"),
                 words("long-lasting notes for up to 8 hours|top notes of bergamot and pink pepper"
                    "|a warm sandalwood base|an alcohol-free formula"
                    "|an elegant travel-friendly bottle|small-batch blending")),
        ),
    ),
    Top(
        "Sports & Outdoors", "Gear for fitness, cycling, camping, yoga and team sports.", 7,
        words("Peakform|Trailmark|Kinetiq|Rallyon|Summit Forge"),
        words("Tested for durability by amateur and pro athletes."
           "|Covered by a 6-month manufacturing warranty."
           "|Suitable for beginners and regular users alike."),
        (
            Sub("Fitness Equipment", "piece of fitness gear", (299, 59999),
                 words("Pro|Home Gym|Compact|Elite|Core|Power"),
                 words("Adjustable Dumbbell Set|Treadmill|Exercise Bike|Kettlebell"
                    "|Resistance Band Set|Workout Bench"),
                 words("5 kg|10 kg|20 kg|Standard|Heavy Duty"),
                 words("a non-slip ergonomic grip|a sturdy steel frame|quiet magnetic resistance"
                    "|compact foldable storage|a digital display for time and calories"
                    "|free guided workout videos")),
            Sub("Cycling", "cycling product", (499, 49999),
                 words("Roadster|Trail 26|Urban|Sprint|Mountain Pro|Cruiser"),
                 words("Mountain Bike|City Bike|Cycling Helmet|Bike Light Set|Cycling Gloves"),
                 words("Matte Black|Red|Blue|Medium|Large"),
                 words("a lightweight alloy frame|21-speed gearing|front suspension forks"
                    "|dual disc brakes|a USB-rechargeable LED|a ventilated in-mould shell"
                    "|padded gel palms")),
            Sub("Camping & Hiking", "piece of outdoor gear", (299, 24999),
                 words("Trekker|Alpine|Base Camp|Nomad|Ridge|Explorer"),
                 words("Camping Tent|Trekking Backpack|Sleeping Bag|Hiking Shoes|Camping Lantern"
                    "|Trekking Pole"),
                 words("2-Person|4-Person|45 L|60 L|Olive|Orange"),
                 words("a waterproof rainfly with taped seams|a ventilated back panel"
                    "|comfort down to 5 degrees|a lightweight pack-down design"
                    "|a rechargeable 300-lumen light|aluminium twist-lock shafts")),
            Sub("Team Sports", "piece of sports gear", (299, 14999),
                 words("Match|Pro Grip|Training|Club|Tournament|Power Hit"),
                 words("Cricket Bat|Football|Badminton Racket|Basketball|Cricket Kit|Volleyball"),
                 words("Size 5|Size 7|Full Size|Junior|English Willow|Kashmir Willow"),
                 words("hand-stitched match-grade construction|an isometric head frame"
                    "|a thick, well-pressed blade|a durable rubber bladder"
                    "|a cushioned anti-slip grip|a full-size carry cover")),
            Sub("Yoga", "yoga accessory", (199, 4999),
                 words("Eco|Pro Grip|Travel|Cushioned|Classic"),
                 words("Yoga Mat|Yoga Block Set|Yoga Strap|Meditation Cushion|Yoga Wheel"),
                 words("4 mm|6 mm|8 mm|Purple|Teal"),
                 words("natural rubber with an anti-slip texture|high-density TPE foam"
                    "|a moisture-resistant surface|alignment lines for posture"
                    "|a carrying strap|a sweat-proof, easy-wipe finish")),
        ),
    ),
    Top(
        "Books", "Fiction, non-fiction, children's books and textbooks.", 6,
        words("Inkwell Press|Banyan House|Peacock Quill|Lantern Books"),
        words("Printed on acid-free paper.|One of our readers' favourites this year."
           "|Also makes a thoughtful gift."),
        (
            Sub("Fiction", "novel", (199, 999),
                 words("The Silent|The Last|Beyond the|Whispers of the|The Hidden|Echoes of the"
                    "|A Season of|The Glass|Daughters of the|The Forgotten"),
                 words("River|Orchard|Monsoon|Lighthouse|Kingdom|Garden|Horizon|City|Empire|Tide"),
                 words("Paperback|Hardcover|Paperback|Collector's Edition"),
                 words("a gripping story told across three generations"
                    "|vivid characters and sharp dialogue"
                    "|an unforgettable twist in the final chapters"
                    "|lyrical prose and a richly drawn setting|a tense, slow-burning mystery"
                    "|themes of family, loss and belonging")),
            Sub("Non-Fiction", "book", (249, 1499),
                 words("The Art of|A Short History of|The Science of|Mastering|Rethinking"
                    "|The Little Book of|The Power of|Notes on"),
                 words("Habits|Money|Leadership|Sleep|Cities|Attention|Focus|Food|Memory|Work"),
                 words("Paperback|Hardcover|Paperback"),
                 words("research distilled into practical lessons|clear, jargon-free explanations"
                    "|stories from founders, scientists and historians"
                    "|exercises at the end of every chapter|fresh data and case studies"
                    "|a foreword by a leading economist")),
            Sub("Children's Books", "children's book", (99, 799),
                 words("The Brave Little|Where Is the|Hello,|The Curious|Ten Little|The Magic"),
                 words("Elephant|Tiger|Moon|Dragon|Rabbit|Peacock|Robot"),
                 words("Board Book|Paperback|Hardcover"),
                 words("bright, full-page illustrations|simple rhymes for early readers"
                    "|a gentle bedtime story|sturdy pages for small hands"
                    "|fun activities on every spread|a story about kindness and sharing")),
            Sub("Academic", "textbook", (299, 2999),
                 words("Principles of|Fundamentals of|Introduction to|Advanced|Essentials of"
                    "|Concepts in"),
                 words("Physics|Organic Chemistry|Economics|Data Structures|Accounting|Calculus"
                    "|Biology|Statistics"),
                 words("Paperback|Hardcover|2nd Edition|5th Edition"),
                 words("worked examples in every chapter|hundreds of practice problems with solutions"
                    "|a syllabus-aligned structure|clear diagrams and chapter summaries"
                    "|previous years' exam questions|online resources for instructors")),
        ),
        name_format="{model} {noun}",
        variant_format=" ({variant})",
        titled=True,
    ),
    Top(
        "Toys & Games", "Board games, puzzles, learning toys and remote-control fun.", 5,
        words("Tinkertown|Playnest|Brickwell|Zoomi"),
        words("Made from child-safe, non-toxic materials.|Recommended for ages 3 and up."
           "|Makes a perfect birthday gift."),
        (
            Sub("Board Games", "game", (299, 3999),
                 words("Family|Classic|Deluxe|Strategy|Party|Travel"),
                 words("Board Game|Card Game|Chess Set|Trivia Game|Word Game"),
                 words("2-4 Players|2-6 Players|Family Edition|Travel Edition"),
                 words("quick 30-minute rounds|easy rules for all ages|premium wooden pieces"
                    "|hundreds of question cards|a sturdy folding board"
                    "|plenty of replay value for game nights")),
            Sub("Puzzles", "puzzle", (199, 2499),
                 words("Landscape|Wildlife|World Map|Mandala|Vintage|3D"),
                 words("Jigsaw Puzzle|Puzzle Cube|Floor Puzzle|Brain Teaser Set"),
                 words("100 Pieces|500 Pieces|1000 Pieces|Set of 4"),
                 words("thick, precision-cut pieces|a glare-free linen finish"
                    "|a reference poster in the box|vibrant artwork by Indian illustrators"
                    "|a smooth, fast-turning mechanism|hours of screen-free fun")),
            Sub("Action Figures", "figure", (299, 4999),
                 words("Galaxy Ranger|Shadow Ninja|Dino Rex|Cyber Knight|Star Pilot|Jungle Hero"),
                 words("Action Figure|Figure Set|Collectible Figure|Playset"),
                 words("6 Inch|12 Inch|Set of 3|Deluxe"),
                 words("14 points of articulation|a detailed hand-painted finish"
                    "|swappable accessories|sturdy, drop-tested plastic|a display stand"
                    "|light and sound effects")),
            Sub("Educational Toys", "learning toy", (199, 5999),
                 words("STEM|Junior|Smart|Creative|Wooden|Explorer"),
                 words("Building Blocks|Science Kit|Robotics Kit|Alphabet Puzzle|Abacus"
                    "|Coding Robot"),
                 words("Ages 3+|Ages 5+|Ages 8+|120 Pieces|250 Pieces"),
                 words("hands-on experiments with a guide|bright, chunky pieces for little hands"
                    "|screen-free coding challenges|sustainably sourced wood"
                    "|fine motor skill development|an illustrated activity booklet")),
            Sub("Remote Control Toys", "remote-control toy", (599, 9999),
                 words("Turbo|Storm|Rock Crawler|Falcon|Sky Hawk|Thunder"),
                 words("RC Car|RC Drone|RC Helicopter|RC Boat|Stunt Car"),
                 words("Red|Blue|Green|1:16 Scale|1:24 Scale"),
                 words("2.4 GHz interference-free control|a rechargeable battery with USB charging"
                    "|360-degree stunt flips|shock-absorbing suspension"
                    "|one-key take-off and landing|up to 20 minutes of play per charge")),
        ),
    ),
    Top(
        "Grocery", "Pantry staples, snacks, beverages and breakfast essentials.", 8,
        words("Desi Pantry|Green Acre Farms|Morning Mill|Tastebud Co|Spice Route Kitchen"),
        words("Store in a cool, dry place.|Best before 9 months from packaging."
           "|Packed in a hygienic, food-safe facility."),
        (
            Sub("Snacks", "snack", (49, 999),
                 words("Roasted|Salted|Masala|Peri Peri|Honey|Classic"),
                 words("Almonds|Cashews|Makhana|Trail Mix|Banana Chips|Peanuts"),
                 words("200 g|500 g|1 kg|Pack of 4"),
                 words("slow roasting in small batches|no added preservatives"
                    "|a crunchy, wholesome bite|hand-picked premium kernels"
                    "|just the right amount of spice|resealable zip-lock packaging")),
            Sub("Beverages", "beverage", (99, 1999),
                 words("Premium|Classic|Gold|Masala|Organic|Estate"),
                 words("Assam Tea|Darjeeling Tea|Green Tea|Filter Coffee|Instant Coffee"
                    "|Herbal Infusion"),
                 words("250 g|500 g|1 kg|100 Bags"),
                 words("single-estate leaves|a rich, full-bodied aroma|freshly roasted beans"
                    "|a bright, brisk cup|ethical sourcing from small growers"
                    "|a smooth, balanced finish")),
            Sub("Staples", "pantry staple", (59, 2499),
                 words("Organic|Premium|Everyday|Classic|Farm Fresh"),
                 words("Basmati Rice|Whole Wheat Atta|Toor Dal|Poha|Jaggery Powder|Rock Salt"),
                 words("500 g|1 kg|5 kg|10 kg"),
                 words("direct sourcing from partner farms|naturally aged grains"
                    "|an unpolished, nutrient-rich grain|stone-ground softness"
                    "|no artificial colours|lab testing for purity")),
            Sub("Breakfast & Spreads", "breakfast staple", (99, 1499),
                 words("Crunchy|Classic|Organic|Honey|Multigrain|No Added Sugar"),
                 words("Muesli|Peanut Butter|Rolled Oats|Granola|Mixed Fruit Jam|Corn Flakes"),
                 words("400 g|750 g|1 kg|Pack of 2"),
                 words("whole grains for lasting energy|real fruit and nut pieces"
                    "|plenty of protein and fibre|no palm oil|a delicious crunch in every spoon"
                    "|a ready-in-three-minutes recipe")),
        ),
        variant_format=", {variant}",
    ),
    Top(
        "Furniture", "Sofas, beds, tables, chairs and wardrobes for every room.", 5,
        words("Teakwood Studio|Loftcraft|Nestaura|Oakhaven"),
        words("Free installation by our trained team.|Ships flat-packed with an assembly guide."
           "|Backed by a 3-year warranty against manufacturing defects."),
        (
            Sub("Sofas", "sofa", (14999, 149999),
                 words("Chesterfield|Lounge|Mid-Century|Modular|Recliner|Scandi"),
                 words("3-Seater Sofa|L-Shaped Sofa|Sofa Cum Bed|2-Seater Sofa|Recliner Sofa"),
                 words("Grey Fabric|Teal Velvet|Beige Linen|Tan Leatherette|Navy Fabric"),
                 words("a solid hardwood frame|high-resilience foam cushions"
                    "|removable, washable covers|no-sag pocket springs"
                    "|stain-resistant upholstery|tapered solid wood legs")),
            Sub("Beds", "bed", (9999, 99999),
                 words("Platform|Hydraulic Storage|Upholstered|Sheesham|Classic|Minimal"),
                 words("Queen Bed|King Bed|Single Bed|Bunk Bed"),
                 words("Walnut Finish|Honey Finish|Grey|White|Teak Finish"),
                 words("solid sheesham wood construction|hydraulic under-bed storage"
                    "|a padded upholstered headboard|a termite-resistant finish"
                    "|a slatted base for airflow|support for up to 400 kg")),
            Sub("Tables", "table", (1999, 69999),
                 words("Sheesham|Industrial|Marble Top|Nesting|Foldable|Scandi"),
                 words("Coffee Table|Dining Table Set|Study Table|Console Table|Side Table"),
                 words("4-Seater|6-Seater|Walnut|Natural|Black"),
                 words("a scratch-resistant laminate top|a powder-coated steel base"
                    "|solid wood with a natural grain|built-in drawer storage"
                    "|rounded edges for safety|an easy 20-minute assembly")),
            Sub("Chairs", "chair", (1499, 34999),
                 words("Ergonomic|Mesh|Accent|Rocking|Executive|Scandi"),
                 words("Office Chair|Dining Chair Set|Lounge Chair|Gaming Chair|Study Chair"),
                 words("Black|Grey|Set of 2|Set of 4|Brown"),
                 words("adjustable lumbar support|a breathable mesh back|a class-4 gas lift"
                    "|360-degree swivel with smooth castors|a solid beech wood frame"
                    "|thick moulded foam seating")),
            Sub("Wardrobes", "wardrobe", (7999, 79999),
                 words("Sliding Door|Mirror|Classic|Modular|Engineered Wood"),
                 words("2-Door Wardrobe|3-Door Wardrobe|4-Door Wardrobe|Kids Wardrobe"),
                 words("Wenge|White|Walnut|Frosty White|Oak"),
                 words("a full-length mirror|soft-close hinges"
                    "|adjustable shelves and a hanging rail|a lockable drawer"
                    "|moisture-resistant engineered wood|anti-toppling wall fixtures")),
        ),
    ),
    Top(
        "Automotive", "Accessories, care products and riding gear for cars and bikes.", 4,
        words("Roadvik|Gearmate|Torqline|Autoglo"),
        words("Check compatibility with your vehicle before ordering.|Comes with a 6-month warranty."
           "|Easy DIY installation in minutes."),
        (
            Sub("Car Accessories", "car accessory", (199, 14999),
                 words("Pro|Smart|Universal|Premium|Compact"),
                 words("Dash Camera|Car Phone Holder|Tyre Inflator|Seat Cover Set"
                    "|Car Vacuum Cleaner|Car Charger"),
                 words("Black|Beige|Grey|Tan"),
                 words("a 1080p wide-angle lens with night vision|a strong magnetic mount"
                    "|a digital pressure gauge with auto cut-off|breathable premium leatherette"
                    "|powerful 120 W suction|dual fast-charging ports")),
            Sub("Bike Accessories", "bike accessory", (149, 4999),
                 words("Rider|Touring|Urban|Sport|Pro"),
                 words("Bike Cover|Riding Gloves|Tank Bag|Mobile Holder|Saddle Bag"),
                 words("Black|Red|Medium|Large|Universal"),
                 words("waterproof, UV-resistant fabric|an anti-slip, vibration-damping grip"
                    "|knuckle protection|a magnetic base|reflective strips for night rides"
                    "|quick-release mounting")),
            Sub("Car Care", "car care product", (149, 7999),
                 words("Ceramic|Waterless|Foam|Premium|Quick"),
                 words("Car Wash Shampoo|Car Polish|Microfibre Cloth Set|Pressure Washer|Tyre Shine"),
                 words("500 ml|1 L|Pack of 3|Set of 6"),
                 words("a pH-neutral formula that is safe on paint|a long-lasting showroom shine"
                    "|lint-free microfibre|UV protection for paint and trims"
                    "|a streak-free finish|1800 W high-pressure output")),
            Sub("Helmets", "helmet", (999, 14999),
                 words("Full Face|Open Face|Modular|Off-Road|Half Face"),
                 words("Helmet|Riding Helmet|Racing Helmet"),
                 words("Matte Black, M|Glossy White, L|Red, M|Blue, XL|Grey, L"),
                 words("ISI-certified protection|a scratch-resistant anti-fog visor"
                    "|a removable, washable liner|an aerodynamic ABS shell|multiple air vents"
                    "|a quick-release chin strap")),
        ),
    ),
    Top(
        "Health", "Supplements, health monitors, personal care and Ayurveda.", 6,
        words("Vitanova|Pulsecare|Medisure|Herbavia|Wellspring Labs"),
        words("Consult your doctor before use if you have a medical condition."
           "|Manufactured in a GMP-certified facility."
           "|Store below 25 degrees, away from direct sunlight."),
        (
            Sub("Vitamins & Supplements", "supplement", (199, 4999),
                 words("Daily|Advanced|Plant|Active|Essential|Max"),
                 words("Multivitamin Tablets|Whey Protein|Omega-3 Capsules|Vitamin D3 Drops"
                    "|Biotin Gummies|Plant Protein"),
                 words("Pack of 1|Pack of 2|Value Pack|Starter Pack"),
                 words("clinically studied ingredients|24 g of protein per serving"
                    "|no added sugar|easy-to-swallow capsules"
                    "|third-party testing for purity|a great-tasting chocolate flavour")),
            Sub("Health Monitors", "health device", (499, 9999),
                 words("Smart|Digital|Pro|Compact|Bluetooth"),
                 words("Blood Pressure Monitor|Pulse Oximeter|Glucometer|Digital Thermometer"
                    "|Weighing Scale|Nebuliser"),
                 words("Standard|With App|Travel Pack"),
                 words("clinically validated accuracy|a large backlit display"
                    "|app sync for tracking trends|memory for 120 readings"
                    "|one-button operation|a 2-year warranty")),
            Sub("Personal Care", "personal care device", (499, 6999),
                 words("Pro|Cordless|Sensitive|Gentle|Advanced"),
                 words("Electric Toothbrush|Beard Trimmer|Hair Dryer|Body Massager|Epilator"),
                 words("Black|White|Blue|Travel Kit"),
                 words("a long-lasting rechargeable battery|self-sharpening stainless steel blades"
                    "|multiple heat and speed settings|a waterproof design for wet use"
                    "|a travel lock and pouch|a 2-minute smart timer")),
            Sub("Ayurveda", "Ayurvedic product", (99, 1999),
                 words("Pure|Classic|Organic|Herbal|Traditional"),
                 words("Ashwagandha Capsules|Chyawanprash|Triphala Churna|Giloy Juice|Tulsi Drops"),
                 words("60 Capsules|500 g|1 kg|500 ml|30 ml"),
                 words("time-tested Ayurvedic recipes|sustainably harvested herbs"
                    "|no artificial colours or flavours|support for everyday immunity"
                    "|standardised herbal extracts|a traditional slow-cooked process")),
        ),
    ),
    Top(
        "Jewellery", "Necklaces, earrings, rings and bracelets in gold, silver and more.", 4,
        words("Swarna Rekha|Moonstone Atelier|Tara Jewels|Aurelia Fine"),
        words("Arrives in a gift-ready box with a certificate of authenticity."
           "|Hypoallergenic and nickel-free.|Includes a polishing cloth."),
        (
            Sub("Necklaces", "necklace", (499, 149999),
                 words("Kundan|Temple|Pearl|Solitaire|Layered|Polki"),
                 words("Necklace Set|Pendant Necklace|Choker|Mangalsutra|Chain"),
                 words("Gold Plated|Sterling Silver|18K Gold|Rose Gold Plated|Oxidised Silver"),
                 words("hand-set stones with a mirror polish|BIS-hallmarked gold"
                    "|an adjustable lobster clasp|lustrous freshwater pearls"
                    "|an anti-tarnish coating|traditional artisanal craftsmanship")),
            Sub("Earrings", "pair of earrings", (299, 49999),
                 words("Jhumka|Stud|Hoop|Chandbali|Drop|Solitaire"),
                 words("Earrings|Earring Set"),
                 words("Gold Plated|Sterling Silver|18K Gold|Rose Gold Plated|Oxidised Silver"),
                 words("lightweight comfort for all-day wear|secure push-back closures"
                    "|hand-set stones with a mirror polish|BIS-hallmarked gold"
                    "|an anti-tarnish coating|delicate filigree work")),
            Sub("Rings", "ring", (399, 99999),
                 words("Solitaire|Eternity|Cocktail|Band|Floral|Promise"),
                 words("Ring|Couple Rings|Statement Ring"),
                 words("Size 12|Size 14|Size 16|Adjustable|Rose Gold Plated"),
                 words("a brilliant-cut cubic zirconia|925 sterling silver|a comfort-fit inner band"
                    "|lab-grown diamonds|an elegant prong setting"
                    "|free resizing within 30 days")),
            Sub("Bracelets", "bracelet", (299, 59999),
                 words("Tennis|Charm|Kada|Cuff|Link|Evil Eye"),
                 words("Bracelet|Bangle Set|Anklet Pair"),
                 words("Gold Plated|Sterling Silver|Rose Gold Plated|Set of 2|Oxidised Silver"),
                 words("a secure box clasp|925 sterling silver|hand-set stones with a mirror polish"
                    "|an adjustable fit|an anti-tarnish coating|BIS-hallmarked gold")),
        ),
    ),
    Top(
        "Pet Supplies", "Food, toys, grooming and accessories for dogs and cats.", 4,
        words("Pawsome Co|Whiskerly|Tailwag|Barkley & Bean"),
        words("Vet-approved and safe for everyday use.|Loved by thousands of pet parents."
           "|Free from artificial colours."),
        (
            Sub("Dog Food & Treats", "dog food", (149, 7999),
                 words("Chicken & Rice|Lamb|Puppy|Adult|Grain-Free|Senior"),
                 words("Dry Dog Food|Dog Treats|Wet Dog Food|Dental Chews"),
                 words("400 g|1.2 kg|3 kg|10 kg|Pack of 12"),
                 words("real meat as the first ingredient|omega fatty acids for a shiny coat"
                    "|added calcium for strong bones|no artificial preservatives"
                    "|easy-to-digest proteins|a taste dogs love")),
            Sub("Cat Supplies", "cat product", (149, 5999),
                 words("Ocean Fish|Kitten|Indoor|Clumping|Tuna|Premium"),
                 words("Dry Cat Food|Cat Litter|Cat Treats|Scratching Post|Cat Bed"),
                 words("1 kg|3 kg|5 kg|10 L|Grey"),
                 words("high protein for active cats|low-dust, odour-locking granules"
                    "|taurine for heart and eye health|a sisal-wrapped scratching pole"
                    "|a plush, machine-washable cover|hairball control")),
            Sub("Pet Toys & Accessories", "pet accessory", (99, 4999),
                 words("Chew|Squeaky|Rope|Reflective|Comfort|Interactive"),
                 words("Dog Toy|Dog Leash|Pet Collar|Pet Harness|Pet Bowl Set|Cat Teaser Wand"),
                 words("Small|Medium|Large|Red|Blue"),
                 words("non-toxic, durable rubber|reflective stitching for night walks"
                    "|an adjustable quick-release buckle|a no-pull front clip"
                    "|anti-skid stainless steel bowls|hours of interactive play")),
            Sub("Pet Grooming", "grooming product", (149, 2999),
                 words("Gentle|Tick & Flea|Deshedding|Oatmeal|Anti-Itch"),
                 words("Pet Shampoo|Grooming Brush|Nail Clipper|Pet Wipes|Pet Conditioner"),
                 words("200 ml|500 ml|Pack of 2|Small|Large"),
                 words("a mild, tear-free formula|stainless steel pins that reduce shedding"
                    "|natural neem and aloe extracts|a safety guard against over-cutting"
                    "|a pH balanced for pets|a fresh, long-lasting fragrance")),
        ),
    ),
    Top(
        "Office & Stationery", "Notebooks, pens, art supplies and desk essentials.", 4,
        words("Papyra|Inkspire|Deskwise|Scribbly"),
        words("Perfect for school, office and home.|Made with responsibly sourced materials."
           "|Bulk pricing available for offices and schools."),
        (
            Sub("Notebooks & Diaries", "notebook", (99, 1999),
                 words("Hardbound|Spiral|Leather|Dotted|Executive|Kraft"),
                 words("Notebook|Diary|Planner|Journal|Sketchbook"),
                 words("A5|A4|B5|Pack of 3|Pack of 6"),
                 words("thick 100 GSM paper that resists bleed-through|lay-flat binding"
                    "|an elastic closure and a ribbon marker|a durable hardbound cover"
                    "|numbered pages with an index|acid-free, archival paper")),
            Sub("Writing Instruments", "writing instrument", (49, 4999),
                 words("Gel|Fountain|Ballpoint|Rollerball|Fineliner|Calligraphy"),
                 words("Pen|Pen Set|Pen Gift Set|Marker Set|Highlighter Set"),
                 words("Blue|Black|Pack of 5|Pack of 10|Assorted Colours"),
                 words("smooth, skip-free ink flow|a quick-drying, smudge-proof ink"
                    "|a comfortable rubber grip|refillable cartridges"
                    "|a metal body with gold-tone trims|vibrant, water-based colours")),
            Sub("Art Supplies", "art supply", (99, 4999),
                 words("Artist|Student|Professional|Pastel|Watercolour"),
                 words("Colour Pencil Set|Acrylic Paint Set|Brush Set|Canvas Board Pack"
                    "|Oil Pastels"),
                 words("12 Shades|24 Shades|48 Shades|Set of 5|Set of 10"),
                 words("richly pigmented, blendable colours|a non-toxic, child-safe formula"
                    "|soft synthetic bristles|a sturdy carry case"
                    "|lightfast, fade-resistant colours|primed cotton canvas")),
            Sub("Desk Organisers", "desk accessory", (149, 4999),
                 words("Bamboo|Metal Mesh|Wooden|Modular|Minimal"),
                 words("Desk Organiser|File Tray|Pen Stand|Monitor Riser|Document Holder"),
                 words("Black|White|Natural|Walnut|Set of 2"),
                 words("multiple compartments for everyday essentials|sustainably sourced bamboo"
                    "|a powder-coated steel frame|non-slip rubber feet"
                    "|an ergonomic monitor height|a clean, minimal look")),
        ),
    ),
)
# fmt: on

LEAD_SENTENCES = (
    "The {short} offers {f1} and {f2}.",
    "This {item} combines {f1} with {f2}.",
    "With {f1} and {f2}, the {short} is made for everyday use.",
    "{brand} built this {item} with {f1} and {f2}.",
)
TITLED_LEAD_SENTENCES = (
    "This {item} offers {f1} and {f2}.",
    "Expect {f1} and {f2} in this {item}.",
    "Published by {brand}, this {item} offers {f1} and {f2}.",
)
SECOND_SENTENCES = (
    "It also features {f3}.",
    "Highlights include {f3}.",
    "You also get {f3}.",
)
