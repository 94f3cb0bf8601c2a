"""`distribute send RELEASE --proof ADDRESS`: each channel's rendition mailed to the proof readers, and nothing else.

Each selected channel is rendered as `--dry-run` renders it (told its planned due time). An email
channel's proof is its own message for one of its recipients (the first mailed, or `--as`), marked
as a proof (adapters/email/proof.py) and handed to that channel's own transport for the proof
addresses only. Any other channel's proof is its plain rendition (send/proof_text.py: the post,
the feed item, the wire copy, with the counts against the platform's limits), mailed through the
email channel named by `--via`, else by config.toml's `proof_channel`.

A proof is not a delivery: the ledger is never opened (no rows, no claims, no file created),
nothing is posted, no feed or wire file is written, and the embargo does not hold it back (its
banner says the release is embargoed). Every address, channel, secret and render is checked
before the first proof leaves, so a refusal sends nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..adapters.email import proof as email_proof
from ..adapters.email.adapter import EmailAdapter
from ..adapters.email.headers import mailbox
from ..adapters.email.recipients import check_address
from ..errors import ConfigError, DeliveryError, DistributeError
from ..plan import ChannelPlan, plan
from ..text.i18n import language
from ..times import show
from .proof_text import rendition

if TYPE_CHECKING:
    from ..adapters.base import Delivery
    from ..release import Release
    from ..text.i18n import Lang
    from ..workspace.config import Channel, Workspace


@dataclass(frozen=True)
class Proof:
    """One proof, ready to leave: which channel it shows, to whom, through which email channel."""

    channel: str
    adapter: str
    to: str
    shows: str  # the address of the recipient whose message it shows; "" for a non-email channel
    via: str  # the email channel whose transport carries it (the channel itself for email)
    subject: str
    delivery: Delivery


@dataclass(frozen=True)
class ProofSent:
    """What became of one proof: handed over (with the transport's answer), or the error."""

    proof: Proof
    detail: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def proof_addresses(values: Sequence[str]) -> list[str]:
    """The --proof addresses, checked (email-validator, no DNS), each once."""
    out: list[str] = []
    for value in values:
        try:
            address = check_address(value.strip())
        except ValueError as exc:
            raise DistributeError(
                f"--proof {value!r} is not an email address ({exc}); nothing was sent: give the address "
                "the proof should go to, e.g. --proof you@example.org"
            ) from None
        if address.lower() not in {a.lower() for a in out}:
            out.append(address)
    return out


def prepare(
    workspace: Workspace,
    release: Release,
    to: Sequence[str],
    channels: Sequence[str] = (),
    *,
    as_email: str | None = None,
    via: str | None = None,
    now: dt.datetime,
) -> list[Proof]:
    """Every proof of the selected channels, rendered and checked; nothing has left yet."""
    addresses = proof_addresses(to)
    if not addresses:
        raise DistributeError("--proof needs an address: --proof you@example.org")
    plans = plan(workspace, release, channels)
    mail = [p for p in plans if isinstance(p.adapter, EmailAdapter)]
    others = [p for p in plans if not isinstance(p.adapter, EmailAdapter)]
    if as_email is not None and not mail:
        raise DistributeError("--as picks the recipient of an email channel, and none is selected; add -c NEWSLETTER")
    # --via is checked even when only email channels are proofed: a typo should not pass unseen.
    carrier = _via(workspace, via, others[0].channel.name if others else "") if others or via else None
    carrier = carrier if others else None
    for channel in [p.channel for p in mail] + ([carrier] if carrier is not None else []):
        needs = email_proof.transport_needs(channel)
        if needs:
            raise ConfigError(
                f"{channel.name}: a proof goes over its transport ({channel.settings.transport}), which needs "
                f"{', '.join(needs)}; nothing was sent: set it, or proof another channel with -c"
            )
    lang = language(workspace, release.language)
    embargo = _embargo_line(workspace, release, lang, now)
    proofs: list[Proof] = []
    for p in mail:
        proofs += _email_proofs(workspace, release, p, addresses, as_email, lang, embargo, now)
    for p in others:
        assert carrier is not None
        proofs += _plain_proofs(workspace, release, p, carrier, addresses, lang, embargo, now)
    return proofs


def send(workspace: Workspace, proofs: Sequence[Proof]) -> list[ProofSent]:
    """Hand each proof to its email channel's transport, one adapter (and connection) per channel."""
    adapters: dict[str, EmailAdapter] = {}
    done: list[ProofSent] = []
    try:
        for proof in proofs:
            channel = workspace.channels[proof.via]
            adapter = adapters.get(proof.via)
            if adapter is None:
                made = workspace.adapter(channel)
                assert isinstance(made, EmailAdapter)
                adapter = adapters[proof.via] = made
            try:
                receipt = adapter.deliver(proof.delivery, channel)
            except DeliveryError as exc:
                done.append(ProofSent(proof, error=str(exc)))
            else:
                done.append(ProofSent(proof, detail=receipt.detail or receipt.url or receipt.remote_id))
    finally:
        for adapter in adapters.values():
            adapter.close()
    return done


def _via(workspace: Workspace, via: str | None, example: str) -> Channel:
    """The email channel that carries proofs of the other channels: --via, else config's proof_channel."""
    name = via or workspace.config.proof_channel
    mail = [c.name for c in workspace.channels.values() if isinstance(workspace.adapter(c), EmailAdapter)]
    if not name:
        raise DistributeError(
            f"{example} is not an email channel, so its proof is mailed through one; nothing was sent: name it "
            f'with --via CHANNEL or proof_channel = "CHANNEL" in config.toml (email channels: {", ".join(mail) or "none"})'
        )
    path, line = None, None
    if not via and workspace.config_path is not None:
        from ..workspace.toml_lines import load_toml_file

        path, line = workspace.config_path, load_toml_file(workspace.config_path)[1].line_of((), "proof_channel")
    where = "--via" if via else "proof_channel"
    channel = workspace.channels.get(name)
    if channel is None or name not in mail:
        what = "no channel" if channel is None else f"a {channel.adapter} channel"
        raise ConfigError(
            f"{where} {name!r} is {what}; proofs are mailed through an email channel: {', '.join(mail) or 'none'}",
            path=path,
            line=line,
        )
    return channel


def _embargo_line(workspace: Workspace, release: Release, lang: Lang, now: dt.datetime) -> str:
    if not release.is_embargoed(now):
        return ""
    assert release.embargo is not None
    when = show(release.embargo, workspace.tz) if lang.english else lang.moment(release.embargo)
    return lang.gettext("The release is embargoed until %(when)s.", when=when)


def _email_proofs(
    workspace: Workspace,
    release: Release,
    p: ChannelPlan,
    addresses: list[str],
    as_email: str | None,
    lang: Lang,
    embargo: str,
    now: dt.datetime,
) -> list[Proof]:
    assert isinstance(p.adapter, EmailAdapter)
    recipient = email_proof.find_recipient(workspace, p.channel, as_email)
    data = email_proof.channel_message(p.adapter, release, p.channel, p.context(), recipient)
    shows = mailbox(recipient.name, recipient.email)
    banner = lang.gettext(
        "PROOF of %(channel)s, as %(recipient)s will receive it; sent to you only, and its unsubscribe link "
        "unsubscribes nobody.",
        channel=p.channel.name,
        recipient=shows,
    )
    banner = f"{banner} {embargo}" if embargo else banner
    out = []
    for to in addresses:
        seed = f"{release.sha256}\n{p.channel.name}\n{recipient.key}"
        marked = email_proof.mark(
            data, to=to, banner=banner, message_id=email_proof.proof_id(workspace, p.channel, seed, to, now), date=now
        )
        delivery = email_proof.proof_delivery(workspace, p.channel, release.id, p.channel.name, to, marked, now)
        subject = email_proof.subject(marked)
        out.append(Proof(p.channel.name, p.channel.adapter, to, recipient.email, p.channel.name, subject, delivery))
    return out


def _plain_proofs(
    workspace: Workspace,
    release: Release,
    p: ChannelPlan,
    via: Channel,
    addresses: list[str],
    lang: Lang,
    embargo: str,
    now: dt.datetime,
) -> list[Proof]:
    banner = lang.gettext(
        "PROOF of %(channel)s: what it will publish. Nothing has been posted or published.", channel=p.channel.name
    )
    text = "\n".join(x for x in (banner, embargo) if x) + "\n\n" + rendition(p, list(p.deliveries()))
    subject = f"{p.channel.name}: {release.title}"
    out = []
    for to in addresses:
        seed = f"{release.sha256}\n{p.channel.name}"
        data = email_proof.plain_message(
            workspace,
            via,
            to=to,
            subject=subject,
            text=text,
            message_id=email_proof.proof_id(workspace, via, seed, to, now),
            date=now,
        )
        delivery = email_proof.proof_delivery(workspace, via, release.id, p.channel.name, to, data, now)
        out.append(
            Proof(p.channel.name, p.channel.adapter, to, "", via.name, email_proof.SUBJECT_MARK + subject, delivery)
        )
    return out
