"""Character Cards inside PNG images: the card is base64 JSON in a tEXt chunk (`ccv3` for V3, `chara` for V2).

Chunks are read and written by hand (a few lines of `struct` and `zlib`): Pillow caps text chunks at 1 MB,
which large lorebooks exceed, and reports truncation in many different ways. Pillow only draws the picture.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import zlib
from collections.abc import Iterator

from ..errors import DataFileError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_KEYWORDS = ("ccv3", "chara")  # in order of preference, as the V3 spec asks
PICTURE_SIZE = (400, 600)
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # a zTXt chunk may not inflate past this (zip-bomb guard)


def _chunks(raw: bytes, source: str) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of every chunk up to IEND; a truncated or corrupted file is a `DataFileError`."""
    if not raw.startswith(PNG_SIGNATURE):
        raise DataFileError.single(source, None, "<file>", "not a PNG image")
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(raw):
            problem = f"truncated PNG: the file ends at byte {len(raw)} before its IEND chunk"
            raise DataFileError.single(source, None, "<file>", problem)
        length, kind = struct.unpack(">I4s", raw[pos : pos + 8])
        end = pos + 12 + length
        name = kind.decode("latin-1")
        if end > len(raw):
            problem = f"truncated PNG: chunk '{name}' at byte {pos} runs past the end of the file"
            raise DataFileError.single(source, None, "<file>", problem)
        body = raw[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", raw[end - 4 : end])
        if zlib.crc32(kind + body) != crc:
            problem = f"corrupted PNG: checksum mismatch in chunk '{name}' at byte {pos}"
            raise DataFileError.single(source, None, "<file>", problem)
        yield kind, body
        if kind == b"IEND":
            return
        pos = end


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_text_chunks(raw: bytes, source: str) -> dict[str, bytes]:
    """The card text chunks (tEXt, and zTXt some tools write by mistake) by lower-cased keyword; the first of each wins.

    Only the first chunk of each card keyword is inflated, and all inflation together is bounded, so a PNG
    full of small compressed chunks cannot expand to gigabytes (a decompression bomb).
    """
    texts: dict[str, bytes] = {}
    inflated = 0
    for kind, body in _chunks(raw, source):
        if kind not in (b"tEXt", b"zTXt"):
            continue
        keyword, _, text = body.partition(b"\0")
        name = keyword.decode("latin-1").lower()
        if name not in CARD_KEYWORDS or name in texts:
            continue
        if kind == b"zTXt":
            inflater = zlib.decompressobj()
            try:
                text = inflater.decompress(text[1:], MAX_INFLATED_BYTES - inflated)  # text[0] is the compression method
            except zlib.error as exc:
                message = f"corrupted zTXt chunk '{keyword.decode('latin-1')}': {exc}"
                raise DataFileError.single(source, None, "<file>", message) from None
            if inflater.unconsumed_tail:
                message = f"zTXt chunk '{keyword.decode('latin-1')}' inflates past {MAX_INFLATED_BYTES:,} bytes"
                raise DataFileError.single(source, None, "<file>", message)
            inflated += len(text)
        texts[name] = text
    return texts


def card_json_from_png(raw: bytes, source: str) -> tuple[str, str]:
    """(keyword, JSON text) of the card embedded in a PNG, preferring `ccv3` over `chara`."""
    texts = png_text_chunks(raw, source)
    keyword = next((k for k in CARD_KEYWORDS if k in texts), None)
    if keyword is None:
        problem = "a PNG image without a character card (no 'ccv3' or 'chara' text chunk)"
        raise DataFileError.single(source, None, "<file>", problem)
    encoded = b"".join(texts[keyword].split())  # some writers wrap the base64 in lines
    try:
        decoded = base64.b64decode(encoded + b"=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DataFileError.single(source, None, f"<{keyword} chunk>", f"not valid base64 ({exc})") from None
    try:
        return keyword, decoded.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = f"the decoded card is not UTF-8 text (byte {exc.start})"
        raise DataFileError.single(source, None, f"<{keyword} chunk>", problem) from None


def png_with_text(png: bytes, texts: dict[str, str]) -> bytes:
    """`png` with one tEXt chunk per keyword, right after IHDR; existing text chunks of those keywords are dropped."""
    replaced = {k.lower() for k in texts}
    added = b"".join(_chunk(b"tEXt", f"{k}\0{v}".encode("latin-1")) for k, v in texts.items())
    out = [PNG_SIGNATURE]
    for kind, body in _chunks(png, "<png>"):
        if kind in (b"tEXt", b"zTXt", b"iTXt") and body.partition(b"\0")[0].decode("latin-1").lower() in replaced:
            continue
        out.append(_chunk(kind, body))
        if kind == b"IHDR":
            out.append(added)
    return b"".join(out)


def initials(name: str) -> str:
    """Up to two initials: of the first and the last word that start with a letter or digit."""
    words = [w for w in name.replace('"', " ").split() if w[0].isalnum()]
    if not words:
        return "?"
    picked = words if len(words) == 1 else [words[0], words[-1]]
    return "".join(w[0] for w in picked).upper()


def initials_picture(name: str) -> bytes:
    """A 400x600 PNG with the name's initials on a colour derived from the name; the same name gives the same bytes."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    digest = hashlib.sha256(name.encode("utf-8")).digest()
    background = tuple(60 + b % 120 for b in digest[:3])  # mid-dark tones, so white initials stay readable
    image = Image.new("RGB", PICTURE_SIZE, background)
    draw = ImageDraw.Draw(image)
    width, height = PICTURE_SIZE
    draw.rounded_rectangle((16, 16, width - 17, height - 17), radius=24, outline=(255, 255, 255), width=4)
    try:
        font = ImageFont.load_default(size=160)  # Pillow's bundled font: the same on every machine
    except (OSError, TypeError, ValueError):  # Pillow built without FreeType: the small bitmap font
        font = ImageFont.load_default()
    text = initials(name)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    origin = ((width - (right - left)) / 2 - left, (height - (bottom - top)) / 2 - top)
    draw.text(origin, text, fill=(255, 255, 255), font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
