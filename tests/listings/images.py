"""Test images made by Pillow in memory."""

from __future__ import annotations

from io import BytesIO

from PIL import Image


def jpeg_with_exif(size=(1200, 900), color=(40, 120, 90)) -> bytes:
    """A JPEG carrying camera and GPS data that must not survive the upload."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"  # Make
    exif[0x0131] = "SecretSoft 1.0"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (59.0, 19.0, 48.0)
    gps[3] = "E"
    gps[4] = (18.0, 4.0, 7.0)
    buffer = BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png(size=(300, 200), mode="RGBA") -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, (200, 100, 50, 128) if mode == "RGBA" else 0).save(buffer, "PNG")
    return buffer.getvalue()


def webp(size=(640, 480)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (10, 20, 200)).save(buffer, "WEBP")
    return buffer.getvalue()
