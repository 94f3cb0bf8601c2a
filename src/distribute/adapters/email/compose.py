"""The bodies and subject of an email channel: templates rendered once, with tokens for recipient values.

Templates see `recipient` (email, name, and every other CSV column) and `unsubscribe_url`. For
speed they are rendered once per *variant* (which recipient fields are empty or not), with
tokens in place of the values; each recipient's message is then a fill-in. A template may print
those values and test whether they are set; if it does more (compares them, changes their case),
the check against a real render of the variant's first recipient fails, and the channel falls
back to rendering every message in full: slower, never wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...errors import TemplateError
from ...text.wrap import fill

if TYPE_CHECKING:
    from ...release import Release
    from ...text.i18n import Lang
    from ...workspace.config import Channel, Workspace
    from .recipients import Recipient

EMAIL, NAME, UNSUBSCRIBE = 0, 1, 2  # value indexes; CSV columns follow from 3


class NeedsFullRender(Exception):
    """The templates use recipient values in a way a fill-in cannot reproduce."""


class Token(str):
    """A recipient value's stand-in: it may be printed or tested for emptiness, nothing else."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise NeedsFullRender("a template inspects a recipient value")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = _refuse
    upper = lower = title = capitalize = strip = lstrip = rstrip = split = replace = _refuse
    startswith = endswith = format = __getitem__ = __mod__ = __add__ = __radd__ = _refuse
    __hash__ = str.__hash__


