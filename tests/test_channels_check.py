"""`distribute channels --check`: each account logged in to, nothing posted, the exact reason when it fails.

Every platform is a loopback fake answering as its documentation says (tests/social_servers.py,
tests/social_pds.py, tests/email_servers.py, pytest-httpserver for the ESPs and the wire API),
including expired and under-scoped credentials. Each test also proves nothing was delivered:
the fakes saw only the read-only check endpoints, the SMTP server no MAIL FROM.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from werkzeug import Request, Response

from conftest import ROOT
from email_servers import smtp_server
from email_support import add_table, certificate, set_keys, smtp_channel
from social_pds import PdsServer
from social_servers import ApiServer, LinkedInServer, MastodonServer, ThreadsServer, XServer
from social_support import wire

SCHEMA = json.loads((ROOT / "docs" / "json-schemas.json").read_text(encoding="utf-8"))["channels_check"]


def lines(output: str) -> dict[str, str]:
    """The check's table: channel -> the rest of its line, spaces squeezed."""
    out = {}
    for line in output.splitlines():
        name, _, rest = line.partition(" ")
        out[name] = " ".join(rest.split())
    return out


def only_reads(server: ApiServer, allowed: set[str]) -> None:
    """The fake saw the check's read-only endpoints and nothing else (no post, no upload)."""
    routes = {s.route for s in server.seen}
    assert routes <= allowed, f"the check reached {routes - allowed}"
    assert routes, "the check reached nothing"


@pytest.fixture
def mastodon(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MastodonServer]:
    with MastodonServer(max_characters=500) as s:
        wire(workspace, monkeypatch, "mastodon", s.url)
        yield s
    assert not s.problems, s.problems


MASTODON_READS = {"GET /api/v1/accounts/verify_credentials", "GET /api/v2/instance"}


# --- the shipped workspace: folders only ---------------------------------------------------


