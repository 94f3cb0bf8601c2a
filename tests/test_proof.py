"""`distribute send RELEASE --proof ADDRESS`: a proof to yourself, through the real command line.

Against the loopback SMTP server (aiosmtpd) and HTTP tripwires that count every request; the
ledger is a real SQLite file, compared byte for byte; time pinned with time-machine.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, ROOT
from email_servers import smtp_server
from email_support import add_table, bodies, parse, set_keys, smtp_channel
from tripwire import point_channels_at, set_every_secret, tripwire

UTC = dt.timezone.utc
PUBLISH = dt.datetime(2025, 6, 30, 0, 0, tzinfo=UTC)  # 09:00 KST, the example's publish_at and (here) its embargo
BEFORE = PUBLISH - dt.timedelta(days=1)
AFTER = PUBLISH + dt.timedelta(hours=2)
ME, EDITOR = "proof.reader@example.org", "editor@example.org"
NEWSLETTER = {"kim.minji@example.org", "jane.smith@example.com", "pat.obrien@example.net", "reader@example.org"}
PRESS = {"desk@herald.example.com", "park.jiwoo@example.org", "a.martin@example.net"}


def edit_release(ws: Path, extra: str = "", **replace: str) -> None:
    """Add front-matter lines after publish_at, and replace whole lines `key = ...`."""
    path = ws / EXAMPLE_RELEASE
    text = path.read_text(encoding="utf-8")
    for key, value in replace.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
    if extra:
        text = re.sub(r"^(publish_at = .*)$", lambda m: m.group(1) + "\n" + extra.strip(), text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")


def embargoed(ws: Path) -> None:
    edit_release(ws, "embargo = 2025-06-30T09:00:00+09:00")


def proofs_by(sink, channel_line: str) -> list:  # type: ignore[no-untyped-def]
    """The messages the sink took whose first body line (the banner) names `channel_line`."""
    found = []
    for _, rcpts, data in sink.messages:
        message = parse(data)
        text, _ = bodies(message)
        if text.startswith(channel_line):
            found.append((rcpts, message))
    return found


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- what reaches whom --------------------------------------------------------------------------


def test_a_proof_reaches_only_the_proof_addresses_and_nothing_posts_publishes_or_records(
    workspace: Path,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from distribute.adapters.email.unsubscribe import token

    embargoed(workspace)
    with tripwire() as wire, smtp_server() as sink:
        point_channels_at(workspace, wire)  # every social API, upload and SMTP host: the tripwire; all enabled
        secrets = set_every_secret(workspace, monkeypatch)
        set_keys(workspace, "wire-desk", 'transport = "http"')
        add_table(workspace, "wire-desk", f'[http]\nurl = "{wire.url}/ingest"\ntoken = {{ env = "WIRE_API_TOKEN" }}')
        monkeypatch.setenv("WIRE_API_TOKEN", "SeCrEt-WIRE-9f3a7c")
        smtp_channel(workspace, "newsletter", sink.port)
        smtp_channel(workspace, "press-list", sink.port)
        with time_machine.travel(BEFORE, tick=False):
            result = cli("send", EXAMPLE_RELEASE, "--proof", ME, "--proof", EDITOR, "--via", "newsletter")
        touched = wire.touched
    assert result.exit_code == 0, result.output + result.stderr
    channels = [
        "newsletter",
        "press-list",
        "bluesky",
        "linkedin",
        "mastodon",
        "rss",
        "threads",
        "wire-desk",
        "wire-desk-ko",
        "x",
    ]
    expected = []
    for channel in channels:
        shown = {"newsletter": "as kim.minji@example.org", "press-list": "as desk@herald.example.com"}
        for to in (ME, EDITOR):
            expected.append(f"proof: {channel} → {to} ({shown.get(channel, 'via newsletter')})")
    assert sorted(result.output.splitlines()) == sorted(expected)
    # Only the proof addresses were mailed, one proof per channel each; nothing else was touched.
    assert sorted(r for _, rcpts, _ in sink.messages for r in rcpts) == sorted([ME, EDITOR] * len(channels))
    assert touched == 0, "no social network, wire API or upload was contacted"
    assert not (workspace / ".distribute").exists(), "the ledger was not even created"
    assert not (workspace / "public").exists() and not (workspace / "wire").exists()
    assert not (workspace / "wire-ko").exists()
    assert not any(value in result.output + result.stderr for value in secrets.values())

    # The newsletter's own message for its first recipient, marked as a proof.
    ((rcpts, mail),) = [(r, m) for r, m in proofs_by(sink, "PROOF of newsletter") if r == [ME]]
    text, markup = bodies(mail)
    assert mail["Subject"] == "[PROOF] Managing Decline? NATO's Uneasy Future After the 2025 Summit"
    assert mail["To"] == ME and mail["From"] == "Asan Institute Press Office <press@asaninst.org>"
    banner = (
        "PROOF of newsletter, as 김민지 <kim.minji@example.org> will receive it; sent to you only, and its "
        "unsubscribe link unsubscribes nobody. The release is embargoed until 2025-06-30 09:00 KST (00:00 UTC)."
    )
    assert text.splitlines()[0] == banner and "\nDear 김민지,\n" in text  # personalised as for her
    assert banner.replace("<", "&lt;").replace(">", "&gt;") in markup
    assert markup.index("&lt;kim.minji@example.org&gt; will receive it") < markup.index("Dear 김민지")
    # No Unsubscribe button for the proof reader that would unsubscribe her, and links that unsubscribe nobody.
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    real = token(secrets["UNSUBSCRIBE_KEY"].encode(), "newsletter.asaninst.org", "kim.minji@example.org")
    assert real not in text and real not in markup
    assert "email=kim.minji@example.org&token=PROOF-NOT-A-REAL-TOKEN" in text
    assert "@asaninst.org>" in mail["Message-ID"] and mail["Message-ID"].startswith("<proof.")
    assert mail["Date"].datetime == BEFORE  # sent now, not dated as the release will be

    # The press list (plain text only) shows its first journalist.
    ((_, press),) = [(r, m) for r, m in proofs_by(sink, "PROOF of press-list") if r == [EDITOR]]
    assert press["Subject"].startswith("[PROOF] ") and press["To"] == EDITOR
    assert bodies(press)[0].splitlines()[0].startswith("PROOF of press-list, as News Desk <desk@herald.example.com>")

    # A post arrives as text, from the newsletter's sender, and says it was not posted.
    ((_, post),) = [(r, m) for r, m in proofs_by(sink, "PROOF of mastodon") if r == [ME]]
    assert post["Subject"] == "[PROOF] mastodon: Managing Decline? NATO's Uneasy Future After the 2025 Summit"
    assert post["From"] == "Asan Institute Press Office <press@asaninst.org>" and post["To"] == ME
    first, second = bodies(post)[0].splitlines()[:2]
    assert first == "PROOF of mastodon: what it will publish. Nothing has been posted or published."
    assert second == "The release is embargoed until 2025-06-30 09:00 KST (00:00 UTC)."

    # The feed item and the wire copy, as they would be published, with their checks.
    ((_, feed),) = [(r, m) for r, m in proofs_by(sink, "PROOF of rss") if r == [ME]]
    item = bodies(feed)[0]
    assert "\nfeed item\ntitle: Managing Decline? NATO's Uneasy Future After the 2025 Summit\n" in item
    assert "\nlink: https://en.asaninst.org/press/2025-06-30-nato-summit-brief\n" in item
    assert "\nthis release in the feed now: no (embargo) (the feed written at the embargo will contain it)\n" in item
    ((_, desk),) = [(r, m) for r, m in proofs_by(sink, "PROOF of wire-desk:") if r == [ME]]
    copy = bodies(desk)[0]
    assert "\nlongest line: " in copy and "\nFOR IMMEDIATE RELEASE\n" in copy and "\n###\n" in copy


def test_a_proof_leaves_the_ledger_byte_for_byte_and_the_real_send_still_delivers_everything_once(
    workspace: Path,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", "k3y-for-unsubscribe-tokens")
    embargoed(workspace)
    edit_release(workspace, 'channels = ["newsletter", "press-list", "rss", "wire-desk"]')
    with smtp_server() as sink:
        smtp_channel(workspace, "newsletter", sink.port)
        smtp_channel(workspace, "press-list", sink.port)
        with time_machine.travel(BEFORE, tick=False):
            first = cli("send", EXAMPLE_RELEASE, "--proof", ME, "--via", "press-list")
            assert first.exit_code == 0, first.output + first.stderr
            assert not (workspace / ".distribute").exists()
            scheduled = cli("schedule", EXAMPLE_RELEASE)
            assert scheduled.exit_code == 0, scheduled.output + scheduled.stderr
            ledger = snapshot(workspace / ".distribute")
            assert ledger, "schedule wrote the ledger"
            again = cli("send", EXAMPLE_RELEASE, "--proof", ME, "-c", "newsletter", "--as", "jane.smith@example.com")
            assert again.exit_code == 0, again.output + again.stderr
            assert again.stdout == f"proof: newsletter → {ME} (as jane.smith@example.com)\n"
            assert snapshot(workspace / ".distribute") == ledger, "the proof changed nothing in the ledger"
        assert not (workspace / "public").exists() and not (workspace / "wire").exists()
        assert not (workspace / "wire-ko").exists()
        assert {r for _, rcpts, _ in sink.messages for r in rcpts} == {ME} and len(sink.messages) == 5
        (jane,) = [m for _, m in proofs_by(sink, "PROOF of newsletter, as Jane Smith <jane.smith@example.com>")]
        assert "\nDear Jane Smith,\n" in bodies(jane)[0]

        with time_machine.travel(AFTER, tick=False):
            real = cli("send", "--due")
            assert real.exit_code == 0, real.output + real.stderr
            rerun = cli("send", "--due")
            # Once the feed and the wire drop exist, and the ledger holds sent rows, a proof leaves them as they are.
            written = {name: snapshot(workspace / name) for name in (".distribute", "public", "wire")}
            late = cli("send", EXAMPLE_RELEASE, "--proof", ME, "--via", "newsletter")
            assert late.exit_code == 0, late.output + late.stderr
            assert {name: snapshot(workspace / name) for name in written} == written
    assert rerun.exit_code == 4  # nothing left: every delivery went once
    delivered = [r for _, rcpts, _ in sink.messages[5:-4] for r in rcpts]
    assert sorted(delivered) == sorted(NEWSLETTER | PRESS), "each real recipient exactly once, no proof reader"
    assert [r for _, rcpts, _ in sink.messages[-4:] for r in rcpts] == [ME] * 4, "the last proofs"
    for _, _rcpts, data in sink.messages[5:-4]:
        assert not str(parse(data)["Subject"]).startswith("[PROOF]")
    assert (workspace / "public" / "feed.xml").is_file() and any((workspace / "wire").iterdir())


# --- what a non-email proof says ----------------------------------------------------------------


def test_a_post_proof_gives_the_text_that_would_be_posted_and_its_count_against_the_limit(
    workspace: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    import mailbox

    link = "https://en.asaninst.org/press/2025-06-30-nato-summit-brief?utm_source=mastodon&utm_medium=social"
    path = workspace / EXAMPLE_RELEASE
    head, sep, body = path.read_text(encoding="utf-8").partition("\n+++\n")  # the end of the front matter
    own = f'[channel.mastodon]\ntext = "Our new brief on NATO after The Hague: {link}"'
    path.write_text(f"{head}\n\n{own}{sep}{body}", encoding="utf-8")
    set_keys(workspace, "mastodon", "enabled = true")
    (workspace / "config.toml").write_text(
        'proof_channel = "newsletter"\n' + (workspace / "config.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = cli("send", EXAMPLE_RELEASE, "--proof", ME, "-c", "mastodon")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout == f"proof: mastodon → {ME} (via newsletter)\n"
    box = mailbox.Maildir(workspace / "maildir" / "newsletter", create=False)  # the newsletter's own transport
    (message,) = [parse(box.get_file(key).read()) for key in box.iterkeys()]
    assert message["To"] == ME
    shown = bodies(message)[0]
    # Mastodon counts a link as 23 characters, whatever its length.
    count = len("Our new brief on NATO after The Hague: ") + 23
    assert f"post: {count}/500 characters, each link 23 (fits)" in shown
    assert f"\nOur new brief on NATO after The Hague: {link}\n" in shown
    assert "mastodon (mastodon), due 2025-06-30 09:05 KST (00:05 UTC)" in shown
    assert not (workspace / ".distribute").exists()


def test_a_german_release_has_its_banner_and_embargo_in_german(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import mailbox

    embargoed(workspace)
    edit_release(workspace, language='"de"')
    with time_machine.travel(BEFORE, tick=False):
        result = cli(
            "send", EXAMPLE_RELEASE, "--proof", ME, "-c", "newsletter", "-c", "wire-desk", "--via", "newsletter"
        )
    assert result.exit_code == 0, result.output + result.stderr
    box = mailbox.Maildir(workspace / "maildir" / "newsletter", create=False)
    texts = sorted(bodies(parse(box.get_file(key).read()))[0] for key in box.iterkeys())
    news = next(t for t in texts if t.startswith("TESTVERSAND von newsletter,"))
    assert news.splitlines()[0].startswith(
        "TESTVERSAND von newsletter, so wie 김민지 <kim.minji@example.org> ihn erhält; nur an Sie gesendet"
    )
    assert "Die Meldung unterliegt einer Sperrfrist bis 30. Juni 2025" in news.splitlines()[0]
    wire_copy = next(t for t in texts if t.startswith("TESTVERSAND von wire-desk:"))
    assert wire_copy.splitlines()[1].startswith("Die Meldung unterliegt einer Sperrfrist bis 30. Juni 2025")
    assert "\nPRESSEMITTEILUNG\n" in wire_copy  # the copy the desk gets at the embargo, in German too


# --- refusals: one line, nothing sent -----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (
            ["--proof", "me@@example"],
            1,
            "error: --proof 'me@@example' is not an email address (",
        ),
        (
            ["--proof", ME, "-c", "newsletter", "--as", "stranger@example.org"],
            1,
            "error: --as stranger@example.org: not on the list of newsletter (lists/newsletter.csv); choose an "
            "address from that list, or leave out --as to see its first recipient",
        ),
        (
            ["--proof", ME, "-c", "newsletter", "--as", "former.reader@example.com"],
            1,
            "error: --as former.reader@example.com: lists/newsletter.csv:7 lists it, but lists/suppressed.csv "
            "suppresses it, so newsletter sends it nothing; choose another recipient with --as",
        ),
        (
            ["--proof", ME, "-c", "newsletter", "-c", "rss"],
            1,
            "error: rss is not an email channel, so its proof is mailed through one; nothing was sent: name it with "
            '--via CHANNEL or proof_channel = "CHANNEL" in config.toml (email channels: newsletter, press-list)',
        ),
        (
            ["--proof", ME, "-c", "rss", "--via", "wire-desk"],
            1,
            "error: --via 'wire-desk' is a wire channel; proofs are mailed through an email channel: newsletter, "
            "press-list",
        ),
        (["--proof", ME, "--dry-run"], 2, "error: --proof does not go with --dry-run: a proof only mails you"),
        (["--as", ME], 2, "error: --as goes with --proof ADDRESS"),
    ],
)
def test_a_bad_proof_is_one_line_and_sends_nothing(
    workspace: Path,
    cli,  # type: ignore[no-untyped-def]
    args: list[str],
    code: int,
    line: str,
) -> None:
    with smtp_server() as sink:
        smtp_channel(workspace, "newsletter", sink.port)
        result = cli("send", EXAMPLE_RELEASE, *args)
    assert result.exit_code == code, result.output + result.stderr
    assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == "" and sink.messages == []
    assert not (workspace / "maildir").exists() and not (workspace / ".distribute").exists()


def test_due_with_proof_is_refused_and_proof_channel_is_checked_at_its_line(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("send", "--due", "--proof", ME).exit_code == 2
    config = workspace / "config.toml"
    config.write_text('proof_channel = "mastodon"\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("send", EXAMPLE_RELEASE, "--proof", ME, "-c", "rss")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {config}:1: proof_channel 'mastodon' is a mastodon channel; proofs are mailed through an "
        "email channel: newsletter, press-list\n"
    )
    assert not (workspace / "maildir").exists()


def test_proof_json_lists_every_proof(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    schemas = json.loads((ROOT / "docs" / "json-schemas.json").read_text(encoding="utf-8"))
    result = cli(
        "send", EXAMPLE_RELEASE, "--proof", ME, "-c", "newsletter", "-c", "rss", "--via", "press-list", "--json"
    )
    assert result.exit_code == 0, result.output + result.stderr
    document = json.loads(result.output)
    jsonschema.validate(document, schemas["proof"])
    assert document["proofs"] == [
        {
            "channel": "newsletter",
            "adapter": "email",
            "to": ME,
            "as": "kim.minji@example.org",
            "via": "newsletter",
            "subject": "[PROOF] Managing Decline? NATO's Uneasy Future After the 2025 Summit",
            "sent": True,
            "error": None,
        },
        {
            "channel": "rss",
            "adapter": "rss",
            "to": ME,
            "as": None,
            "via": "press-list",
            "subject": "[PROOF] rss: Managing Decline? NATO's Uneasy Future After the 2025 Summit",
            "sent": True,
            "error": None,
        },
    ]
    assert document["exit_code"] == 0 and document["proof"] is True


def test_a_proof_the_server_refuses_says_so_and_exits_1(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    with smtp_server({ME: "550"}) as sink:
        smtp_channel(workspace, "newsletter", sink.port)
        result = cli("send", EXAMPLE_RELEASE, "--proof", ME, "-c", "newsletter")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"proof: newsletter → {ME} (as kim.minji@example.org) not sent: ")
    assert "550" in result.stderr and sink.messages == []


def test_a_proof_over_postmark_is_addressed_to_the_proof_reader_only(
    workspace: Path,
    cli,  # type: ignore[no-untyped-def]
    httpserver,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from werkzeug import Request, Response

    # Postmark takes the recipient from the JSON's To: a proof that kept the real To would mail her.
    seen: list[dict] = []

    def handle(request: Request) -> Response:
        assert request.headers["X-Postmark-Server-Token"] == "pm-token-7b1f2c9d"
        batch = json.loads(request.get_data())
        seen.extend(batch)
        answers = [
            {"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{i}", "To": m["To"]} for i, m in enumerate(batch)
        ]
        return Response(json.dumps(answers), status=200, content_type="application/json")

    httpserver.expect_request("/email/batch", method="POST").respond_with_handler(handle)
    monkeypatch.setenv("POSTMARK_TOKEN", "pm-token-7b1f2c9d")
    monkeypatch.setenv("UNSUBSCRIBE_KEY", "k3y-for-unsubscribe-tokens")
    set_keys(workspace, "newsletter", 'transport = "postmark"')
    base = httpserver.url_for("/").rstrip("/")
    add_table(workspace, "newsletter", f'[postmark]\ntoken = {{ env = "POSTMARK_TOKEN" }}\nbase_url = "{base}"')
    result = cli("send", EXAMPLE_RELEASE, "--proof", ME, "-c", "newsletter", "--as", "Jane.Smith@example.com")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout == f"proof: newsletter → {ME} (as jane.smith@example.com)\n"
    (item,) = seen
    assert item["To"] == ME and item["Subject"].startswith("[PROOF] ")
    assert item["TextBody"].startswith("PROOF of newsletter, as Jane Smith <jane.smith@example.com> will receive it")
    assert "Dear Jane Smith," in item["TextBody"] and "jane.smith@example.com" not in json.dumps(item["Headers"])
    assert {h["Name"] for h in item["Headers"]} == {"Message-ID", "List-Id"}, "no List-Unsubscribe for a proof"
    assert "pm-token-7b1f2c9d" not in result.output + result.stderr


def test_a_proof_over_smtp_without_its_password_is_refused_before_anything_leaves(
    workspace: Path,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with smtp_server() as sink:
        smtp_channel(workspace, "press-list", sink.port)  # could go, but nothing goes when one channel cannot
        smtp_channel(workspace, "newsletter", sink.port, 'username = "press"\npassword = { env = "SMTP_PASSWORD" }')
        result = cli("send", EXAMPLE_RELEASE, "--proof", ME, "-c", "press-list", "-c", "newsletter")
    assert result.exit_code == 1 and sink.messages == [] and result.stdout == ""
    assert result.stderr == (
        "error: newsletter: a proof goes over its transport (smtp), "
        "which needs the environment variable SMTP_PASSWORD ([smtp]); nothing was sent: set it, or proof another "
        "channel with -c\n"
    )


def test_a_proof_is_dkim_signed_as_it_leaves_and_the_signature_verifies(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import dkim

    from email_support import rsa_key

    private, public = rsa_key(workspace / "keys")
    with smtp_server() as sink:
        smtp_channel(workspace, "newsletter", sink.port)
        add_table(workspace, "newsletter", f'[dkim]\nselector = "news2025"\nprivate_key = "{private}"')
        result = cli("send", EXAMPLE_RELEASE, "--proof", ME, "-c", "newsletter", "-c", "x", "--via", "newsletter")
    assert result.exit_code == 0, result.output + result.stderr
    assert len(sink.messages) == 2  # the newsletter's proof and the post's, both over the newsletter's SMTP

    def dns(name: bytes, timeout: int = 5) -> bytes:  # the DNS edge: the selector's TXT record
        assert name == b"news2025._domainkey.asaninst.org."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    for _, _, data in sink.messages:
        assert dkim.verify(data, dnsfunc=dns), "signed after the proof's changes, so it verifies"
        assert parse(data)["Subject"].startswith("[PROOF] ")


def test_a_release_that_goes_nowhere_has_nothing_to_proof(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    edit_release(workspace, "channels = []")
    result = cli("send", EXAMPLE_RELEASE, "--proof", ME)
    assert result.exit_code == 4 and result.stdout == ""
    assert result.stderr.startswith("nothing to proof: 2025-06-30-nato-summit-brief goes to no channel")
