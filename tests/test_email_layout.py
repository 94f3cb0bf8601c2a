"""The newsletter fits a phone: fluid from 320 px up, nothing wider than the window, in headless Chromium.

The message is the one `send --dry-run` writes (its HTML part, inline images given back as data
URLs, as a mail client shows cid: parts), opened at phone and desktop widths. A long URL, a code
line and a table are what widen a fixed design; each must stay within the viewport.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import pytest

from conftest import write_release
from email_support import parse

LONG_URL = (
    "https://example.org/reports/" + "very-long-path-segment-" * 8 + "final.pdf?utm_source=newsletter&x=" + "9" * 40
)
CODE = "curl --fail --silent --show-error " + "--header 'X-Very-Long-Header-Name: value' " * 4 + LONG_URL

BODY = f"""Our report is at {LONG_URL} and as a link: [the report]({LONG_URL}).

    {CODE}

```
{CODE}
```

| Country | Spending 2024 (% of GDP) | Spending 2035 target (% of GDP) | Notes on the commitment and its timetable |
|---|---|---|---|
| South Korea | 2.3 | 3.5 | {"Contributions-under-the-special-measures-agreement" * 2} |
| Germany | 2.1 | 5.0 | Core defence 3.5 plus 1.5 for resilience and infrastructure |

An inline `{CODE}` too.
"""


def _png(width: int, height: int) -> bytes:
    import struct

    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _newsletter_html(workspace: Path, cli) -> str:
    (workspace / "images").mkdir()
    (workspace / "images" / "wide.png").write_bytes(_png(1600, 400))
    write_release(
        workspace,
        "wide",
        'title = "A release with a long URL, code and a table"\n'
        'summary = "Checks the layout on phones."\n'
        "publish_at = 2025-07-01T09:00:00+09:00\n"
        f'url = "{LONG_URL}"\n'
        'channels = ["newsletter"]\n'
        '[[images]]\npath = "images/wide.png"\nalt = "A wide chart"\n',
        BODY,
    )
    result = cli("send", "releases/wide.md", "--dry-run", "--outbox", "outbox")
    assert result.exit_code == 0, result.output
    manifest = json.loads((workspace / "outbox" / "manifest.json").read_text(encoding="utf-8"))
    first = manifest["deliveries"][0]["files"][0]
    message = parse((workspace / "outbox" / first).read_bytes())
    markup = message.get_body(("html",)).get_content()
    # A mail client shows the inline images (cid:) from the message's own parts.
    for part in message.walk():
        cid = part["Content-ID"]
        if cid:
            data = base64.b64encode(part.get_payload(decode=True)).decode()
            markup = markup.replace(f"cid:{cid.strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    assert "cid:" not in markup
    return markup


@pytest.mark.slow
@pytest.mark.parametrize("width", [320, 375, 600, 800])
def test_newsletter_has_no_horizontal_scroll_on_phones_and_desktop(
    workspace: Path,
    cli,
    page,
    width: int,
) -> None:
    markup = _newsletter_html(workspace, cli)
    page.set_viewport_size({"width": width, "height": 800})
    page.set_content(markup, wait_until="load")
    assert page.locator(".content table th").count() == 4 and page.locator("pre").count() == 2
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the newsletter is {scroll} px wide in a {width} px window (it scrolls sideways)"
    # Nothing sticks out on the right: not the table, the code, the link, the image.
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > w + 0.5)
              .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 40))""",
        width,
    )
    assert wide == [], f"wider than {width} px: {wide}"
    if width == 375:
        page.screenshot(path=str(workspace.parent / "newsletter-375.png"), full_page=True)  # kept out of the repo
    image = page.evaluate("(() => { const i = document.querySelector('img'); return [i.naturalWidth, i.width]; })()")
    assert image[0] == 1600 and 0 < image[1] <= min(width, 600), f"image shown at {image[1]} px in {width} px"
    # Readable type: the body text is no smaller than 16 px at any width (no shrink-to-fit needed).
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.content p, td p')).fontSize)")
    assert size >= 16
    if width >= 600:
        # The design keeps its 600 px column on a desktop, centred.
        column = page.evaluate("document.querySelector('table table, .container').getBoundingClientRect().width")
        assert 590 <= column <= 600


def test_newsletter_html_is_hybrid_fluid_with_an_outlook_fallback(workspace: Path, cli) -> None:
    """The source itself: a max-width fluid column, an MSO-only fixed table, and the CSS inlined."""
    write_release(workspace, "plain", 'title = "T"\npublish_at = 2025-07-01T09:00:00+09:00\nchannels = ["newsletter"]')
    result = cli("send", "releases/plain.md", "--dry-run", "--outbox", "outbox")
    assert result.exit_code == 0, result.output
    eml = next((workspace / "outbox" / "newsletter").glob("*.eml"))
    markup = parse(eml.read_bytes()).get_body(("html",)).get_content()
    assert "<style" not in markup
    assert re.search(r'<table[^>]*class="container"[^>]*style="[^"]*max-width: 600px', markup)
    assert re.search(r'<table[^>]*class="container"[^>]*width="100%"', markup), "the column is fluid"
    assert re.search(r"<!--\[if mso\]>\s*<table[^>]*width=\"600\"", markup), "Outlook gets a fixed 600 px table"
