"""Synthetic images for the demo corpus, drawn with Pillow.

Each scene class is a small procedural drawing: pills with imprints, serrated
cannabis-like leaves, white powder on a dark surface, purple syrup in a cup or
bottle, mushrooms, blotter sheets, ordinary scenes (sunset, food, dog,
landscape) with look-alike hard negatives (coffee vs syrup, house plants vs
leaves, candy vs pills), and photos of handwritten-style contact notes for OCR.
None of it comes from real photographs.

Drawing is deterministic: :func:`render` seeds its own :class:`random.Random`
from the ``key`` it is given, so an image depends on nothing but its key and
arguments, and the same call gives the same JPEG bytes with the same Pillow.
Text uses Pillow's built-in font (``ImageFont.load_default(size=...)``), so no
font file is needed.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Final

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

#: Width and height of every demo image, in pixels.
SIZE: Final[int] = 320

#: Scene class -> drug labels the scene can depict (empty for drug-free scenes).
IMAGE_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "pills": ("xanax", "painkiller", "mdma", "other_drugs"),
    "leaf": ("marijuana",),
    "powder": ("cocaine", "mdma", "other_drugs"),
    "syrup": ("codeine",),
    "mushroom": ("mushroom",),
    "blotter": ("lsd",),
    "contact_note": (),
    "sunset": (),
    "food": (),
    "dog": (),
    "landscape": (),
    "coffee": (),
    "plant": (),
    "candy": (),
}

#: Scenes that show drugs (Yang & Luo's image heads: leaf = weed, pills,
#: syrup; all of these = drug).
DRUG_SCENES: Final[tuple[str, ...]] = ("pills", "leaf", "powder", "syrup", "mushroom", "blotter")

RGB = tuple[int, int, int]
_Scene = Callable[[random.Random, "str | None"], Image.Image]


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _jitter(rng: random.Random, color: RGB, amount: int = 18) -> RGB:
    r, g, b = (max(0, min(255, c + rng.randint(-amount, amount))) for c in color)
    return r, g, b


def _gradient(top: RGB, bottom: RGB, size: int = SIZE) -> Image.Image:
    ramp = Image.linear_gradient("L").resize((size, size))
    return ImageOps.colorize(ramp, top, bottom)


def _texture(rng: random.Random, image: Image.Image, strength: float) -> Image.Image:
    """Blend in blurred grain so flat fills look less synthetic."""
    w, h = image.size
    grain = Image.frombytes("L", (w, h), rng.randbytes(w * h)).filter(ImageFilter.BoxBlur(1))
    return Image.blend(image, Image.merge("RGB", (grain, grain, grain)), strength)


def _surface(rng: random.Random, kind: str | None = None) -> Image.Image:
    """A background: wood table, dark cloth, white desk, skin-toned palm or marble."""
    kind = kind or rng.choice(("wood", "dark", "white", "palm", "marble"))
    if kind == "wood":
        image = _gradient(_jitter(rng, (150, 105, 65)), _jitter(rng, (110, 72, 42)))
        draw = ImageDraw.Draw(image)
        for y in range(0, SIZE, rng.randint(9, 16)):
            shade = _jitter(rng, (95, 60, 35), 12)
            draw.line([(0, y + rng.randint(-3, 3)), (SIZE, y + rng.randint(-3, 3))], fill=shade, width=1)
        return _texture(rng, image, 0.08)
    if kind == "dark":
        return _texture(rng, _gradient(_jitter(rng, (40, 40, 46), 10), _jitter(rng, (15, 15, 18), 6)), 0.06)
    if kind == "white":
        return _texture(rng, _gradient((238, 236, 232), (214, 212, 206)), 0.05)
    if kind == "palm":
        image = _surface(rng, "dark")
        ImageDraw.Draw(image).ellipse([20, 40, SIZE - 20, SIZE + 60], fill=_jitter(rng, (214, 168, 134), 25))
        return image
    image = _gradient((225, 225, 228), (200, 200, 205))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x = rng.randint(0, SIZE)
        draw.line([(x, 0), (x + rng.randint(-120, 120), SIZE)], fill=(170, 170, 178), width=1)
    return _texture(rng, image, 0.05)


def _paste_rotated(base: Image.Image, layer: Image.Image, center: tuple[int, int], angle: float) -> None:
    layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    x = int(center[0] - layer.width / 2)
    y = int(center[1] - layer.height / 2)
    base.paste(layer, (x, y), layer)


def _shadow(draw: ImageDraw.ImageDraw, box: Sequence[float], offset: int = 4) -> None:
    x0, y0, x1, y1 = box
    draw.ellipse([x0 + offset, y0 + offset, x1 + offset, y1 + offset], fill=(0, 0, 0, 70))


# ---------------------------------------------------------------- drug scenes

_PILL_STYLES: Final[dict[str, tuple[tuple[str, RGB, tuple[str, ...]], ...]]] = {
    "xanax": (
        ("bar", (245, 245, 240), ("R039", "GG 249", "S 903")),
        ("bar", (120, 180, 110), ("S 90 3", "GG 249")),
        ("bar", (235, 215, 90), ("R039", "2")),
    ),
    "painkiller": (
        ("round", (110, 170, 215), ("M30", "M 30", "A215")),
        ("oval", (245, 245, 240), ("M523", "M367", "512")),
        ("round", (240, 240, 235), ("512", "A 51")),
    ),
    "mdma": (
        ("press", (240, 130, 180), ("T", "DD", "RR")),
        ("press", (120, 150, 240), ("P", "UPS", "8")),
        ("press", (250, 170, 80), ("KT", "RB")),
        ("press", (150, 220, 140), ("XO", "MB")),
    ),
    "other_drugs": (
        ("capsule", (240, 140, 50), ("3060", "b 973")),
        ("round", (245, 160, 60), ("b 973", "AD 30")),
        ("capsule", (90, 120, 200), ("S489", "30 mg")),
    ),
}


def _pill_layer(rng: random.Random, shape: str, color: RGB, imprint: str, scale: float) -> Image.Image:
    w, h = {
        "bar": (96, 26),
        "round": (44, 44),
        "oval": (58, 30),
        "press": (46, 46),
        "capsule": (70, 26),
    }[shape]
    w, h = int(w * scale), int(h * scale)
    layer = Image.new("RGBA", (w + 10, h + 10), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    box = [3, 3, 3 + w, 3 + h]
    _shadow(draw, box, 3)
    fill = _jitter(rng, color, 10)
    edge = tuple(max(0, c - 45) for c in fill)
    if shape == "bar":
        draw.rounded_rectangle(box, radius=h // 2, fill=fill, outline=edge)
        for i in (1, 2, 3):  # score lines that split a bar into four
            x = 3 + w * i // 4
            draw.line([(x, 6), (x, h)], fill=edge, width=2)
    elif shape == "capsule":
        draw.rounded_rectangle(box, radius=h // 2, fill=fill, outline=edge)
        draw.rounded_rectangle([3 + w // 2, 3, 3 + w, 3 + h], radius=h // 2, fill=(240, 240, 235), outline=edge)
        draw.rectangle([3 + w // 2, 3 + 1, 3 + w // 2 + h // 2, 3 + h - 1], fill=(240, 240, 235))
    else:
        draw.ellipse(box, fill=fill, outline=edge, width=2)
        draw.ellipse([8, 7, 8 + w // 3, 7 + h // 4], fill=tuple(min(255, c + 35) for c in fill))
    font = _font(max(9, int(h * (0.45 if shape in ("bar", "capsule", "oval") else 0.38))))
    cx, cy = 3 + (w // 4 if shape == "capsule" else w // 2), 3 + h // 2
    draw.text((cx, cy), imprint, fill=edge, font=font, anchor="mm")
    return layer


def _pills(rng: random.Random, drug: str | None) -> Image.Image:
    drug = drug if drug in _PILL_STYLES else rng.choice(tuple(_PILL_STYLES))
    base = _surface(rng)
    if rng.random() < 0.25:  # an orange prescription bottle at the edge
        draw = ImageDraw.Draw(base)
        x = rng.choice((-30, SIZE - 90))
        draw.rounded_rectangle([x, 20, x + 120, 200], radius=14, fill=_jitter(rng, (230, 130, 40)))
        draw.rectangle([x + 10, 70, x + 110, 150], fill=(245, 245, 240))
        draw.text((x + 60, 110), "Rx", fill=(60, 60, 60), font=_font(22), anchor="mm")
    shape, color, imprints = rng.choice(_PILL_STYLES[drug])
    count = rng.randint(3, 14)
    scale = rng.uniform(0.9, 1.4) if count < 8 else rng.uniform(0.7, 1.0)
    for _ in range(count):
        layer = _pill_layer(rng, shape, color, rng.choice(imprints), scale)
        center = (rng.randint(50, SIZE - 50), rng.randint(50, SIZE - 50))
        _paste_rotated(base, layer, center, rng.uniform(0, 360))
    return base


def _leaflet(length: float, width: float, teeth: int) -> list[tuple[float, float]]:
    """A serrated leaflet along +x from the origin, as a polygon."""
    upper, lower = [], []
    for i in range(teeth * 2 + 1):
        t = i / (teeth * 2)
        half = width * math.sin(math.pi * t) ** 0.9 / 2
        tooth = 1.25 if i % 2 else 0.85  # alternate points make the saw edge
        upper.append((t * length, half * tooth))
        lower.append((t * length, -half * tooth))
    return upper + lower[::-1]


def _leaf(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng, rng.choice(("dark", "white", "wood")))
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(1, 3)):
        cx, cy = rng.randint(90, SIZE - 90), rng.randint(120, SIZE - 60)
        size = rng.uniform(60, 120)
        turn = rng.uniform(-0.6, 0.6)
        green = _jitter(rng, (60, 140, 50), 25)
        n = rng.choice((5, 7, 7, 9))
        draw.line([(cx, cy), (cx + 30 * math.sin(turn), cy + 90)], fill=(70, 110, 50), width=4)
        for j in range(n):
            spread = (j - (n - 1) / 2) / ((n - 1) / 2)  # -1 .. 1
            angle = -math.pi / 2 + turn + spread * 1.35
            length = size * (1 - 0.55 * abs(spread))
            shade = _jitter(rng, green, 12)
            points = _leaflet(length, length * 0.2, rng.randint(7, 10))
            rotated = [
                (
                    cx + x * math.cos(angle) - y * math.sin(angle),
                    cy + x * math.sin(angle) + y * math.cos(angle),
                )
                for x, y in points
            ]
            draw.polygon(rotated, fill=shade + (255,), outline=(35, 80, 30, 255))
            tip = (cx + length * math.cos(angle), cy + length * math.sin(angle))
            draw.line([(cx, cy), tip], fill=(150, 190, 110, 255), width=1)
    if rng.random() < 0.5:  # a few buds
        for _ in range(rng.randint(2, 5)):
            bx, by = rng.randint(40, SIZE - 40), rng.randint(40, SIZE - 40)
            for _ in range(14):
                r = rng.randint(6, 12)
                x, y = bx + rng.randint(-16, 16), by + rng.randint(-12, 12)
                color = _jitter(rng, (110, 150, 70), 20) if rng.random() < 0.8 else _jitter(rng, (200, 120, 50))
                draw.ellipse([x - r, y - r, x + r, y + r], fill=color + (255,))
    base.paste(overlay, (0, 0), overlay)
    return base


def _powder(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng, rng.choice(("dark", "dark", "marble")))
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    crystal = drug == "mdma" and rng.random() < 0.6
    white = (236, 232, 222) if crystal else (248, 248, 246)
    for _ in range(rng.randint(1, 3)):
        cx, cy, r = rng.randint(70, SIZE - 70), rng.randint(70, SIZE - 70), rng.randint(25, 55)
        points = []
        for k in range(18):
            a = 2 * math.pi * k / 18
            rr = r * rng.uniform(0.75, 1.15)
            points.append((cx + rr * math.cos(a), cy + rr * 0.7 * math.sin(a)))
        draw.polygon(points, fill=_jitter(rng, white, 6) + (255,))
        if crystal:
            for _ in range(12):
                x, y = cx + rng.randint(-r, r) * 0.8, cy + rng.randint(-r, r) * 0.5
                s = rng.randint(3, 8)
                draw.polygon(
                    [(x, y - s), (x + s, y), (x, y + s), (x - s * 0.7, y)],
                    fill=(205, 190, 165, 255),
                )
    for _ in range(rng.randint(0, 4)):  # lines
        x, y = rng.randint(30, 150), rng.randint(30, SIZE - 30)
        draw.rounded_rectangle(
            [x, y, x + rng.randint(70, 140), y + rng.randint(5, 9)],
            radius=4,
            fill=(250, 250, 248, 255),
        )
    layer = layer.filter(ImageFilter.GaussianBlur(1.6))
    base.paste(layer, (0, 0), layer)
    draw = ImageDraw.Draw(base)
    if rng.random() < 0.6:  # a card
        x, y = rng.randint(150, 220), rng.randint(180, 250)
        draw.rounded_rectangle([x, y, x + 110, y + 70], radius=6, fill=_jitter(rng, (40, 90, 170), 40))
    if rng.random() < 0.4:  # a rolled bill
        x, y = rng.randint(20, 120), rng.randint(220, 280)
        draw.rounded_rectangle([x, y, x + 130, y + 16], radius=8, fill=(130, 160, 110), outline=(90, 120, 80))
    return base


def _syrup(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng)
    draw = ImageDraw.Draw(base, "RGBA")
    purple = _jitter(rng, (130, 40, 150), 20)
    if rng.random() < 0.55:  # double styrofoam cup
        cx, top, bottom = rng.randint(110, 210), rng.randint(40, 80), rng.randint(250, 300)
        draw.polygon(
            [(cx - 70, top), (cx + 70, top), (cx + 48, bottom), (cx - 48, bottom)],
            fill=(246, 246, 242),
        )
        draw.line([(cx - 64, top + 40), (cx + 64, top + 40)], fill=(220, 220, 215), width=3)
        draw.ellipse([cx - 70, top - 18, cx + 70, top + 18], fill=(232, 232, 228))
        draw.ellipse([cx - 60, top - 12, cx + 60, top + 12], fill=purple)
        draw.ellipse([cx - 30, top - 5, cx - 5, top + 3], fill=(200, 130, 210, 160))
    else:  # medicine bottle with purple liquid
        cx, top = rng.randint(110, 210), rng.randint(30, 70)
        amber = _jitter(rng, (120, 70, 30), 15)
        draw.rectangle([cx - 16, top, cx + 16, top + 40], fill=(240, 240, 240))
        draw.rounded_rectangle([cx - 55, top + 35, cx + 55, top + 250], radius=18, fill=amber)
        level = rng.randint(top + 80, top + 160)
        draw.rounded_rectangle([cx - 50, level, cx + 50, top + 245], radius=16, fill=purple + (200,))
        draw.rectangle([cx - 45, top + 110, cx + 45, top + 190], fill=(245, 245, 238))
        draw.text((cx, top + 135), "Promethazine", fill=(50, 50, 50), font=_font(11), anchor="mm")
        draw.text((cx, top + 160), "w/ Codeine", fill=(50, 50, 50), font=_font(11), anchor="mm")
    if rng.random() < 0.5:  # a candy for the drink
        x, y = rng.randint(230, 290), rng.randint(250, 290)
        draw.ellipse([x - 12, y - 8, x + 12, y + 8], fill=_jitter(rng, (220, 60, 80), 30))
    return base


def _mushroom(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng, rng.choice(("wood", "white", "dark")))
    for _ in range(rng.randint(3, 8)):
        scale = rng.uniform(0.6, 1.2)
        w, h = int(70 * scale), int(110 * scale)
        layer = Image.new("RGBA", (w + 10, h + 10), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        stem = _jitter(rng, (225, 215, 190), 15)
        draw.rounded_rectangle([w // 2 - w // 8, h // 3, w // 2 + w // 8, h], radius=w // 10, fill=stem)
        cap = _jitter(rng, (180, 130, 60), 30)
        draw.chord([2, 2, w, int(h * 0.75)], 180, 360, fill=cap, outline=tuple(c - 40 for c in cap))
        for _ in range(rng.randint(0, 4)):
            x, y = rng.randint(12, w - 12), rng.randint(8, max(9, h // 3 - 8))
            draw.ellipse([x - 3, y - 2, x + 3, y + 2], fill=_jitter(rng, (230, 200, 140), 15))
        center = (rng.randint(50, SIZE - 50), rng.randint(50, SIZE - 50))
        _paste_rotated(base, layer, center, rng.uniform(-70, 70) if rng.random() < 0.6 else rng.uniform(0, 360))
    return base


def _blotter(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng)
    n = rng.choice((5, 6, 8, 10))
    tab = rng.randint(16, 24)
    side = n * tab
    sheet = _gradient(_jitter(rng, (230, 80, 120), 60), _jitter(rng, (60, 120, 220), 60), side)
    draw = ImageDraw.Draw(sheet)
    for _ in range(rng.randint(2, 5)):  # the sheet's art
        cx, cy, r = rng.randint(0, side), rng.randint(0, side), rng.randint(side // 8, side // 3)
        for k in range(r, 0, -max(3, r // 4)):
            draw.ellipse([cx - k, cy - k, cx + k, cy + k], outline=_jitter(rng, (250, 220, 60), 60), width=3)
    for i in range(1, n):  # perforations
        for j in range(0, side, 4):
            draw.point([(i * tab, j), (j, i * tab)], fill=(245, 245, 245))
    sheet = sheet.convert("RGBA")
    _paste_rotated(
        base,
        sheet,
        (SIZE // 2 + rng.randint(-30, 30), SIZE // 2 + rng.randint(-30, 30)),
        rng.uniform(-25, 25),
    )
    for _ in range(rng.randint(0, 4)):  # loose tabs
        single = sheet.crop((0, 0, tab, tab))
        _paste_rotated(
            base,
            single,
            (rng.randint(20, SIZE - 20), rng.randint(20, SIZE - 20)),
            rng.uniform(0, 90),
        )
    return base


# ------------------------------------------------------------ ordinary scenes


def _sunset(rng: random.Random, drug: str | None) -> Image.Image:
    image = _gradient(_jitter(rng, (250, 150, 70), 25), _jitter(rng, (120, 60, 140), 25))
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(190, 250)
    sx, r = rng.randint(60, 260), rng.randint(25, 45)
    draw.ellipse([sx - r, horizon - r - rng.randint(0, 40), sx + r, horizon + r], fill=(255, 215, 120))
    if rng.random() < 0.5:
        draw.rectangle([0, horizon, SIZE, SIZE], fill=_jitter(rng, (40, 50, 90), 15))
        for y in range(horizon + 6, SIZE, 9):
            draw.line(
                [(sx - 40 + rng.randint(-8, 8), y), (sx + 40 + rng.randint(-8, 8), y)],
                fill=(240, 170, 100),
            )
    else:
        points = [(0, SIZE), (0, horizon)]
        for x in range(0, SIZE + 40, 40):
            points.append((x, horizon - rng.randint(0, 40)))
        points.append((SIZE, SIZE))
        draw.polygon(points, fill=(30, 20, 35))
    return _texture(rng, image, 0.04)


def _food(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng, rng.choice(("wood", "white", "marble")))
    draw = ImageDraw.Draw(base, "RGBA")
    cx, cy, r = (
        SIZE // 2 + rng.randint(-20, 20),
        SIZE // 2 + rng.randint(-20, 20),
        rng.randint(100, 125),
    )
    draw.ellipse([cx - r + 6, cy - r + 8, cx + r + 6, cy + r + 8], fill=(0, 0, 0, 60))
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 250, 250), outline=(215, 215, 215), width=3)
    draw.ellipse([cx - r + 22, cy - r + 22, cx + r - 22, cy + r - 22], outline=(230, 230, 230), width=2)
    dish = rng.choice(("pasta", "salad", "steak"))
    for _ in range(rng.randint(20, 45)):
        x, y = cx + rng.randint(-65, 65), cy + rng.randint(-65, 65)
        if dish == "pasta":
            draw.arc(
                [x - 18, y - 10, x + 18, y + 10],
                rng.randint(0, 180),
                rng.randint(200, 360),
                fill=_jitter(rng, (235, 200, 110), 15),
                width=4,
            )
        elif dish == "salad":
            s = rng.randint(7, 14)
            color = rng.choice(((90, 160, 60), (60, 130, 40), (200, 40, 40), (240, 200, 80)))
            draw.ellipse([x - s, y - s // 2, x + s, y + s // 2], fill=_jitter(rng, color, 15))
        else:
            s = rng.randint(4, 8)
            draw.ellipse([x - s, y - s, x + s, y + s], fill=_jitter(rng, (90, 150, 60), 20))
    if dish == "steak":
        draw.ellipse([cx - 55, cy - 35, cx + 45, cy + 30], fill=_jitter(rng, (120, 60, 35), 15))
    fx = rng.choice((cx - r - 30, cx + r + 12))
    draw.rounded_rectangle([fx, cy - 90, fx + 12, cy + 90], radius=5, fill=(190, 190, 198))
    return base


def _dog(rng: random.Random, drug: str | None) -> Image.Image:
    outdoor = rng.random() < 0.5
    base = _gradient((150, 200, 240), (90, 160, 70)) if outdoor else _surface(rng, "wood")
    draw = ImageDraw.Draw(base)
    fur = rng.choice(((160, 110, 60), (220, 180, 110), (50, 45, 40), (235, 230, 220)))
    fur = _jitter(rng, fur, 12)
    dark = tuple(max(0, c - 50) for c in fur)
    bx, by = rng.randint(130, 190), rng.randint(190, 230)
    for lx in (-50, -25, 25, 50):  # legs
        draw.rounded_rectangle([bx + lx - 8, by + 10, bx + lx + 8, by + 75], radius=6, fill=fur)
    draw.ellipse([bx - 80, by - 40, bx + 80, by + 40], fill=fur)
    tail = rng.choice((-1, 1))
    draw.line([(bx - 75 * tail, by - 10), (bx - 110 * tail, by - 50)], fill=fur, width=10)
    hx, hy = bx + 70 * tail, by - 70
    draw.ellipse([hx - 42, hy - 38, hx + 42, hy + 38], fill=fur)
    draw.ellipse([hx - 50, hy - 30, hx - 25, hy + 25], fill=dark)  # ears
    draw.ellipse([hx + 25, hy - 30, hx + 50, hy + 25], fill=dark)
    draw.ellipse(
        [hx - 20 + 20 * tail, hy, hx + 20 + 20 * tail, hy + 30],
        fill=tuple(min(255, c + 30) for c in fur),
    )
    draw.ellipse([hx - 5 + 34 * tail, hy + 2, hx + 9 + 34 * tail, hy + 14], fill=(20, 20, 20))  # nose
    for ex in (-15, 15):
        draw.ellipse([hx + ex - 5, hy - 15, hx + ex + 5, hy - 5], fill=(20, 20, 20))
    return _texture(rng, base, 0.04)


def _landscape(rng: random.Random, drug: str | None) -> Image.Image:
    image = _gradient(_jitter(rng, (90, 150, 230), 20), _jitter(rng, (200, 225, 245), 10))
    draw = ImageDraw.Draw(image)
    for layer in range(rng.randint(1, 3)):
        base_y = 150 + layer * 30
        color = _jitter(rng, (110 - layer * 20, 120 - layer * 15, 140 - layer * 10), 10)
        points = [(0, SIZE)]
        x = -20
        while x < SIZE + 60:
            peak = base_y - rng.randint(20, 110)
            points += [(x, base_y), (x + rng.randint(30, 60), peak)]
            if rng.random() < 0.4:  # a snow cap
                px, py = points[-1]
                draw.polygon([(px - 12, py + 16), (px, py), (px + 12, py + 16)], fill=(245, 245, 250))
            x += rng.randint(70, 120)
        points.append((SIZE, SIZE))
        draw.polygon(points, fill=color)
    draw.rectangle([0, 250, SIZE, SIZE], fill=_jitter(rng, (80, 140, 60), 15))
    for _ in range(rng.randint(0, 8)):
        x = rng.randint(0, SIZE)
        draw.polygon([(x - 10, 262), (x, 225), (x + 10, 262)], fill=(30, 80, 40))
    return _texture(rng, image, 0.04)


def _coffee(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng, rng.choice(("wood", "marble", "white")))
    draw = ImageDraw.Draw(base, "RGBA")
    cx, cy = SIZE // 2 + rng.randint(-30, 30), SIZE // 2 + rng.randint(-30, 30)
    draw.ellipse([cx - 130, cy - 130, cx + 130, cy + 130], fill=(0, 0, 0, 40))
    draw.ellipse([cx - 120, cy - 120, cx + 120, cy + 120], fill=(248, 248, 246), outline=(220, 220, 220))
    draw.rounded_rectangle([cx + 70, cy - 14, cx + 128, cy + 14], radius=12, fill=(245, 245, 243))
    draw.ellipse([cx - 80, cy - 80, cx + 80, cy + 80], fill=(246, 246, 244), outline=(210, 210, 210), width=3)
    brown = _jitter(rng, (110, 65, 35), 15)
    draw.ellipse([cx - 68, cy - 68, cx + 68, cy + 68], fill=brown)
    draw.ellipse([cx - 60, cy - 60, cx + 60, cy + 60], outline=(190, 140, 90), width=4)
    if rng.random() < 0.7:  # latte-art heart
        draw.ellipse([cx - 34, cy - 26, cx + 2, cy + 8], fill=(240, 225, 200))
        draw.ellipse([cx - 2, cy - 26, cx + 34, cy + 8], fill=(240, 225, 200))
        draw.polygon([(cx - 32, cy - 2), (cx + 32, cy - 2), (cx, cy + 38)], fill=(240, 225, 200))
    return base


def _plant(rng: random.Random, drug: str | None) -> Image.Image:
    image = _gradient(_jitter(rng, (235, 225, 205), 10), _jitter(rng, (210, 200, 180), 10))
    draw = ImageDraw.Draw(image)
    cx = SIZE // 2 + rng.randint(-30, 30)
    leaves = []
    for _ in range(rng.randint(6, 14)):
        a = rng.uniform(-2.6, -0.5)
        length = rng.uniform(60, 140)
        tip = (cx + length * math.cos(a), 220 + length * math.sin(a))
        draw.line([(cx, 220), tip], fill=(70, 110, 50), width=3)
        leaves.append(tip)
    for x, y in leaves:  # round, smooth-edged leaves: not serrated
        r = rng.randint(16, 30)
        draw.ellipse(
            [x - r, y - r * 0.7, x + r, y + r * 0.7],
            fill=_jitter(rng, (50, 130, 60), 25),
            outline=(30, 90, 40),
        )
    draw.polygon(
        [(cx - 55, 215), (cx + 55, 215), (cx + 40, 300), (cx - 40, 300)],
        fill=_jitter(rng, (190, 100, 60)),
    )
    return _texture(rng, image, 0.04)


def _candy(rng: random.Random, drug: str | None) -> Image.Image:
    base = _surface(rng, rng.choice(("white", "wood", "marble")))
    draw = ImageDraw.Draw(base)
    if rng.random() < 0.5:
        draw.ellipse(
            [30, 40, SIZE - 30, SIZE - 20],
            fill=_jitter(rng, (200, 220, 240), 20),
            outline=(150, 170, 190),
        )
    for _ in range(rng.randint(15, 35)):
        x, y, r = rng.randint(60, SIZE - 60), rng.randint(70, SIZE - 60), rng.randint(9, 17)
        color = rng.choice(((230, 40, 60), (250, 200, 30), (60, 180, 80), (90, 90, 230), (250, 120, 200)))
        if rng.random() < 0.3:  # a wrapped sweet
            draw.polygon([(x - r - 10, y - 8), (x - r, y), (x - r - 10, y + 8)], fill=color)
            draw.polygon([(x + r + 10, y - 8), (x + r, y), (x + r + 10, y + 8)], fill=color)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_jitter(rng, color, 15))
        draw.ellipse([x - r // 2, y - r // 2, x, y - r // 5], fill=(255, 255, 255))
    return base


# ------------------------------------------------------------- contact notes


def _contact_note(rng: random.Random, text: str | None) -> Image.Image:
    """Contact details written on paper, photographed on a table, slightly rotated."""
    if not text:
        raise ValueError("a contact_note image needs the text to write on it")
    lines = text.split("\n")
    size = 30 if max(len(line) for line in lines) <= 16 else 26 if max(len(line) for line in lines) <= 20 else 22
    font = _font(size)
    width = int(max(font.getlength(line) for line in lines)) + 40
    height = len(lines) * (size + 12) + 30
    paper_color = _jitter(rng, (246, 242, 226), 8)
    paper = Image.new("RGBA", (width, height), paper_color + (255,))
    draw = ImageDraw.Draw(paper)
    for y in range(24, height, size + 12):  # ruled lines
        draw.line([(0, y + size - 2), (width, y + size - 2)], fill=(170, 195, 225, 255), width=1)
    ink = rng.choice(((20, 30, 110), (25, 25, 25), (120, 20, 20)))
    for i, line in enumerate(lines):
        draw.text((20 + rng.randint(-4, 4), 18 + i * (size + 12)), line, fill=ink + (255,), font=font)
    base = _surface(rng, rng.choice(("wood", "dark", "marble")))
    _paste_rotated(base, paper, (SIZE // 2, SIZE // 2), rng.uniform(-7, 7))
    return base


def _overlay_text(image: Image.Image, text: str) -> Image.Image:
    """A dealer's watermark: a dark band with the contact across the bottom."""
    draw = ImageDraw.Draw(image, "RGBA")
    font = _font(20)
    width = font.getlength(text)
    draw.rectangle([0, SIZE - 40, SIZE, SIZE - 8], fill=(0, 0, 0, 170))
    draw.text(((SIZE - width) / 2, SIZE - 35), text, fill=(255, 255, 255, 255), font=font)
    return image


