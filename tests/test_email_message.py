"""The fill-in machinery on its own: any text, any values, any names decode back exactly (hypothesis)."""

from __future__ import annotations

import binascii
import re
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from distribute.adapters.email import headers
from distribute.adapters.email.message import (
    Compiled,
    Hole,
    escape_attribute,
    escape_text,
    holed_body,
    qp,
    qp_value,
)

TOKEN = re.compile(r"zqabcv(\d+)qz")
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=300)
VALUE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)


def with_tokens(parts: list[str], count: int) -> str:
    return "".join(p + (f"zqabcv{i % count}qz" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(TEXT, min_size=1, max_size=6), values=st.lists(VALUE, min_size=1, max_size=3))
def test_a_body_with_holes_decodes_to_the_text_with_the_values(parts: list[str], values: list[str]) -> None:
    body = with_tokens(parts, len(values))
    compiled = Compiled([b"X: y\r\n\r\n", *holed_body(body, TOKEN, "text")], {})
    data = compiled.fill(lambda hole: qp_value(values[hole.index]))
    encoded = data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n")), "quoted-printable lines stay within 76"
    assert b"\n" not in encoded.replace(b"\r\n", b"")

    def one_kind(text: str) -> str:  # a line break in a value is a line break, however it was written
        return text.replace("\r\n", "\n").replace("\r", "\n")

    # The body gets a final line end if it has none; then each token becomes its value.
    expected = TOKEN.sub(lambda m: one_kind(values[int(m.group(1))]), body if body.endswith("\n") else body + "\n")
    assert binascii.a2b_qp(encoded).decode("utf-8").replace("\r\n", "\n") == expected


def test_html_holes_know_text_from_attributes() -> None:
    pieces = holed_body('<p title="zqabcv0qz">zqabcv0qz</p>', TOKEN, "html")
    assert [p.kind for p in pieces if isinstance(p, Hole)] == ["attr", "html"]
    assert escape_attribute('a & "b" <c>') == "a &amp; &quot;b&quot; <c>"
    assert escape_text('a & "b" <c>\xa0') == 'a &amp; "b" &lt;c&gt;&nbsp;'


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(st.characters(blacklist_categories=("Cs",)), max_size=80),
    local=st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", fullmatch=True),
)
def test_any_display_name_reads_back_exactly(name: str, local: str) -> None:
    address = f"{local.replace('..', '.')}@example.org"
    line = headers.address("To", address, name)
    assert line.isascii() and all(len(part) <= 998 for part in line.split(b"\r\n"))
    message = BytesParser(policy=policy.default).parsebytes(line + b"\r\n")
    parsed = message["To"].addresses[0]
    assert parsed.addr_spec == address
    words = headers.phrase_words(name)
    if any(a.startswith("=?") and b.startswith("=?") for a, b in zip(words, words[1:], strict=False)):
        # A non-ASCII run too long for one encoded word. Python's address parser keeps the space between
        # adjacent encoded words, which RFC 2047 §6.2 says to drop; the RFC decoder reads them exactly.
        assume(all(w.startswith("=?") for w in words))
        raw = line.decode("ascii")[len("To: ") :].rsplit("<", 1)[0].strip()
        assert str(make_header(decode_header(raw))) == headers.display(name)
    else:
        assert parsed.display_name == headers.display(name)


@settings(max_examples=300, deadline=None)
@given(subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=200))
def test_any_subject_reads_back_exactly(subject: str) -> None:
    line = headers.unstructured("Subject", subject)
    assert line.isascii()
    folded = line.split(b"\r\n")
    assert all(len(part) <= 78 for part in folded if b" " in part.strip()), "folded wherever a space allows"
    value = BytesParser(policy=policy.default).parsebytes(line + b"\r\n")["Subject"]
    assert value == headers.clean(subject)


ASCII_VALUE = st.text(st.sampled_from("ab=. -&;/:?~!<>x"), max_size=400)


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(VALUE, ASCII_VALUE))
def test_a_value_is_encoded_as_the_general_quoted_printable_path_encodes_it(value: str) -> None:
    # qp_value takes a quick way for printable ASCII (names, links, with "=" in them): byte for byte what
    # b2a_qp and qp()'s cut of the last line to 75 give, so the messages stay the ones sent before.
    assert qp_value(value) == (qp(value, 75) + b"=\r\n" if value else b"")


@settings(max_examples=500, deadline=None)
@given(
    name=st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=80),
        st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]{0,90}", fullmatch=True),
    ),
    local=st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,60}[a-z0-9]", fullmatch=True),
)
def test_a_short_plain_to_line_is_the_folded_one(name: str, local: str) -> None:
    # headers.address writes "To: Name <addr>" at once when it fits: exactly what folding the words gives.
    address = f"{local}@example.org"
    assert headers.address("To", address, name) == headers.fold_words(
        "To", [*headers.phrase_words(name), f"<{address}>"]
    )
