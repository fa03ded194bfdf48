"""Placeholder media (small valid files the emulator serves for users' photos, voice notes...),
image inspection, and how Telegram names and files each kind of media."""

from __future__ import annotations

import base64
import struct

_PHOTO_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDACgcHiMeGSgjISMtKygwPGRBPDc3PHtYXUlkkYCZlo+A"
    "jIqgtObDoKrarYqMyP/L2u71////m8H////6/+b9//j/2wBDASstLTw1PHZBQXb4pYyl+Pj4+Pj4"
    "+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj/wAARCADwAUADASIA"
    "AhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAL/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEB"
    "AQEAAAAAAAAAAAAAAAAAAAME/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AgBpQ"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAf/2Q=="
)
_THUMB_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDACgcHiMeGSgjISMtKygwPGRBPDc3PHtYXUlkkYCZlo+A"
    "jIqgtObDoKrarYqMyP/L2u71////m8H////6/+b9//j/2wBDASstLTw1PHZBQXb4pYyl+Pj4+Pj4"
    "+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj/wAARCABEAFoDASIA"
    "AhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAL/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEB"
    "AQEAAAAAAAAAAAAAAAAAAAME/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AgBpQ"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAf/2Q=="
)
_STICKER_WEBP_B64 = (
    "UklGRiwDAABXRUJQVlA4TB8DAAAv/8F/EBTFbds4p/33Tm/3i4gJeK0CqDCVCUWAAWoVhgpM/ZBg"
    "HYc0lPH5IbhtG0jS/3++u3exYnSmETEBkNpIEiTxJ2V+u3tXGf3rf/Q/uf6//r/+v/6//r/+v/7f"
    "7bPF8v098uvV8Zf2xd9cE397PfyPtfC/9sF/3AT/dwf8d/vc4J1LjHOPbG7yzGWKuU4vF5rlTqnc"
    "KpR7ZXKzSO6WyO0GuV4fC9SxQhtLnLFFGHtksckUqzSxzBHbBLHPDgvVsNILO62wVAlrfbDXBotV"
    "sNoDuy2wXAHr87M/PQWy0yA5FXLTITUlIlMjLz3SUiQrTZJSJSddUlImI20SUicffdJRKBuNklEp"
    "F51aTalMtEpErTz0SkOxLDRLQrUe0y0F5TLQrsHUm59+01OwuzScnIpz07G1lJyZlo2l5rz0bCtF"
    "Z6VpU6naU7pOSdmO0rah1O0nfaejcDdp3Ewq95LOraR0J2l9IlG7j/RuI8XPIpo3kernEN1PIcqf"
    "QbQ/gah//tD/9OEFnj28wZOHV3ju8A5vHbzEOydvcePgNa7/Csd7XP9d/13/vXFgHbj+KxyWgRsH"
    "VoF3TiwCbx1YA547WAKePFgBnj1YAE4f6Mf5A/k4gaAeZxDE4xSCdpxDkI4mQjnOIghHG6EbfYRs"
    "nEhQjU5CNFoJzeglJKOZUIxuQjDGqxf9hFw0FGrRUYjFmLWip5CKpkIphi0UbYVODFwmGguVGLpI"
    "tBYaMXiJGL1CdBcCMX59CFAeGgx1CFEcYtSGHkMaolSGMIUhTl0IVBYiVYVQRaHV0IRgJSFaRQhX"
    "EOLVg4DlIGI1CFkMYtaCoKUgaiUIWwji1oHEVSB0EYhdA4KXgOgVIHwBiD8+DIwOCYNDw9gwMTJk"
    "DAwd48LIqJAyKLSMCTMjQs6A8DMcFI0GS2NB1FBwNRB8DQNlo8DaGDA3AuwdHwIPD4cHh8dDw+WB"
    "4fOwcHpQiD0i7B4Pho8GzYeC6wNB+FGg/RCQ/99jBf8xFvFfYh3/Gbbyn2A7/zi29I9iXf8UNvfn"
    "WOMfYK8/xPX/9f/1//X/9f/1/603AA=="
)
PHOTO_JPEG = base64.b64decode(_PHOTO_JPEG_B64)  # 320x240
THUMB_JPEG = base64.b64decode(_THUMB_JPEG_B64)  # 90x68
STICKER_WEBP = base64.b64decode(_STICKER_WEBP_B64)  # 512x512


