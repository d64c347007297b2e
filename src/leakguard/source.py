"""Reading and decoding source files, the way Python itself would."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path


class SourceError(Exception):
    """A file that cannot be read or decoded; the message is meant for users."""


def read_source(path: Path) -> str:
    try:
        data = path.read_bytes()
    except PermissionError:
        raise SourceError("cannot read file: permission denied") from None
    except IsADirectoryError:
        raise SourceError("cannot read file: is a directory") from None
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    return decode_source(data)


def decode_source(data: bytes) -> str:
    """Decode per PEP 263: BOM, then a coding cookie, else UTF-8."""
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise SourceError(f"file contains a NUL byte (line {line}); not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"invalid coding declaration: {exc.msg}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        declared = "declared" if encoding not in ("utf-8", "utf-8-sig") else "default"
        raise SourceError(
            f"cannot decode as {encoding} ({declared} encoding): invalid byte "
            f"0x{data[exc.start]:02x} at line {line}; add a coding cookie or re-encode"
        ) from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r} in coding declaration") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text