class RecipientView:
    """`recipient` in templates: .email, .name and any other column, by attribute or by key."""

    def __init__(self, email: str, name: str, fields: dict[str, str]):
        self.email, self.name, self.fields = email, name, fields

    def __getattr__(self, key: str) -> str:
        fields: dict[str, str] = self.__dict__["fields"]
        try:
            return fields[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> str:
        return {"email": self.email, "name": self.name, **self.fields}[key]


def wrap(text: str, width: int) -> str:
    """Paragraphs wrapped at `width`, never breaking a word or URL."""
    if not width:
        return text
    return "\n\n".join(fill(p, width) for p in re.split(r"\n\s*\n", text.strip()) if p.strip())


def embargo_notice(
    release: Release, due: Any, workspace: Workspace, embargoed_copy: bool, lang: Lang | None = None
) -> str:
    """EMBARGOED UNTIL <local time, zone (UTC)> when an embargoed copy goes out before the embargo,
    in the release's language ("SPERRFRIST: 2. Dezember 2026, 10:00 MEZ (09:00 UTC)")."""
    from ...text.i18n import language
    from ...times import show

    if not embargoed_copy or release.embargo is None or due >= release.embargo:
        return ""
    lang = lang or language(workspace, release.language)
    when = show(release.embargo, workspace.tz) if lang.english else lang.moment(release.embargo)
    return lang.gettext("EMBARGOED UNTIL %(when)s", when=when)


class Composer:
    """Renders one channel's subject and bodies for a release."""

    def __init__(
        self,
        workspace: Workspace,
        release: Release,
        channel: Channel,
        context: dict[str, Any],
        base: str,
        nonce: str,
        lang: Lang | None = None,
    ):
        self.workspace, self.release, self.channel = workspace, release, channel
        self.context = context
        self.lang = lang
        self.text_name = f"{base}.txt.j2"
        self.html_name = f"{base}.html.j2" if workspace.templates.exists(f"{base}.html.j2") else None
        if not workspace.templates.exists(self.text_name):
            raise TemplateError(
                f"channel {channel.name}: template {self.text_name!r} not found "
                f"(an email template is a .txt.j2 file, with an optional .html.j2 beside it)"
            )
        self.nonce = nonce
        self.pattern = re.compile(f"zq{nonce}v(\\d+)qz")

    def token(self, index: int) -> Token:
        return Token(f"zq{self.nonce}v{index}qz")

    def render(self, view: RecipientView, unsubscribe: str) -> tuple[str, str | None]:
        """Text and (pre-inlining) HTML for one recipient view."""
        ctx = {**self.context, "recipient": view, "unsubscribe_url": unsubscribe}
        render = self.workspace.templates.render
        text = render(self.text_name, lang=self.lang, **ctx)
        markup = render(self.html_name, lang=self.lang, **ctx) if self.html_name else None
        notice = self.context["embargo_notice"]
        if notice:
            # The notice must head the body (before the headline); a template that drops it would
            # hand an embargoed release to journalists without the embargo.
            for name, body, title in (
                (self.text_name, text, self.release.title),
                (self.html_name, markup, html_escape(self.release.title)),
            ):
                if body is None:
                    continue
                start = max(body.find("<body"), 0) if body is markup else 0
                at, headline = body.find(notice, start), body.find(title, start)
                if at < 0 or 0 <= headline < at:
                    raise TemplateError(
                        f"template {name!r} must show {{{{ embargo_notice }}}} at the top: "
                        f"channel {self.channel.name} sends this release before its embargo"
                    )
        return text, markup

    def variant(
        self, columns: list[str], recipient: Recipient, values: list[str], unsubscribe: bool
    ) -> tuple[str, str | None]:
        """Bodies with tokens for this recipient's variant, checked against a real render of it."""
        tokens = RecipientView(
            self.token(EMAIL),
            self.token(NAME) if recipient.name else "",
            {c: (self.token(3 + i) if recipient.fields.get(c) else "") for i, c in enumerate(columns)},
        )
        text_t, html_t = self.render(tokens, self.token(UNSUBSCRIBE) if unsubscribe else "")
        real = RecipientView(recipient.email, recipient.name, recipient.fields)
        text_r, html_r = self.render(real, values[UNSUBSCRIBE])
        if self.substitute(text_t, values, str) != text_r:
            raise NeedsFullRender("text template")
        if html_t is not None and self.substitute(html_t, values, html_escape) != html_r:
            raise NeedsFullRender("html template")
        if html_t is not None:
            inlined = inline_css(html_t)
            if sorted(self.pattern.findall(inlined)) != sorted(self.pattern.findall(html_t)):
                raise NeedsFullRender("CSS inlining moved a recipient value")
            html_t = inlined
        return text_t, html_t

    def substitute(self, text: str, values: list[str], escape: Callable[[str], str]) -> str:
        return self.pattern.sub(lambda m: escape(values[int(m.group(1))]), text)

    def full(self, recipient: Recipient, values: list[str]) -> tuple[str, str | None]:
        """Both bodies rendered for one recipient with real values (the slow, general path)."""
        text, markup = self.render(
            RecipientView(recipient.email, recipient.name, recipient.fields), values[UNSUBSCRIBE]
        )
        return text, inline_css(markup) if markup is not None else None


def html_escape(value: str) -> str:
    """Exactly what Jinja's autoescape does to a value."""
    from markupsafe import escape

    return str(escape(value))


def inline_css(markup: str) -> str:
    """CSS from <style> moved into style attributes (Gmail drops <style> in many cases)."""
    import css_inline

    try:
        return str(css_inline.inline(markup))
    except ValueError as exc:
        raise TemplateError(f"CSS inlining failed: {exc}") from None


def render_subject(
    workspace: Workspace, channel: Channel, source: str, context: dict[str, Any], lang: Lang | None = None
) -> str:
    """The subject from the channel's subject template (no recipient values: it is one for all)."""
    import jinja2

    try:
        text = workspace.templates.env_for(lang).from_string(source).render(**context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"subject of channel {channel.name}: {exc.message} (the subject is the same for "
            "every recipient; it cannot use recipient values)",
            path=channel.path,
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"subject template: {exc.message}", path=channel.path, line=channel.source.line_of((), "subject")
        ) from None
    return " ".join(text.split())
