"""The input gate's rules, read from its documentation and written again in
plain Python, so that check_testdata.py can check testdata/picture/ and
testdata/raw/ without the Rust code.

Raw camera buffers (testdata/raw/): an 8-byte header, then the buffer.
  byte 0   format, modulo 5: 0 RGB, 1 BGR, 2 RGBA, 3 BGRA, 4 NV21
  byte 1   rotation, modulo 4: quarter turns clockwise
  2..8     width, height, stride slack: little-endian u16 each
  stride = max(0, width * bytes per pixel + slack - 8), or, when the slack's
  top bit is set, USIZE_MAX >> (slack & 63).
Checks, in order: a zero side (invalid_dimensions); the rotated size against
1024 x 1024 and 256 Ki pixels (too_large; too_small under 1 x 1); the stride
against one row, for NV21 the width rounded up to whole V,U pairs
(invalid_stride); the length, which must lie between every row at full stride
less the last row's padding and every row at full stride, NV21 having
height + ceil(height / 2) rows (buffer_length, also when that size does not
fit a 64-bit usize). NV21 is a luma plane then interleaved V,U pairs at the
same stride, each pair serving a 2 x 2 block, converted as BT.601 limited
range with the 8-bit fixed-point formula of the Rust docs (yuv.rs):
  R = (298(Y-16) + 409(V-128) + 128) >> 8
  G = (298(Y-16) - 100(U-128) - 208(V-128) + 128) >> 8
  B = (298(Y-16) + 516(U-128) + 128) >> 8, each clamped to 0..255.

Pictures (testdata/picture/), with the default limits: empty (empty); over
20 MiB (too_many_bytes); the format sniffed from the magic bytes, JPEG
FF D8 FF or the PNG signature, a strict prefix of one being truncated
(else unsupported_format); the container walked for the stored size, the EXIF
orientation and the end marker (IEND, EOI) without decoding; the upright size
against 8192 a side, 40 M pixels and 32 a side (invalid_dimensions, too_large,
too_small); no end marker (truncated); only then decoding (corrupt).
"""

import io
import struct
import sys
import zlib
from collections import namedtuple

try:
    from PIL import Image
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(f"input_gate.py needs the Python 'Pillow' package: pip install pillow ({exc})\n")
    sys.exit(3)

USIZE_MAX = 2**64 - 1  # the raw header's stride and the length checks are on a 64-bit usize

Limits = namedtuple("Limits", "max_width max_height max_pixels min_width min_height")
PICTURE_LIMITS = Limits(8192, 8192, 40_000_000, 32, 32)
PICTURE_MAX_BYTES = 20 * 1024 * 1024
RAW_LIMITS = Limits(1024, 1024, 256 * 1024, 1, 1)


class Refused(Exception):
    """The input gate's refusal, by the kind named in testdata/manifest.json."""

    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


Frame = namedtuple("Frame", "width height rgb")


def check_dimensions(width, height, limits):
    if width == 0 or height == 0:
        raise Refused("invalid_dimensions")
    if width > limits.max_width or height > limits.max_height or width * height > limits.max_pixels:
        raise Refused("too_large")
    if width < limits.min_width or height < limits.min_height:
        raise Refused("too_small")


# -- orientation: the EXIF values, 1 upright to 8; rotations are 1, 6, 3, 8 --

QUARTER_TURNS_TO_EXIF = {0: 1, 1: 6, 2: 3, 3: 8}


def swaps_sides(orientation):
    return orientation in (5, 6, 7, 8)


def oriented_size(orientation, width, height):
    return (height, width) if swaps_sides(orientation) else (width, height)


def source_of(orientation, ox, oy, w, h):
    """The stored pixel that lands at (ox, oy) of the upright picture."""
    return {
        1: (ox, oy),
        2: (w - 1 - ox, oy),  # mirrored
        3: (w - 1 - ox, h - 1 - oy),  # half a turn
        4: (ox, h - 1 - oy),  # upside down
        5: (oy, ox),  # transposed
        6: (oy, h - 1 - ox),  # a quarter turn clockwise
        7: (w - 1 - oy, h - 1 - ox),  # transversed
        8: (w - 1 - oy, ox),  # three quarters clockwise
    }[orientation]


def orient(frame, orientation):
    if orientation == 1:
        return frame
    w, h = frame.width, frame.height
    ow, oh = oriented_size(orientation, w, h)
    out = bytearray(len(frame.rgb))
    for oy in range(oh):
        for ox in range(ow):
            x, y = source_of(orientation, ox, oy, w, h)
            at, src = (oy * ow + ox) * 3, (y * w + x) * 3
            out[at:at + 3] = frame.rgb[src:src + 3]
    return Frame(ow, oh, bytes(out))


