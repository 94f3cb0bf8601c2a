"""A message prepared once per channel and release, and filled in per recipient with bytes joins.

Everything that is the same for every recipient (headers, MIME structure, boundaries, the
quoted-printable text of both bodies, base64 images and attachments) is encoded once. What
differs (To, Message-ID, List-Unsubscribe, the greeting name and unsubscribe link in the
bodies) are holes. A hole inside a body is placed between quoted-printable soft line breaks
(`=` CRLF, removed by every decoder), so a recipient's value is encoded on its own and the
static text around it never needs encoding again, whatever the value's length.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Quoted-printable lines may hold 76 characters; a piece followed by a soft break ("=") gets 75.
_QP_ROOM = 75
# Printable ASCII not ending in a space (b2a_qp escapes a trailing space, and a lone "." for SMTP's sake):
# quoted-printable escapes only its "=" (qp_value's quick way).
_QP_ASCII = re.compile(r"[ -~]*[!-~]")


@dataclass(frozen=True)
class Hole:
    """A place filled per recipient: a header line ("to", "message-id", "list-unsubscribe") or a value."""

    kind: str  # "to", "message-id", "list-unsubscribe"; a value: "text" (as is), "html" or "attr" (escaped)
    index: int = 0  # which value, for "text" and "html"


@dataclass(frozen=True)
class BodySlot:
    """Where a body's pieces go in the skeleton: "text" or "html"."""

    name: str


Piece = bytes | Hole
SkeletonPiece = bytes | Hole | BodySlot


def qp(text: str | bytes, room: int = 76) -> bytes:
    """Quoted-printable with CRLF line ends; the last line is kept within `room` characters."""
    if isinstance(text, str):
        # A value may hold a line break (a multi-line CSV cell): one kind only, or b2a_qp mixes them.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.encode("utf-8") if isinstance(text, str) else text
    if not data:
        return b""
    # The input has no line breaks of its own here, so every "\n" in the output is a soft break.
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    start = encoded.rfind(b"\n") + 1
    while len(encoded) - start > room:
        cut = start + room
        # Never split an "=XX" escape across a soft break.
        if encoded[cut - 1 : cut] == b"=":
            cut -= 1
        elif encoded[cut - 2 : cut - 1] == b"=":
            cut -= 2
        encoded = encoded[:cut] + b"=\n" + encoded[cut:]
        start = cut + 2
    return encoded.replace(b"\n", b"\r\n")


def qp_value(value: str) -> bytes:
    """A recipient's value inside a body: its own quoted-printable line(s), ended by a soft break."""
    if not value:
        return b""
    if value.isascii() and value.isprintable() and value[-1] != " " and value != ".":  # what _QP_ASCII matches, quicker
        # Printable ASCII (most names, every link): what qp() gives, without b2a_qp and its re-cutting.
        # Only "=" is escaped; lines of at most 75, never cutting an "=3D" (qp()'s own rule for its last line).
        text = value.replace("=", "=3D")
        if len(text) > _QP_ROOM:
            lines, start = [], 0
            while len(text) - start > _QP_ROOM:
                cut = start + _QP_ROOM
                if text[cut - 1] == "=":
                    cut -= 1
                elif text[cut - 2] == "=":
                    cut -= 2
                lines.append(text[start:cut])
                start = cut
            lines.append(text[start:])
            text = "=\r\n".join(lines)
        return text.encode("ascii") + b"=\r\n"
    return qp(value, _QP_ROOM) + b"=\r\n"


def qp_block(text: str) -> bytes:
    """Whole lines of static text (each ending in a newline) as quoted-printable with CRLF."""
    if not text:
        return b""
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\n", b"\r\n")


