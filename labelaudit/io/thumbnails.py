"""Small embedded thumbnails of local images for the HTML report (Pillow, an optional extra).

Only local files are read: a value that looks like a URL (``scheme://...``) is never fetched and gets no
thumbnail (the page shows it as a link). A missing or unreadable image gets none either; the page then shows
the path as text. Thumbnails are JPEG (PNG when the image has transparency) ``data:`` URIs, at most
``size`` pixels on their longer side.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from pathlib import Path

from labelaudit.errors import UsageError

THUMBNAIL_SIZE = 64
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise UsageError(
            "--thumbnails needs Pillow: pip install 'labelaudit[images]' (or pip install pillow)"
        ) from None
    return Image


def resolve_image(value: str, base_dir: Path | None) -> Path | None:
    """The local file ``value`` names: relative paths against ``base_dir`` first, then the working directory."""
    if not value or _SCHEME.match(value) or value.startswith("data:"):
        return None
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [*([base_dir / path] if base_dir else []), path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def thumbnail(path: Path, size: int = THUMBNAIL_SIZE) -> str | None:
    """A ``data:`` URI of the image at ``path`` scaled to fit ``size``×``size``, or None if it cannot be read."""
    image_module = _pillow()
    try:
        with image_module.open(path) as image:
            image.thumbnail((size, size))
            has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
            buffer = io.BytesIO()
            if has_alpha:
                image.convert("RGBA").save(buffer, format="PNG", optimize=True)
                mime = "image/png"
            else:
                image.convert("RGB").save(buffer, format="JPEG", quality=80)
                mime = "image/jpeg"
    except (OSError, ValueError, image_module.DecompressionBombError):
        return None
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def thumbnails(
    values: Sequence[object], base_dir: Path | None, size: int = THUMBNAIL_SIZE
) -> list[str | None]:
    """One thumbnail (or None) per value; values that are not local image files get None."""
    _pillow()
    out: list[str | None] = []
    for value in values:
        path = resolve_image(str(value), base_dir) if isinstance(value, str) else None
        out.append(thumbnail(path, size) if path is not None else None)
    return out