# -- raw camera buffers ----------------------------------------------------------

RAW_HEADER_LEN = 8
RAW_FORMATS = ("rgb", "bgr", "rgba", "bgra", "nv21")
BYTES_PER_PIXEL = {"rgb": 3, "bgr": 3, "rgba": 4, "bgra": 4, "nv21": 1}

RawFrame = namedtuple("RawFrame", "format quarter_turns width height stride data")


def raw_stride(width, fmt, slack):
    if slack & 0x8000:
        return USIZE_MAX >> (slack & 0x3F)
    return max(0, width * BYTES_PER_PIXEL[fmt] + (slack & 0x7FFF) - RAW_HEADER_LEN)


def parse_raw_header(data):
    if len(data) < RAW_HEADER_LEN:
        raise Refused("no_header")  # not a gate refusal: the vector lacks its 8-byte header
    fmt = RAW_FORMATS[data[0] % 5]
    width, height, slack = struct.unpack("<HHH", data[2:8])
    stride = raw_stride(width, fmt, slack)
    return RawFrame(fmt, data[1] % 4, width, height, stride, data[RAW_HEADER_LEN:])


def min_raw_stride(raw):
    if raw.format == "nv21":
        return raw.width + raw.width % 2  # chroma rows hold whole V,U pairs
    return raw.width * BYTES_PER_PIXEL[raw.format]


def raw_rows(raw):
    return raw.height + (raw.height + 1) // 2 if raw.format == "nv21" else raw.height


def check_raw_geometry(raw):
    min_stride = min_raw_stride(raw)
    if raw.stride < min_stride:
        raise Refused("invalid_stride")
    full = raw_rows(raw) * raw.stride
    if full > USIZE_MAX:
        raise Refused("buffer_length")
    tight = full - (raw.stride - min_stride)  # the last row may stop after its pixels
    if not tight <= len(raw.data) <= full:
        raise Refused("buffer_length")


def packed_to_rgb(raw):
    bpp = BYTES_PER_PIXEL[raw.format]
    swap = raw.format in ("bgr", "bgra")
    out = bytearray()
    for y in range(raw.height):
        row = raw.data[y * raw.stride:y * raw.stride + raw.width * bpp]
        for x in range(0, len(row), bpp):
            r, g, b = row[x:x + 3]
            out += bytes((b, g, r) if swap else (r, g, b))
    return bytes(out)


def bt601_limited_to_rgb(y, u, v):
    c, d, e = 298 * (y - 16), u - 128, v - 128
    return bytes(min(255, max(0, (t + 128) >> 8)) for t in (c + 409 * e, c - 100 * d - 208 * e, c + 516 * d))


