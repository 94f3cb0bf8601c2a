"""`distribute channels --check` for an email channel: the Maildir is writable, the SMTP login works, the ESP key is good.

Nothing is sent: SMTP stops after AUTH (QUIT, no MAIL FROM); an ESP is asked only its documented
read-only account endpoint (esp.py, `Esp.check`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import DeliveryError
from ..base import AccountCheck

if TYPE_CHECKING:
    from ...workspace.config import Channel
    from .adapter import EmailAdapter
    from .settings import EmailSettings


def check(adapter: EmailAdapter, channel: Channel) -> AccountCheck:
    """The channel's transport tried without sending: Maildir folder, SMTP login or the ESP's account."""
    s: EmailSettings = channel.settings
    if s.transport == "maildir":
        from .._transport.files import check_writable, shown_folder

        folder = adapter._maildir(channel)
        ok, detail = check_writable(
            folder, "Maildir " + shown_folder(folder, adapter.workspace.root), adapter.workspace.root
        )
        return AccountCheck(ok, detail)
    if s.transport == "smtp":
        from .._transport.smtp import try_login

        password = s.smtp.password.reveal(channel.name) if s.smtp.password is not None else ""
        try:
            return AccountCheck(True, "SMTP " + try_login(s.smtp, password, adapter._helo(channel)))
        except DeliveryError as exc:
            advice = ""
            if "refused the login" in exc.message and s.smtp.password is not None:
                advice = f" (the password is the environment variable {s.smtp.password.env})"
            return AccountCheck(False, exc.message + advice)
    from .esp import esp_for

    try:
        return AccountCheck(True, esp_for(channel).check())
    except DeliveryError as exc:
        return AccountCheck(False, exc.message)
