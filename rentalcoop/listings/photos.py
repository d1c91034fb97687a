"""Listing photos: checked by Pillow, re-encoded without metadata, stored under UPLOAD_DIR.

An upload is trusted for nothing: its name and type are ignored, Pillow decides whether it is
a JPEG, PNG or WebP image (only those decoders are tried), and what we keep is a fresh JPEG
encoding of the pixels in three sizes — EXIF (with any GPS position) is not carried over.
"""

from __future__ import annotations

import secrets
import warnings
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.listings.models import Listing, ListingPhoto

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 20
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# 20 megapixels: more than a phone's normal photo (12 MP) or a listing page needs. Decoding
# costs time and memory by the pixel (a 49 MP photo took 5.7 s and 449 MB, issue 12), and a
# small file can claim an enormous canvas (a "decompression bomb"): the size is checked from
# the header, before anything is decoded. Pillow's own limit is set to the same for any other
# code path.
MAX_PHOTO_PIXELS = 20_000_000
Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS
# Longest side in pixels of each stored size: large for the listing page, medium for cards.
VARIANTS = {"l": 1600, "m": 800, "s": 400}
JPEG_QUALITY = 82


class PhotoError(DomainError):
    status_code = 422


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "listings"
    path.mkdir(parents=True, exist_ok=True)
    return path


def filename(token: str, variant: str) -> str:
    return f"{token}-{variant}.jpg"


def _not_an_image() -> PhotoError:
    return PhotoError(
        _l("That file is not a photo we can use. Please upload a JPEG, PNG or WebP image.")
    )


def _too_many_pixels() -> PhotoError:
    return PhotoError(_l("That image has too many pixels. Please upload a smaller one."))


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                width, height = probe.size  # from the header: nothing is decoded yet
                if width * height > MAX_PHOTO_PIXELS:
                    raise _too_many_pixels()
                probe.verify()  # structure check; the image must be opened again to be used
            image = Image.open(BytesIO(data), formats=ACCEPTED_FORMATS)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _not_an_image() from None
    if image.format not in ACCEPTED_FORMATS:
        raise _not_an_image()
    return image


def encode_variants(data: bytes) -> tuple[dict[str, bytes], tuple[int, int]]:
    """The stored sizes of an uploaded image as JPEG bytes, and the large size's dimensions."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoError(_l("Photos can be at most 10 MB."))
    image = _decode(data)
    # Turn the pixels upright as the camera meant, since the orientation tag is dropped too.
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out: dict[str, bytes] = {}
    size = image.size
    for variant, longest in VARIANTS.items():
        copy = image.copy()
        copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        if variant == "l":
            size = copy.size
        buffer = BytesIO()
        # No exif= and no icc_profile=: the new file carries pixels only.
        copy.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        out[variant] = buffer.getvalue()
    return out, size


def read_upload(stream: BinaryIO) -> bytes:
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoError(_l("Photos can be at most 10 MB."))
    if not data:
        raise PhotoError(_l("Please choose a photo to upload."))
    return data


def store(data: bytes) -> tuple[str, tuple[int, int]]:
    """Write the variants of an image under a new random token (nothing of the upload's name)."""
    variants, size = encode_variants(data)
    token = secrets.token_hex(16)
    directory = upload_dir()
    for variant, body in variants.items():
        (directory / filename(token, variant)).write_bytes(body)
    return token, size


def remove_files(token: str) -> None:
    """Delete a photo's files (after the transaction that removed its row committed)."""
    directory = upload_dir()
    for variant in VARIANTS:
        (directory / filename(token, variant)).unlink(missing_ok=True)


def add_photo(listing: Listing, stream: BinaryIO, alt_text: str = "") -> ListingPhoto:
    """Check, re-encode and store an uploaded photo as the listing's last one."""
    count = db.session.scalar(
        select(func.count()).select_from(ListingPhoto).where(ListingPhoto.listing_id == listing.id)
    )
    if count >= MAX_PHOTOS:
        raise PhotoError(_l("A listing can have at most %(count)s photos.", count=MAX_PHOTOS))
    token, (width, height) = store(read_upload(stream))
    photo = ListingPhoto(
        listing_id=listing.id,
        position=count,
        token=token,
        width=width,
        height=height,
        alt_text=alt_text.strip()[:200],
    )
    db.session.add(photo)
    db.session.flush()
    return photo


def _ordered(listing: Listing) -> list[ListingPhoto]:
    return list(
        db.session.scalars(
            select(ListingPhoto)
            .where(ListingPhoto.listing_id == listing.id)
            .order_by(ListingPhoto.position, ListingPhoto.id)
        )
    )


def get_photo(listing: Listing, photo_id: int) -> ListingPhoto | None:
    return db.session.scalar(
        select(ListingPhoto).where(
            ListingPhoto.id == photo_id, ListingPhoto.listing_id == listing.id
        )
    )


def move_photo(listing: Listing, photo: ListingPhoto, offset: int) -> None:
    """Move a photo `offset` places (−1 earlier, +1 later); the first photo is the cover."""
    photos = _ordered(listing)
    index = next(n for n, p in enumerate(photos) if p.id == photo.id)
    target = max(0, min(len(photos) - 1, index + offset))
    photos.insert(target, photos.pop(index))
    for position, item in enumerate(photos):
        item.position = position
    db.session.flush()


def delete_photo(listing: Listing, photo: ListingPhoto) -> str:
    """Remove a photo's row and close the gap; returns the token whose files to delete."""
    token = photo.token
    db.session.delete(photo)
    db.session.flush()
    for position, item in enumerate(_ordered(listing)):
        item.position = position
    db.session.flush()
    return token
