"""Just enough DER/BER to take the content out of a CMS SignedData (RFC 5652).

MDM servers often sign the enrollment profile they return; a device reads the signed plist
inside. `cryptography` signs CMS but cannot open it, so this reads the structure directly:
ContentInfo → [0] SignedData → encapContentInfo → [0] eContent (an OCTET STRING, possibly
constructed in BER, whose parts are concatenated).
"""

from __future__ import annotations

SIGNED_DATA_OID = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2


class CmsError(ValueError):
    pass


def _header(data: bytes, pos: int) -> tuple[int, int, int | None]:
    """(tag, start of contents, length or None for BER indefinite length)."""
    if pos + 2 > len(data):
        raise CmsError("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        return tag, pos, first
    if first == 0x80:
        return tag, pos, None
    count = first & 0x7F
    if count > 4 or pos + count > len(data):
        raise CmsError("bad length")
    return tag, pos + count, int.from_bytes(data[pos : pos + count], "big")


def _children(data: bytes, start: int, length: int | None) -> list[tuple[int, int, int | None, int]]:
    """The elements inside a constructed value: (tag, contents start, length, end)."""
    items = []
    pos = start
    end = start + length if length is not None else len(data)
    while pos < end:
        if length is None and data[pos : pos + 2] == b"\x00\x00":
            break
        tag, body, size = _header(data, pos)
        stop = body + size if size is not None else _indefinite_end(data, body)
        items.append((tag, body, size, stop))
        pos = stop if size is not None else stop + 2
    return items


def _indefinite_end(data: bytes, body: int) -> int:
    """Where the end-of-contents octets of an indefinite-length value start."""
    pos = body
    while data[pos : pos + 2] != b"\x00\x00":
        _, inner, size = _header(data, pos)
        pos = inner + size if size is not None else _indefinite_end(data, inner) + 2
        if pos > len(data):
            raise CmsError("truncated")
    return pos


def _octets(data: bytes, tag: int, body: int, size: int | None, stop: int) -> bytes:
    if tag == 0x04:
        return data[body:stop]
    if tag == 0x24:  # constructed OCTET STRING (BER)
        return b"".join(_octets(data, *child) for child in _children(data, body, size))
    raise CmsError("eContent is not an OCTET STRING")


def signed_content(data: bytes) -> bytes:
    """The encapsulated content of a CMS SignedData; CmsError if `data` is not one."""
    try:
        tag, body, size = _header(data, 0)
        if tag != 0x30:
            raise CmsError("not a SEQUENCE")
        content_info = _children(data, body, size)
        oid = content_info[0]
        if oid[0] != 0x06 or data[oid[1] : oid[3]] != SIGNED_DATA_OID:
            raise CmsError("not SignedData")
        explicit = content_info[1]
        signed_data = _children(data, explicit[1], explicit[2])[0]
        fields = _children(data, signed_data[1], signed_data[2])
        encap = _children(data, fields[2][1], fields[2][2])
        if len(encap) < 2:
            raise CmsError("detached signature")
        e_content = _children(data, encap[1][1], encap[1][2])[0]
        return _octets(data, *e_content)
    except IndexError as exc:
        raise CmsError("unexpected structure") from exc