def _make_pdf(line: str = "Document de test (bac a sable Outreach)") -> bytes:
    content = f"BT /F1 14 Tf 24 60 Td ({line}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
            r &= 0xFFFFFFFF
        table.append(r)
    return table


_OGG_TABLE = _ogg_crc_table()


def _ogg_page(packets: list[bytes], seq: int, header_type: int, granule: int) -> bytes:
    segments: list[int] = []
    for packet in packets:
        size = len(packet)
        while size >= 255:
            segments.append(255)
            size -= 255
        segments.append(size)
    header = b"OggS" + bytes([0, header_type]) + struct.pack("<qIII", granule, 0x0A11CE, seq, 0)
    page = bytearray(header + bytes([len(segments)]) + bytes(segments) + b"".join(packets))
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_TABLE[((crc >> 24) & 0xFF) ^ byte]
    page[22:26] = struct.pack("<I", crc)
    return bytes(page)


def _make_ogg_opus() -> bytes:
    """One second of Opus silence in an Ogg container (what Telegram voice notes are)."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    vendor = b"outreach-sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    silence = [b"\xf8\xff\xfe"] * 50  # 50 x 20 ms CELT silence frames
    return _ogg_page([head], 0, 2, 0) + _ogg_page([tags], 1, 0, 0) + _ogg_page(silence, 2, 4, 312 + 48000)


PLACEHOLDER_PDF = _make_pdf()
PLACEHOLDER_OGG = _make_ogg_opus()
#: An MP4 header (``ftyp`` + empty ``mdat``): recognisable, not playable.
PLACEHOLDER_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of a PNG/JPEG/GIF/WEBP/BMP image, or None."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            w, h = struct.unpack(">II", data[16:24])
            return "png", w, h
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            w, h = struct.unpack("<HH", data[6:10])
            return "gif", w, h
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8X":
                return "webp", 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return "webp", w & 0x3FFF, h & 0x3FFF
            if chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                return "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            return None
        if data[:2] == b"BM" and len(data) >= 26:
            w, h = struct.unpack("<ii", data[18:26])
            return "bmp", w, abs(h)
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker == 0xFF:
                    i += 1
                    continue
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                    i += 2
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return "jpeg", w, h
                i += 2 + length
    except (struct.error, IndexError):
        return None
    return None


PLACEHOLDERS: dict[str, tuple[bytes, str, str]] = {
    # kind: (bytes, mime type, default file name)
    "photo": (PHOTO_JPEG, "image/jpeg", "photo.jpg"),
    "document": (PLACEHOLDER_PDF, "application/pdf", "document.pdf"),
    "sticker": (STICKER_WEBP, "image/webp", "sticker.webp"),
    "voice": (PLACEHOLDER_OGG, "audio/ogg", "voice.oga"),
    "audio": (PLACEHOLDER_OGG, "audio/ogg", "audio.ogg"),
    "video": (PLACEHOLDER_MP4, "video/mp4", "video.mp4"),
    "animation": (PLACEHOLDER_MP4, "video/mp4", "animation.mp4"),
    "video_note": (PLACEHOLDER_MP4, "video/mp4", "video_note.mp4"),
}
FILE_FOLDERS = {
    "photo": ("photos", ".jpg", "AgAC"),
    "document": ("documents", "", "BQAC"),
    "sticker": ("stickers", ".webp", "CAAC"),
    "voice": ("voice", ".oga", "AwAC"),
    "audio": ("music", ".mp3", "CQAC"),
    "video": ("videos", ".mp4", "BAAC"),
    "animation": ("animations", ".mp4", "CgAC"),
    "video_note": ("video_notes", ".mp4", "DQAC"),
}
MEDIA_KINDS = tuple(FILE_FOLDERS)