_SCENES: Final[dict[str, _Scene]] = {
    "pills": _pills,
    "leaf": _leaf,
    "powder": _powder,
    "syrup": _syrup,
    "mushroom": _mushroom,
    "blotter": _blotter,
    "sunset": _sunset,
    "food": _food,
    "dog": _dog,
    "landscape": _landscape,
    "coffee": _coffee,
    "plant": _plant,
    "candy": _candy,
}


def render(
    kind: str,
    key: str,
    *,
    drug: str | None = None,
    text: str | None = None,
    overlay: str | None = None,
    quality: int = 88,
) -> bytes:
    """Draw one scene and return it as JPEG bytes.

    ``kind`` is a key of :data:`IMAGE_KINDS`; ``key`` seeds the drawing (same
    key, same image); ``drug`` picks the drug variant of drug scenes (pills of
    which drug, crystal or powder); ``text`` is what a ``contact_note`` says
    (lines separated by ``\\n``); ``overlay`` is a line written across the
    bottom of any scene.
    """
    if kind not in IMAGE_KINDS:
        raise ValueError(f"unknown image kind {kind!r}; expected one of: {', '.join(IMAGE_KINDS)}")
    rng = random.Random(f"drugwatch-demo-image:{key}")
    image = _contact_note(rng, text) if kind == "contact_note" else _SCENES[kind](rng, drug)
    if overlay:
        image = _overlay_text(image, overlay)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