def nv21_to_rgb(raw):
    chroma_plane = raw.height * raw.stride
    out = bytearray()
    for y in range(raw.height):
        chroma_row = chroma_plane + (y // 2) * raw.stride
        for x in range(raw.width):
            pair = chroma_row + (x // 2) * 2  # V, then U
            luma = raw.data[y * raw.stride + x]
            out += bt601_limited_to_rgb(luma, raw.data[pair + 1], raw.data[pair])
    return bytes(out)


def decode_raw(data):
    """The upright RGB frame of a raw vector (header and buffer), or Refused."""
    raw = parse_raw_header(data)
    if raw.width == 0 or raw.height == 0:
        raise Refused("invalid_dimensions")
    orientation = QUARTER_TURNS_TO_EXIF[raw.quarter_turns]
    check_dimensions(*oriented_size(orientation, raw.width, raw.height), RAW_LIMITS)
    check_raw_geometry(raw)
    rgb = nv21_to_rgb(raw) if raw.format == "nv21" else packed_to_rgb(raw)
    return orient(Frame(raw.width, raw.height, rgb), orientation)


# -- pictures: sniffing and the container walks ------------------------------------

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Layout = namedtuple("Layout", "width height exif complete")


def sniff(data):
    if not data:
        raise Refused("empty")
    for magic, fmt in ((JPEG_MAGIC, "jpeg"), (PNG_MAGIC, "png")):
        if data.startswith(magic):
            return fmt
        if magic.startswith(data):
            raise Refused("truncated")
    raise Refused("unsupported_format")


def png_chunk_at(data, pos):
    """(type, body) of the PNG chunk at pos, None when the bytes end inside it."""
    if len(data) < pos + 8:
        return None
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if length > 2**31 - 1:
        raise Refused("corrupt")
    if len(data) < pos + 12 + length:
        return None
    return kind, data[pos + 8:pos + 8 + length]


def walk_png(data):
    pos = len(PNG_MAGIC)
    first = png_chunk_at(data, pos)
    if first is None:
        raise Refused("truncated")
    if first[0] != b"IHDR" or len(first[1]) != 13:
        raise Refused("corrupt")
    width, height = struct.unpack(">II", first[1][:8])
    pos += 12 + len(first[1])
    exif, seen_image_data = None, False
    while True:
        chunk = png_chunk_at(data, pos)
        if chunk is None:
            return Layout(width, height, exif, False)
        kind, body = chunk
        if kind == b"IEND":
            return Layout(width, height, exif, True)
        if kind == b"IDAT":
            seen_image_data = True
        elif kind == b"eXIf" and not seen_image_data and exif is None:
            exif = body  # counts only before the image data
        pos += 12 + len(body)


def is_start_of_frame(marker):
    return 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)


def skip_entropy_coded(data, pos):
    """Offset of the 0xFF opening the first marker after scan data, or None."""
    while True:
        ff = data.find(b"\xff", pos)
        if ff < 0 or ff + 1 >= len(data):
            return None
        following = data[ff + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos = ff + 2  # a stuffed data byte, or a restart marker inside the scan
        elif following == 0xFF:
            pos = ff + 1
        else:
            return ff


def walk_jpeg(data):
    size, exif, scans, pos, complete = None, None, 0, 2, False
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0:
            break
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1  # fill bytes
        if pos >= len(data):
            break
        marker, pos = data[pos], pos + 1
        if marker == 0xD9:  # EOI
            complete = True
            break
        if marker in (0x00, 0x01) or 0xD0 <= marker <= 0xD8:
            continue  # no length follows
        if len(data) < pos + 2:
            break
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2:
            raise Refused("corrupt")
        if len(data) < pos + length:
            break
        body, pos = data[pos + 2:pos + length], pos + length
        if is_start_of_frame(marker) and size is None:
            if len(body) < 6:
                raise Refused("corrupt")
            height, width = struct.unpack(">HH", body[1:5])
            size = (width, height)
        elif marker == 0xE1 and exif is None and body.startswith(b"Exif\0\0"):
            exif = body[6:]
        if marker == 0xDA:  # SOS
            scans += 1
            if scans > 128:
                raise Refused("corrupt")
            pos = skip_entropy_coded(data, pos)
            if pos is None:
                break
    if size is None:
        raise Refused("corrupt" if complete else "truncated")
    return Layout(size[0], size[1], exif, complete)


def exif_orientation(tiff):
    """The orientation tag (0x0112, one SHORT) of IFD0, 1 when absent or invalid."""
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(bytes(tiff[:4]))
    if order is None or len(tiff) < 8:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if len(tiff) < ifd + 2:
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd:ifd + 2])
    for at in range(ifd + 2, ifd + 2 + 12 * count, 12):
        if len(tiff) < at + 12:
            return 1
        tag, kind, n, value = struct.unpack(order + "HHIH", tiff[at:at + 10])
        if tag == 0x0112 and kind == 3 and n == 1:
            return value if 1 <= value <= 8 else 1
    return 1


# -- pictures: decoding ---------------------------------------------------------------


def check_png_crcs(data):
    """Each chunk's CRC, as the Rust PNG decoder checks them (the walk does not)."""
    pos = len(PNG_MAGIC)
    while True:
        kind, body = png_chunk_at(data, pos)
        stored = int.from_bytes(data[pos + 8 + len(body):pos + 12 + len(body)], "big")
        if zlib.crc32(kind + body) != stored:
            raise Refused("corrupt")
        if kind == b"IEND":
            return
        pos += 12 + len(body)


def pillow_rgb(data, fmt, layout):
    """The stored pixels as RGB; Pillow's errors (OSError, SyntaxError,
    ValueError, zlib.error...) all become corrupt."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != fmt.upper() or img.size != (layout.width, layout.height):
                raise Refused("corrupt")
            return img.convert("RGB").tobytes()
    except Refused:
        raise
    except Exception:  # noqa: BLE001 - any decoder failure is a refusal
        raise Refused("corrupt") from None


def decode_picture(data):
    """(format, upright RGB frame) of a JPEG or PNG, or Refused."""
    if len(data) > PICTURE_MAX_BYTES:
        raise Refused("too_many_bytes")
    fmt = sniff(data)
    layout = walk_jpeg(data) if fmt == "jpeg" else walk_png(data)
    orientation = exif_orientation(layout.exif) if layout.exif is not None else 1
    check_dimensions(*oriented_size(orientation, layout.width, layout.height), PICTURE_LIMITS)
    if not layout.complete:
        raise Refused("truncated")
    if fmt == "png":
        check_png_crcs(data)
    stored = Frame(layout.width, layout.height, pillow_rgb(data, fmt, layout))
    return fmt, orient(stored, orientation)
