"""Hazard photos: checked by content with Pillow, turned upright, resized, re-encoded without EXIF.

A phone's photo may carry where it was taken (EXIF GPS); it is read here and kept in the hazard only when the
enterprise allows it (``HazardSettings.keep_location``); the stored image never carries any metadata.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from lms.core.errors import DomainError
from lms.hazards.services import Photo

MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; more is refused before decoding (decompression bombs)
LONG_SIDE = 1600
FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}  # MPO: some phones' JPEG with a second frame
GPS_IFD = 0x8825

# First bytes of what we take: JPEG, PNG, WebP.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def check_head(head: bytes, filename: str) -> None:
    """Refuse a file that is not a JPEG, PNG or WebP picture from its first bytes (before the rest is read)."""
    if head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return
    raise DomainError(
        str(_l("Photos: %(name)s is not a JPEG, PNG or WebP picture.", name=filename)), field="photos"
    )


def _ratio(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = value
        return float(num) / float(den)


def _gps(img: Image.Image) -> tuple[float | None, float | None]:
    try:
        gps = img.getexif().get_ifd(GPS_IFD)
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses the position
        return None, None
    try:
        lat, lat_ref, lon, lon_ref = gps[2], gps.get(1, "N"), gps[4], gps.get(3, "E")
        latitude = _ratio(lat[0]) + _ratio(lat[1]) / 60 + _ratio(lat[2]) / 3600
        longitude = _ratio(lon[0]) + _ratio(lon[1]) / 60 + _ratio(lon[2]) / 3600
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    if str(lat_ref).upper().startswith("S"):
        latitude = -latitude
    if str(lon_ref).upper().startswith("W"):
        longitude = -longitude
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    return round(latitude, 6), round(longitude, 6)


def process_photo(data: bytes, filename: str = "photo.jpg") -> Photo:
    """Check ``data`` is a picture, and return it upright, at most LONG_SIDE px, as a JPEG without metadata."""
    if not data:
        raise DomainError(str(_l("Photos: %(name)s is empty.", name=filename)), field="photos")
    if len(data) > MAX_PHOTO_BYTES:
        raise DomainError(
            str(
                _l(
                    "Photos: %(name)s is larger than %(mb)d MB.",
                    name=filename,
                    mb=MAX_PHOTO_BYTES // (1024 * 1024),
                )
            ),
            field="photos",
        )
    not_a_picture = DomainError(
        str(_l("Photos: %(name)s is not a JPEG, PNG or WebP picture.", name=filename)), field="photos"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in FORMATS:
                raise not_a_picture
            if img.width * img.height > MAX_PIXELS:
                raise DomainError(
                    str(_l("Photos: %(name)s has too many pixels.", name=filename)), field="photos"
                )
            latitude, longitude = _gps(img)
            img.load()
            img = ImageOps.exif_transpose(img)
    except DomainError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise not_a_picture from None
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        img = background
    img.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=82, optimize=True)  # no exif= : nothing of the original kept
    return Photo(
        data=out.getvalue(),
        width=img.width,
        height=img.height,
        latitude=latitude,
        longitude=longitude,
        name=filename,
    )