def holed_body(text: str, token: re.Pattern[str] | None, kind: str) -> list[Piece]:
    """A rendered body (with tokens where recipient values go) as quoted-printable pieces and holes.

    In HTML a hole is "html" in text and "attr" inside a tag, so a value can be escaped the way
    the HTML serializer (css-inline's) would have written it: the fill-in equals a full render.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if token is None:
        return [qp_block(text)]
    kinds = iter(
        [
            kind if kind != "html" or text.rfind("<", 0, m.start()) <= text.rfind(">", 0, m.start()) else "attr"
            for m in token.finditer(text)
        ]
    )
    pieces: list[Piece] = []
    static: list[str] = []
    for line in text.split("\n")[:-1]:
        parts = token.split(line)
        if len(parts) == 1:
            static.append(line + "\n")
            continue
        if static:
            pieces.append(qp_block("".join(static)))
            static = []
        for i, part in enumerate(parts):
            if i % 2:
                pieces.append(Hole(next(kinds), int(part)))
            elif i == len(parts) - 1:
                pieces.append(qp(part) + b"\r\n")
            elif part:
                pieces.append(qp(part, _QP_ROOM) + b"=\r\n")
    if static:
        pieces.append(qp_block("".join(static)))
    return pieces


def escape_text(value: str) -> str:
    """A value in HTML text, escaped as the HTML serializer escapes text."""
    return value.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attribute(value: str) -> str:
    """A value in a quoted HTML attribute, escaped as the HTML serializer escapes attributes."""
    return value.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace('"', "&quot;")


def leaf(content_type: str, body: Sequence[SkeletonPiece], extra: str = "") -> tuple[bytes, list[SkeletonPiece]]:
    """A single part: its MIME headers and its body pieces."""
    head = f"Content-Type: {content_type}\r\n{extra}".encode("ascii")
    return head, list(body)


def text_leaf(subtype: str, slot: str) -> tuple[bytes, list[SkeletonPiece]]:
    """A UTF-8 quoted-printable text part whose body comes from a slot."""
    return leaf(f"text/{subtype}; charset=utf-8", [BodySlot(slot)], "Content-Transfer-Encoding: quoted-printable\r\n")


def encoded_part(raw: bytes) -> tuple[bytes, list[SkeletonPiece]]:
    """A part serialized by the email package (headers, blank line, body) as head and body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    return head + b"\r\n", [body if body.endswith(b"\r\n") else body + b"\r\n"]


def multipart(
    subtype: str, boundary: str, children: Sequence[tuple[bytes, list[SkeletonPiece]]]
) -> tuple[bytes, list[SkeletonPiece]]:
    """A multipart node; each child's body ends in CRLF, and the CRLF before a delimiter is the delimiter's."""
    head = f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n'.encode("ascii")
    body: list[SkeletonPiece] = []
    for i, (child_head, child_body) in enumerate(children):
        body.append((b"" if i == 0 else b"\r\n") + f"--{boundary}\r\n".encode("ascii") + child_head + b"\r\n")
        body.extend(child_body)
    body.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return head, body


class Compiled:
    """One variant of the message as a flat list: bytes, and slot numbers for the holes."""

    __slots__ = ("pieces", "holes", "_digest", "program")

    def __init__(self, skeleton: Sequence[SkeletonPiece], bodies: dict[str, list[Piece]]):
        flat: list[Piece] = []
        for piece in skeleton:
            if isinstance(piece, BodySlot):
                flat.extend(bodies[piece.name])
            else:
                flat.append(piece)
        holes: list[Hole] = []
        pieces: list[bytes | int] = []
        for piece in flat:
            if isinstance(piece, Hole):
                if piece not in holes:
                    holes.append(piece)
                pieces.append(holes.index(piece))
            elif pieces and isinstance(pieces[-1], bytes):
                pieces[-1] += piece
            elif piece:
                pieces.append(piece)
        self.pieces = pieces
        self.holes = holes
        self._digest: bytes | None = None
        self.program: tuple[tuple[int, int], ...] | None = None  # the holes as prepared.py's fill codes, made there

    def digest(self) -> bytes:
        """sha256 of the pieces and where each hole goes (computed once): with the holes' bytes, it fixes the message."""
        if self._digest is None:
            h = hashlib.sha256()
            for p in self.pieces:
                if isinstance(p, bytes):
                    h.update(b"b" + len(p).to_bytes(8, "big") + p)
                else:
                    h.update(b"h" + p.to_bytes(4, "big"))
            self._digest = h.digest()
        return self._digest

    def fill(self, value: Callable[[Hole], bytes]) -> bytes:
        """The message for one recipient: each hole encoded once, everything else as prepared."""
        return b"".join(self.assemble([value(h) for h in self.holes]))

    def assemble(self, encoded: Sequence[bytes]) -> list[bytes]:
        """The pieces the message is joined from, given each hole's bytes (in `holes` order)."""
        return [p if isinstance(p, bytes) else encoded[p] for p in self.pieces]