def test_the_example_workspace_checks_its_folders_and_creates_nothing(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    result = cli("channels", "--check")
    assert result.exit_code == 0, result.output
    table = lines(result.output)
    assert table == {
        "newsletter": "ok Maildir maildir/newsletter/ does not exist yet; it can be made in the workspace folder (writable)",
        "press-list": "ok Maildir maildir/press-list/ does not exist yet; it can be made in the workspace folder (writable)",
        "rss": "ok feed folder public/ does not exist yet; it can be made in the workspace folder (writable)",
        "wire-desk": "ok drop folder wire/ does not exist yet; it can be made in the workspace folder (writable)",
        "wire-desk-ko": "ok drop folder wire-ko/ does not exist yet; it can be made in the workspace folder (writable)",
    }
    assert sorted(p.relative_to(workspace) for p in workspace.rglob("*")) == before  # nothing made, nothing left


def test_a_drop_folder_that_is_a_file_fails_with_what_to_fix(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (workspace / "wire").write_text("not a folder\n")
    (workspace / "maildir" / "newsletter" / "new").mkdir(parents=True)
    result = cli("channels", "--check", "-c", "wire-desk", "-c", "newsletter")
    assert result.exit_code == 1
    table = lines(result.output)
    assert table["newsletter"] == "ok Maildir maildir/newsletter/ is writable"
    assert table["wire-desk"] == (
        f"FAILED drop folder wire/: {workspace / 'wire'} is a file, not a folder; fix the path in the channel file"
    )
    assert list((workspace / "maildir" / "newsletter").iterdir()) == [workspace / "maildir" / "newsletter" / "new"]


def test_an_unknown_channel_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("channels", "--check", "-c", "mastodn")
    assert result.exit_code == 2
    assert "unknown channel 'mastodn' (-c); configured channels: bluesky, linkedin" in result.output


# --- Mastodon ------------------------------------------------------------------------------


def test_mastodon_names_the_account_and_the_instance_limit(mastodon: MastodonServer, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("channels", "--check", "-c", "mastodon")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == {"mastodon": "ok @pressoffice@social.example (limit 500 characters)"}
    only_reads(mastodon, MASTODON_READS)
    assert mastodon.requests("GET /api/v1/accounts/verify_credentials")[0].headers["authorization"] == (
        f"Bearer {MastodonServer.token}"
    )


def test_mastodon_expired_token_says_what_to_do_and_never_shows_the_token(
    mastodon: MastodonServer, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MASTODON_TOKEN", "revoked-token-0b7e")
    result = cli("channels", "--check", "-c", "mastodon")
    assert result.exit_code == 1
    port = mastodon.url.rsplit(":", 1)[1]
    assert lines(result.stdout)["mastodon"] == (
        f"FAILED token expired or revoked (HTTP 401 from 127.0.0.1:{port}/api/v1/accounts/verify_credentials: "
        "The access token ******** is invalid); create a new access token (Preferences > Development > your "
        "application) and export it as MASTODON_TOKEN"
    )
    assert "revoked-token-0b7e" not in result.output  # the fake echoed it back; the redactor masked it
    assert "1 of 1 channels failed the check" in result.stderr
    only_reads(mastodon, {"GET /api/v1/accounts/verify_credentials"})


def test_mastodon_token_without_the_profile_scope(mastodon: MastodonServer, cli) -> None:  # type: ignore[no-untyped-def]
    mastodon.profile_scope = False
    result = cli("channels", "--check", "-c", "mastodon")
    assert result.exit_code == 1
    line = lines(result.output)["mastodon"]
    assert line.startswith(
        "FAILED the token lacks the profile scope, so its account cannot be confirmed (HTTP 403 from "
    )
    assert line.endswith(
        ": This action is outside the authorized scopes); give the application the profile scope (or "
        "read:accounts) besides write:statuses and write:media, then export its new token as MASTODON_TOKEN"
    )


def test_an_instance_with_a_lower_limit_than_the_channel_fails(workspace: Path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with MastodonServer(max_characters=300) as s:
        wire(workspace, monkeypatch, "mastodon", s.url)
        result = cli("channels", "--check", "-c", "mastodon")
    assert result.exit_code == 1
    assert lines(result.output)["mastodon"] == (
        "FAILED @pressoffice@social.example: the instance allows 300 characters, the channel limit is 500; "
        "set limit = 300 in mastodon.toml"
    )


def test_a_missing_secret_is_reported_as_missing_and_nothing_is_contacted(
    mastodon: MastodonServer, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MASTODON_TOKEN")
    result = cli("channels", "--check", "-c", "mastodon")
    assert result.exit_code == 1
    assert lines(result.output)["mastodon"] == (
        "FAILED missing the environment variable MASTODON_TOKEN; set it where distribute runs (shell, cron, systemd unit)"
    )
    assert mastodon.seen == []


def test_an_unreachable_instance_is_named_without_a_traceback(workspace: Path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wire(workspace, monkeypatch, "mastodon", f"http://127.0.0.1:{port}")
    result = cli("channels", "--check", "-c", "mastodon")
    assert result.exit_code == 1
    assert lines(result.output)["mastodon"] == (
        f"FAILED cannot reach http://127.0.0.1:{port} (connection refused); check the address in the channel "
        "file and the network"
    )


# --- Bluesky -------------------------------------------------------------------------------


@pytest.fixture
def pds(workspace: Path, monkeypatch: pytest.MonkeyPatch, standards: Path) -> Iterator[PdsServer]:
    with PdsServer(standards / "bluesky-lexicons" / "lexicons") as s:
        wire(workspace, monkeypatch, "bluesky", s.url)
        yield s
    assert not s.problems, s.problems


def test_bluesky_makes_a_session_and_names_the_handle_and_did(pds: PdsServer, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("channels", "--check", "-c", "bluesky")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == {"bluesky": f"ok @press.example.org ({PdsServer.did})"}
    only_reads(pds, {"POST /xrpc/com.atproto.server.createSession"})


def test_bluesky_account_that_is_not_active(pds: PdsServer, cli) -> None:  # type: ignore[no-untyped-def]
    pds.account_status = "takendown"
    result = cli("channels", "--check", "-c", "bluesky")
    assert result.exit_code == 1
    assert lines(result.output)["bluesky"] == (
        f"FAILED @press.example.org ({PdsServer.did}) is takendown: it cannot post until the account is active again"
    )


def test_bluesky_wrong_app_password(pds: PdsServer, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "zzzz-yyyy-xxxx-wwww")
    result = cli("channels", "--check", "-c", "bluesky")
    assert result.exit_code == 1
    port = pds.url.rsplit(":", 1)[1]
    assert lines(result.output)["bluesky"] == (
        f"FAILED app password or handle refused (HTTP 401 from 127.0.0.1:{port}/xrpc/com.atproto.server.createSession: "
        "AuthenticationRequired: Invalid identifier or password); check handle = 'press.example.org' in "
        "bluesky.toml, create a new app password (Settings > Privacy and security > App passwords) and export "
        "it as BLUESKY_APP_PASSWORD"
    )
    assert "zzzz-yyyy-xxxx-wwww" not in result.output
    only_reads(pds, {"POST /xrpc/com.atproto.server.createSession"})


# --- LinkedIn ------------------------------------------------------------------------------


@pytest.fixture
def linkedin(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LinkedInServer]:
    with LinkedInServer() as s:
        wire(workspace, monkeypatch, "linkedin", s.url)
        yield s
    assert not s.problems, s.problems


def test_linkedin_page_role_of_the_token(linkedin: LinkedInServer, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("channels", "--check", "-c", "linkedin")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == {"linkedin": "ok posts as urn:li:organization:2414183 (ADMINISTRATOR)"}
    only_reads(linkedin, {"GET /rest/organizationAcls"})
    (seen,) = linkedin.seen
    assert seen.query["q"] == ["roleAssignee"] and seen.headers["linkedin-version"] == "202506"


def test_linkedin_member_without_a_posting_role(linkedin: LinkedInServer, cli) -> None:  # type: ignore[no-untyped-def]
    linkedin.roles = {"urn:li:organization:2414183": "ANALYST", "urn:li:organization:99": "ADMINISTRATOR"}
    result = cli("channels", "--check", "-c", "linkedin")
    assert result.exit_code == 1
    assert lines(result.output)["linkedin"] == (
        "FAILED the token's member may not post on urn:li:organization:2414183 (its roles there: ANALYST); a page "
        "administrator must give them the Super admin or Content admin role (page > Settings > Manage admins)"
    )


def test_linkedin_revoked_and_under_scoped_tokens(linkedin: LinkedInServer, cli) -> None:  # type: ignore[no-untyped-def]
    linkedin.expired.add(LinkedInServer.token)
    line = lines(cli("channels", "--check", "-c", "linkedin").output)["linkedin"]
    assert line.startswith("FAILED token expired or revoked (LinkedIn tokens last 60 days) (HTTP 401 from 127.0.0.1:")
    assert "/rest/organizationAcls: The token used in the request has been revoked by the user); create a new" in line
    linkedin.expired.clear()
    linkedin.scopes.discard("r_organization_admin")
    line = lines(cli("channels", "--check", "-c", "linkedin").output)["linkedin"]
    assert line.startswith("FAILED the token may not read its page roles (HTTP 403 from 127.0.0.1:")
    assert line.endswith(
        "Not enough permissions to access: organizationAcls.FINDER-roleAssignee.20250601); create it with "
        "w_organization_social and r_organization_admin (Community Management API), and export it as LINKEDIN_TOKEN"
    )


def test_linkedin_member_author_is_checked_with_userinfo(workspace: Path, linkedin: LinkedInServer, cli) -> None:  # type: ignore[no-untyped-def]
    from social_support import set_keys as set_social

    set_social(workspace / "channels" / "linkedin.toml", author="urn:li:person:aBcD3fG")
    assert lines(cli("channels", "--check", "-c", "linkedin").output) == {
        "linkedin": "ok posts as urn:li:person:aBcD3fG (Kim Press)"
    }
    set_social(workspace / "channels" / "linkedin.toml", author="urn:li:person:someoneElse")
    result = cli("channels", "--check", "-c", "linkedin")
    assert result.exit_code == 1
    assert lines(result.output)["linkedin"] == (
        "FAILED the token belongs to urn:li:person:aBcD3fG (Kim Press), not author = urn:li:person:someoneElse; "
        "create a token as that member or correct author"
    )
    only_reads(linkedin, {"GET /v2/userinfo"})


# --- X -------------------------------------------------------------------------------------


@pytest.fixture
def x(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[XServer]:
    with XServer() as s:
        wire(workspace, monkeypatch, "x", s.url)
        yield s
    assert not s.problems, s.problems


def test_x_names_the_account_of_the_user_token(x: XServer, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("channels", "--check", "-c", "x")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == {"x": "ok @pressoffice (read-write)"}
    only_reads(x, {"GET /2/users/me"})


def test_x_revoked_token_and_read_only_app(x: XServer, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("X_ACCESS_TOKEN", "1234-revoked-token")
    result = cli("channels", "--check", "-c", "x")
    assert result.exit_code == 1
    port = x.url.rsplit(":", 1)[1]
    assert lines(result.output)["x"] == (
        f"FAILED token expired or revoked (HTTP 401 from 127.0.0.1:{port}/2/users/me: Unauthorized); create a new "
        "user token (developer portal > your app > Keys and tokens > Access Token and Secret) and export it as "
        "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET; check X_API_KEY and X_API_SECRET too"
    )
    monkeypatch.setenv("X_ACCESS_TOKEN", XServer.access_token)
    x.access_level = "read"
    result = cli("channels", "--check", "-c", "x")
    assert result.exit_code == 1
    assert lines(result.output)["x"] == (
        "FAILED @pressoffice: the user token is read-only (x-access-level: read); set the app's permissions to Read "
        "and write, then regenerate the access token and secret (X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET)"
    )
    only_reads(x, {"GET /2/users/me"})
    for secret in (XServer.consumer_secret, XServer.access_secret, "1234-revoked-token"):
        assert secret not in result.output


# --- Threads -------------------------------------------------------------------------------


@pytest.fixture
def threads(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadsServer]:
    with ThreadsServer() as s:
        wire(workspace, monkeypatch, "threads", s.url + "/v1.0")
        yield s
    assert not s.problems, s.problems


def test_threads_names_the_user_id(threads: ThreadsServer, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("channels", "--check", "-c", "threads")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == {"threads": f"ok @pressoffice (user {ThreadsServer.user})"}
    only_reads(threads, {"GET /v1.0/me"})
    assert threads.seen[0].query["fields"] == ["id,username"]


def test_threads_expired_and_under_scoped_tokens(threads: ThreadsServer, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("THREADS_TOKEN", "expired-threads-token")
    line = lines(cli("channels", "--check", "-c", "threads").output)["threads"]
    assert line.startswith("FAILED token expired or revoked (long-lived Threads tokens last 60 days) (HTTP 400 from ")
    assert "Invalid OAuth access token - Cannot parse access token); create a new Threads user token" in line
    assert "expired-threads-token" not in line
    monkeypatch.setenv("THREADS_TOKEN", ThreadsServer.token)
    threads.permissions = {"threads_content_publish"}
    line = lines(cli("channels", "--check", "-c", "threads").output)["threads"]
    assert line.startswith("FAILED the token lacks a permission (HTTP 400 from 127.0.0.1:")
    assert line.endswith(
        "(#10) Application does not have permission for this action); create it with threads_basic and "
        "threads_content_publish and export it as THREADS_TOKEN"
    )
    only_reads(threads, {"GET /v1.0/me"})


# --- SMTP ----------------------------------------------------------------------------------


def test_smtp_logs_in_over_starttls_and_sends_no_mail(
    workspace: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    cert, key = certificate(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("UNSUBSCRIBE_KEY", "unsubscribe-key-for-tests")
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pass-word")
    with smtp_server(password="s3cret-pass-word", tls=(cert, key)) as sink:
        smtp_channel(
            workspace,
            "newsletter",
            sink.port,
            'username = "press@asaninst.org"\npassword = { env = "SMTP_PASSWORD" }\nsecurity = "starttls"',
        )
        result = cli("channels", "--check", "-c", "newsletter")
        assert result.exit_code == 0, result.output
        assert lines(result.output) == {
            "newsletter": f"ok SMTP 127.0.0.1:{sink.port} STARTTLS, logged in as press@asaninst.org, messages up to 33 MB"
        }
        assert sink.logins == [("press@asaninst.org", "s3cret-pass-word")]

        monkeypatch.setenv("SMTP_PASSWORD", "wrong-pass-word")
        result = cli("channels", "--check", "-c", "newsletter")
        assert result.exit_code == 1
        assert lines(result.output)["newsletter"] == (
            f"FAILED SMTP 127.0.0.1:{sink.port} refused the login of 'press@asaninst.org' (535); check username "
            "and password (the password is the environment variable SMTP_PASSWORD)"
        )
        assert "wrong-pass-word" not in result.output and "s3cret-pass-word" not in result.output
        assert sink.mail_from == [] and sink.messages == [] and sink.attempts == {}


def test_smtp_channel_missing_its_password_and_unsubscribe_key(workspace: Path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("UNSUBSCRIBE_KEY", raising=False)
    smtp_channel(workspace, "newsletter", 2525, 'username = "press@asaninst.org"\npassword = { env = "SMTP_PASSWORD" }')
    result = cli("channels", "--check", "-c", "newsletter")
    assert result.exit_code == 1
    assert lines(result.output)["newsletter"] == (
        "FAILED missing the environment variables SMTP_PASSWORD ([smtp]), UNSUBSCRIBE_KEY (unsubscribe_key: "
        "transport smtp sends no placeholder unsubscribe links); set them where distribute runs (shell, cron, "
        "systemd unit)"
    )


# --- ESPs (pytest-httpserver plays each API's documented answers) -------------------------


def esp(workspace: Path, monkeypatch: pytest.MonkeyPatch, transport: str, table: str) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", "unsubscribe-key-for-tests")
    set_keys(workspace, "newsletter", f'transport = "{transport}"')
    add_table(workspace, "newsletter", table)


def json_response(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def no_sends(httpserver) -> None:  # type: ignore[no-untyped-def]
    methods = {request.method for request, _ in httpserver.log}
    assert methods == {"GET"}, f"the check made {methods} requests"


def test_postmark_server_and_message_stream(workspace: Path, httpserver, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    token = "pm-server-token-51c3"
    monkeypatch.setenv("POSTMARK_TOKEN", token)

    def server(request: Request) -> Response:
        if request.headers.get("X-Postmark-Server-Token") != token:
            return json_response(
                {
                    "ErrorCode": 10,
                    "Message": "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
                },
                401,
            )
        return json_response({"ID": 1, "Name": "Asan Press", "Color": "blue"})

    def stream(request: Request) -> Response:
        return json_response(
            {"ID": "broadcast", "ServerID": 1, "Name": "Broadcasts", "MessageStreamType": "Broadcasts"}
        )

    httpserver.expect_request("/server", method="GET").respond_with_handler(server)
    httpserver.expect_request("/message-streams/broadcast", method="GET").respond_with_handler(stream)
    base = httpserver.url_for("/").rstrip("/")
    esp(workspace, monkeypatch, "postmark", f'[postmark]\ntoken = {{ env = "POSTMARK_TOKEN" }}\nbase_url = "{base}"')
    result = cli("channels", "--check", "-c", "newsletter")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == {
        "newsletter": 'ok Postmark server "Asan Press", message stream "broadcast" (broadcasts)'
    }
    monkeypatch.setenv("POSTMARK_TOKEN", "an-account-token-instead")
    result = cli("channels", "--check", "-c", "newsletter")
    assert result.exit_code == 1
    assert lines(result.output)["newsletter"] == (
        f"FAILED Postmark refused the server token (HTTP 401 from {base.removeprefix('http://')}/server: The Server "
        "Token you provided in the X-Postmark-Server-Token request header was invalid.); copy the Server API token "
        "from the server's API Tokens tab (not an Account token), and put it in the environment variable POSTMARK_TOKEN"
    )
    no_sends(httpserver)


def test_mailgun_domain_states(workspace: Path, httpserver, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILGUN_API_KEY", "key-mg-check-1")
    state = {"value": "active"}

    def domain(request: Request) -> Response:
        assert request.authorization is not None and request.authorization.password == "key-mg-check-1"
        return json_response(
            {
                "domain": {"name": "mg.asaninst.org", "state": state["value"], "type": "custom"},
                "receiving_dns_records": [],
                "sending_dns_records": [],
            }
        )

    httpserver.expect_request("/v4/domains/mg.asaninst.org", method="GET").respond_with_handler(domain)
    httpserver.expect_request("/v4/domains/mg.asaninst.com", method="GET").respond_with_json(
        {"message": "Domain not found"}, status=404
    )
    base = httpserver.url_for("/").rstrip("/")
    esp(
        workspace,
        monkeypatch,
        "mailgun",
        f'[mailgun]\ndomain = "mg.asaninst.org"\napi_key = {{ env = "MAILGUN_API_KEY" }}\nbase_url = "{base}"',
    )
    assert lines(cli("channels", "--check", "-c", "newsletter").output) == {
        "newsletter": "ok Mailgun domain mg.asaninst.org (active)"
    }
    state["value"] = "unverified"
    result = cli("channels", "--check", "-c", "newsletter")
    assert result.exit_code == 1
    assert lines(result.output)["newsletter"] == (
        "FAILED Mailgun domain mg.asaninst.org is unverified: publish its DNS records and verify it "
        "(Sending > Domains), or ask Mailgun support"
    )
    path = workspace / "channels" / "newsletter.toml"
    path.write_text(path.read_text().replace('domain = "mg.asaninst.org"', 'domain = "mg.asaninst.com"'))
    assert lines(cli("channels", "--check", "-c", "newsletter").output)["newsletter"] == (
        f"FAILED Mailgun has no domain mg.asaninst.com in this account (HTTP 404 from {base}): check [mailgun] "
        "domain, and base_url (https://api.eu.mailgun.net for a domain in the EU region)"
    )
    no_sends(httpserver)


def test_sendgrid_key_without_mail_send_is_under_scoped(workspace: Path, httpserver, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.check-key")
    scopes = {"value": ["mail.send", "alerts.read"]}

    def handle(request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer SG.check-key":
            return json_response({"errors": [{"field": None, "message": "authorization required"}]}, 401)
        return json_response({"scopes": scopes["value"]})

    httpserver.expect_request("/v3/scopes", method="GET").respond_with_handler(handle)
    base = httpserver.url_for("/").rstrip("/")
    esp(
        workspace, monkeypatch, "sendgrid", f'[sendgrid]\napi_key = {{ env = "SENDGRID_API_KEY" }}\nbase_url = "{base}"'
    )
    assert lines(cli("channels", "--check", "-c", "newsletter").output) == {
        "newsletter": "ok SendGrid API key with Mail Send (2 scopes)"
    }
    scopes["value"] = ["alerts.read", "stats.read", "user.profile.read"]
    result = cli("channels", "--check", "-c", "newsletter")
    assert result.exit_code == 1
    assert lines(result.output)["newsletter"] == (
        "FAILED the SendGrid API key has no Mail Send permission (mail.send is not among its 3 scopes); create an "
        "API key with Mail Send access (Settings > API Keys), and put it in the environment variable SENDGRID_API_KEY"
    )
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.deleted-key")
    line = lines(cli("channels", "--check", "-c", "newsletter").output)["newsletter"]
    assert line.startswith(f"FAILED SendGrid refused the API key (HTTP 401 from {base.removeprefix('http://')}")
    assert line.endswith(
        "/v3/scopes: authorization required); create an API key with Mail Send access (Settings > "
        "API Keys), and put it in the environment variable SENDGRID_API_KEY"
    )
    no_sends(httpserver)


# --- wire over HTTP -------------------------------------------------------------------------


def test_wire_http_is_tried_with_head_and_its_credential(workspace: Path, httpserver, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WIRE_TOKEN", "wire-token-77aa")

    def ingest(request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer wire-token-77aa":
            return Response(status=401)  # a HEAD answer has no body: the status's reason is all it says
        return Response("", status=405, headers={"Allow": "POST"})

    httpserver.expect_request("/ingest/s3cr3t-path", method="HEAD").respond_with_handler(ingest)
    path = workspace / "channels" / "wire-desk.toml"
    text = re.sub(r"^transport = .*$", 'transport = "http"', path.read_text(), flags=re.M)
    if 'transport = "http"' not in text:
        text = text.replace("[", 'transport = "http"\n[', 1) if "\n[" in text else text + '\ntransport = "http"\n'
    path.write_text(
        text + f'\n[http]\nurl = "{httpserver.url_for("/ingest/s3cr3t-path")}"\ntoken = {{ env = "WIRE_TOKEN" }}\n'
    )
    result = cli("channels", "--check", "-c", "wire-desk")
    assert result.exit_code == 0, result.output
    where = httpserver.url_for("/").removeprefix("http://").rstrip("/")
    assert lines(result.output) == {
        "wire-desk": f"ok {where} is reachable (HTTP 405 to HEAD: it takes only POST, so the credential is tried "
        "when sending)"
    }
    monkeypatch.setenv("WIRE_TOKEN", "wire-token-guess")
    result = cli("channels", "--check", "-c", "wire-desk")
    assert result.exit_code == 1
    assert lines(result.output)["wire-desk"] == (
        f"FAILED the wire refused the credential (HTTP 401 from {where}: UNAUTHORIZED); check the environment "
        "variable WIRE_TOKEN and [http] header/scheme"
    )
    assert "s3cr3t-path" not in result.output  # an ingest URL's path may be a secret of its own
    assert {request.method for request, _ in httpserver.log} == {"HEAD"}


def test_wire_desk_by_email_logs_in_to_its_smtp_server(workspace: Path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DESK_SMTP_PASSWORD", "desk-pass-4411")
    with smtp_server(password="desk-pass-4411") as sink:
        path = workspace / "channels" / "wire-desk.toml"
        text = path.read_text().replace('transport = "directory"', 'transport = "email"')
        path.write_text(
            text + '\n[email]\nto = "desk@wire.example"\n[email.smtp]\nhost = "127.0.0.1"\n'
            f'port = {sink.port}\nsecurity = "none"\nusername = "press"\npassword = {{ env = "DESK_SMTP_PASSWORD" }}\n'
        )
        result = cli("channels", "--check", "-c", "wire-desk")
        assert result.exit_code == 0, result.output
        assert lines(result.output) == {
            "wire-desk": f"ok SMTP 127.0.0.1:{sink.port} no encryption, logged in as press, messages up to 33 MB; "
            "desk desk@wire.example"
        }
        assert sink.mail_from == [] and sink.logins == [("press", "desk-pass-4411")]


def test_feed_upload_server_is_asked_with_head(workspace: Path, httpserver, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FEED_UPLOAD_TOKEN", "upload-token-3c3c")

    def head(request: Request) -> Response:
        ok = request.headers.get("Authorization") == "Bearer upload-token-3c3c"
        return Response(status=404 if ok else 403)  # 404: nothing uploaded yet, which is fine

    httpserver.expect_request("/press/feed.xml", method="HEAD").respond_with_handler(head)
    path = workspace / "channels" / "rss.toml"
    path.write_text(
        path.read_text()
        + f'\n[upload]\nurl = "{httpserver.url_for("/press/")}"\ntoken = {{ env = "FEED_UPLOAD_TOKEN" }}\n'
    )
    where = httpserver.url_for("/").removeprefix("http://").rstrip("/")
    assert lines(cli("channels", "--check", "-c", "rss").output) == {
        "rss": f"ok feed folder public/ does not exist yet; it can be made in the workspace folder (writable); "
        f"upload to {where} answers"
    }
    monkeypatch.setenv("FEED_UPLOAD_TOKEN", "stale-upload-token")
    result = cli("channels", "--check", "-c", "rss")
    assert result.exit_code == 1
    assert lines(result.output)["rss"] == (
        "FAILED feed folder public/ does not exist yet; it can be made in the workspace folder (writable); upload: "
        f"credential refused (HTTP 403 from {where}: FORBIDDEN); check the environment variable FEED_UPLOAD_TOKEN "
        "and [upload] header/scheme"
    )
    assert {request.method for request, _ in httpserver.log} == {"HEAD"}


def test_a_server_that_never_answers_is_named_after_the_channel_timeout(
    mastodon: MastodonServer, workspace: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    from social_support import set_keys as set_social

    set_social(workspace / "channels" / "mastodon.toml", timeout=0.3)
    mastodon.stall("GET /api/v1/accounts/verify_credentials")
    result = cli("channels", "--check", "-c", "mastodon")
    assert result.exit_code == 1
    assert lines(result.output)["mastodon"] == (
        f"FAILED no answer from {mastodon.url} within 0.3 s; check the address, or run the check again later"
    )


def test_channel_option_needs_check(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("channels", "-c", "mastodon")
    assert result.exit_code == 2 and "-c/--channel goes with --check" in result.output


# --- all at once, and --json -----------------------------------------------------------------


def test_every_platform_at_once_in_a_fresh_process(
    workspace: Path, mastodon: MastodonServer, x: XServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channels are checked a few at once; a fresh interpreter imports requests in that moment too."""
    import os
    import subprocess
    import sys

    with LinkedInServer() as li, ThreadsServer() as th:
        wire(workspace, monkeypatch, "linkedin", li.url)
        wire(workspace, monkeypatch, "threads", th.url + "/v1.0")
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        result = subprocess.run(
            [sys.executable, "-m", "distribute", "channels", "--check"],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
        )
    assert result.returncode == 0, result.stderr
    table = lines(result.stdout)
    assert table["mastodon"] == "ok @pressoffice@social.example (limit 500 characters)"
    assert table["linkedin"] == "ok posts as urn:li:organization:2414183 (ADMINISTRATOR)"
    assert table["x"] == "ok @pressoffice (read-write)"
    assert table["threads"] == f"ok @pressoffice (user {ThreadsServer.user})"
    assert "Traceback" not in result.stderr


def test_json_for_scripts_exit_1_when_any_fails(
    workspace: Path, mastodon: MastodonServer, x: XServer, cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    x.access_level = "read"
    result = cli("channels", "--check", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["ok"] is False
    by_name = {c["channel"]: c for c in document["channels"]}
    assert list(by_name) == ["mastodon", "newsletter", "press-list", "rss", "wire-desk-ko", "wire-desk", "x"]
    assert by_name["mastodon"] == {
        "channel": "mastodon",
        "adapter": "mastodon",
        "ok": True,
        "checked": True,
        "detail": "@pressoffice@social.example (limit 500 characters)",
    }
    assert by_name["x"]["ok"] is False and "read-only" in by_name["x"]["detail"]
    assert mastodon.count("POST /api/v1/statuses") == 0 and x.count("POST /2/tweets") == 0
