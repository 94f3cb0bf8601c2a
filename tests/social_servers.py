"""Loopback HTTP servers that play the social platforms' APIs for the adapter tests.

Each checks every request against the platform's documented shape (a violation is recorded in
`problems` and answered 400, and the test fixtures fail on any), answers with the platform's
real response and error shapes, keeps the state that matters (posts, idempotency keys, tokens)
and counts requests. A test scripts failures per route: an answer given *before* the request
is processed (429, 503), an answer given *after* it was processed (a 502 from a gateway that
lost the platform's reply), or a dropped connection after processing (the outcome unknown).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import regex


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    """An HTTP answer: status, JSON (or raw bytes) body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


DROP = "drop"


class ApiServer:
    """Base: a threading HTTP server on 127.0.0.1 dispatching to `handle`, with scripted failures."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.problems: list[str] = []
        self._script: dict[str, collections.deque[tuple[str, Reply | None]]] = collections.defaultdict(
            collections.deque
        )
        self.lock = threading.RLock()
        self._http: ThreadingHTTPServer | None = None
        self._ids = itertools.count(1)
        self._nth: dict[str, dict[int, Reply]] = collections.defaultdict(dict)
        self.unstall = threading.Event()  # set at exit: a stalled request is let go (never a sleep)

    # --- running ------------------------------------------------------------------------

    def __enter__(self) -> ApiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = server._dispatch(seen)
                if reply is None:  # drop the connection without an answer
                    self.close_connection = True
                    return
                data = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else (b"" if reply.body is None else json.dumps(reply.body).encode())
                )
                self.send_response(reply.status)
                if reply.body is not None and not isinstance(reply.body, bytes):
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._http is not None
        self.unstall.set()
        self._http.shutdown()
        self._http.server_close()

    @property
    def url(self) -> str:
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    # --- scripting and counting ------------------------------------------------------------

    def fail(self, route: str, *replies: Reply) -> None:
        """Answer the next requests on `route` with these replies, without processing them."""
        self._script[route].extend(("before", r) for r in replies)

    def fail_nth(self, route: str, n: int, reply: Reply) -> None:
        """Answer the n-th request on `route` (counting all so far, 1-based) with `reply`, unprocessed."""
        self._nth[route][n] = reply

    def fail_after(self, route: str, reply: Reply) -> None:
        """Process the next request on `route`, then answer `reply` instead of the real answer."""
        self._script[route].append(("after", reply))

    def drop(self, route: str) -> None:
        """Process the next request on `route`, then close the connection without answering."""
        self._script[route].append((DROP, None))

    def stall(self, route: str) -> None:
        """Process the next request on `route`, then answer nothing until the test ends (a read timeout)."""
        self._script[route].append(("stall", None))

    def count(self, route: str) -> int:
        return sum(1 for s in self.seen if s.route == route)

    def requests(self, route: str) -> list[Seen]:
        return [s for s in self.seen if s.route == route]

    def problem(self, message: str) -> Reply:
        """Record a violation of the documented request shape; the fixture fails the test on it."""
        self.problems.append(message)
        return Reply(400, {"error": "BadRequest", "message": f"test server: {message}"})

    def new_id(self) -> int:
        return next(self._ids)

    def _dispatch(self, seen: Seen) -> Reply | None:
        with self.lock:
            self.seen.append(seen)
            nth = self._nth.get(seen.route, {}).get(self.count(seen.route))
            if nth is not None:
                return nth
            queue = self._script.get(seen.route)
            step = queue.popleft() if queue else None
            if step and step[0] == "before":
                return step[1]
            try:
                reply = self.handle(seen)
            except Exception as exc:  # a bug in the fake must fail the test loudly, not look like a 500
                self.problems.append(f"server crashed on {seen.route}: {exc!r}")
                return Reply(500, {"error": "InternalServerError", "message": repr(exc)})
            if step and step[0] == DROP:
                return None
        if step and step[0] == "stall":  # outside the lock: other requests still get answers
            self.unstall.wait(30)
            return None
        return step[1] if step and step[0] == "after" else reply

    def handle(self, seen: Seen) -> Reply:
        raise NotImplementedError

    # --- shared checks ---------------------------------------------------------------------

    def bearer(self, seen: Seen) -> str | None:
        value = seen.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    def json_body(self, seen: Seen) -> Any:
        if not seen.headers.get("content-type", "").startswith("application/json"):
            self.problem(f"{seen.route}: Content-Type {seen.headers.get('content-type')!r}, not application/json")
            return None
        try:
            return seen.json()
        except ValueError:
            self.problem(f"{seen.route}: body is not JSON")
            return None


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'’”]")


def multipart(seen: Seen) -> dict[str, tuple[str | None, str, bytes]]:
    """multipart/form-data fields: name -> (filename, content type, bytes)."""
    ctype = seen.headers.get("content-type", "")
    message = BytesParser().parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + seen.body)
    fields = {}
    for part in message.get_payload() if message.is_multipart() else []:
        disposition = part.get("Content-Disposition", "")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (
                filename.group(1) if filename else None,
                part.get_content_type(),
                part.get_payload(decode=True) or b"",
            )
    return fields


class MastodonServer(ApiServer):
    """Mastodon: /api/v2/instance, /api/v2/media, /api/v1/media/:id, /api/v1/statuses (Idempotency-Key)."""

    token = "mastodon-test-token-7c1e"

    def __init__(self, max_characters: int = 500, url_chars: int = 23, media_async: bool = False) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.url_chars = url_chars
        self.media_async = media_async
        self.statuses: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}  # Idempotency-Key -> status id (Mastodon keeps them an hour)
        self.media: dict[str, dict[str, Any]] = {}
        self.profile_scope = True  # False: the token has write scopes only (verify_credentials answers 403)

    def length(self, text: str) -> int:
        # Mastodon: every URL counts as characters_reserved_per_url, a mention as its local part,
        # then grapheme clusters (StatusLengthValidator).
        text = _URL.sub("x" * self.url_chars, text)
        text = re.sub(r"(?<![\w/])@(\w+)@[\w.-]+\w", r"@\1", text)
        return graphemes(text)

    def handle(self, seen: Seen) -> Reply:
        if seen.route == "GET /api/v1/accounts/verify_credentials":
            return self._verify_credentials(seen)
        if seen.route == "GET /api/v2/instance":
            return Reply(
                200,
                {
                    "domain": "social.example",
                    "title": "Example social",
                    "version": "4.3.0",
                    "configuration": {
                        "urls": {"streaming": "wss://social.example"},
                        "statuses": {
                            "max_characters": self.max_characters,
                            "max_media_attachments": 4,
                            "characters_reserved_per_url": self.url_chars,
                        },
                        "media_attachments": {"image_size_limit": 16777216},
                    },
                },
            )
        if self.bearer(seen) != self.token:
            return Reply(401, {"error": "The access token is invalid"})
        if seen.route == "POST /api/v2/media":
            return self._upload(seen)
        if seen.method == "GET" and seen.path.startswith("/api/v1/media/"):
            media = self.media.get(seen.path.rsplit("/", 1)[1])
            if media is None:
                return Reply(404, {"error": "Record not found"})
            media["url"] = f"{self.url}/media/{media['id']}.jpg"
            return Reply(200, media)
        if seen.route == "POST /api/v1/statuses":
            return self._status(seen)
        return Reply(404, {"error": "Not Found"})

    def _verify_credentials(self, seen: Seen) -> Reply:
        # docs.joinmastodon.org/methods/accounts/#verify_credentials: a user token with the profile or
        # read:accounts scope. This fake echoes a refused token in its error, as a careless server might,
        # so that tests can show the token never reaches the output.
        token = self.bearer(seen)
        if token != self.token:
            return Reply(401, {"error": f"The access token {token} is invalid"})
        if not self.profile_scope:
            return Reply(403, {"error": "This action is outside the authorized scopes"})
        return Reply(
            200,
            {
                "id": "109348",
                "username": "pressoffice",
                "acct": "pressoffice",
                "display_name": "Press Office",
                "url": f"{self.url}/@pressoffice",
                "source": {"privacy": "public", "language": "en"},
            },
        )

    def _upload(self, seen: Seen) -> Reply:
        if not seen.headers.get("content-type", "").startswith("multipart/form-data"):
            return self.problem("media upload is not multipart/form-data")
        fields = multipart(seen)
        unknown = set(fields) - {"file", "thumbnail", "description", "focus"}
        if "file" not in fields or unknown:
            return self.problem(f"media upload fields {sorted(fields)}; needs file (unknown: {sorted(unknown)})")
        filename, ctype, data = fields["file"]
        description = fields.get("description", (None, "", b""))[2].decode("utf-8")
        if not filename or not ctype.startswith("image/") or not data:
            return self.problem(f"media file part: filename {filename!r}, type {ctype!r}, {len(data)} bytes")
        if len(description) > 1500:
            return Reply(422, {"error": "Validation failed: Description is too long (maximum is 1500 characters)"})
        mid = str(100000 + self.new_id())
        media = {
            "id": mid,
            "type": "image",
            "url": None if self.media_async else f"{self.url}/media/{mid}.jpg",
            "preview_url": f"{self.url}/media/{mid}-small.jpg",
            "remote_url": None,
            "text_url": None,
            "meta": {},
            "description": description,
            "blurhash": "UFBWY:8_0Jof4nWBj[of00%M-;j[",
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        self.media[mid] = media
        return Reply(202 if self.media_async else 200, dict(media))

    def _status(self, seen: Seen) -> Reply:
        body = self.json_body(seen)
        if body is None:
            return self.problem("status body missing")
        key = seen.headers.get("idempotency-key")
        if not key:
            return self.problem("POST /api/v1/statuses without an Idempotency-Key header")
        allowed = {
            "status",
            "media_ids",
            "in_reply_to_id",
            "visibility",
            "language",
            "sensitive",
            "spoiler_text",
            "scheduled_at",
            "poll",
            "quoted_status_id",
        }
        if set(body) - allowed:
            return self.problem(f"unknown status parameters {sorted(set(body) - allowed)}")
        if not isinstance(body.get("status", ""), str) or not isinstance(body.get("media_ids", []), list):
            return self.problem("status must be a string and media_ids an array")
        if body.get("visibility") not in (None, "public", "unlisted", "private", "direct"):
            return self.problem(f"visibility {body.get('visibility')!r}")
        if body.get("language") is not None and not re.fullmatch(r"[a-z]{2,3}", body["language"]):
            return self.problem(f"language {body['language']!r} is not an ISO 639 code")
        if key in self.keys:  # Mastodon answers a repeated key with the status it already made
            return Reply(200, self.statuses[self.keys[key]])
        text = body.get("status", "")
        if not text.strip() and not body.get("media_ids"):
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if self.length(text) > self.max_characters:
            return Reply(422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"})
        reply_to = body.get("in_reply_to_id")
        if reply_to is not None and reply_to not in self.statuses:
            return Reply(404, {"error": "Record not found"})
        attachments = []
        for mid in body.get("media_ids", []):
            media = self.media.get(mid)
            if media is None:
                return Reply(422, {"error": "Validation failed: Media ids is invalid"})
            if media["url"] is None:
                return Reply(
                    422, {"error": "Cannot attach files that have not finished processing. Try again in a moment!"}
                )
            attachments.append(media)
        sid = str(110000000000000000 + self.new_id())
        status = {
            "id": sid,
            "created_at": "2025-06-30T00:00:00.000Z",
            "in_reply_to_id": reply_to,
            "in_reply_to_account_id": "1" if reply_to else None,
            "sensitive": bool(body.get("sensitive")),
            "spoiler_text": body.get("spoiler_text", ""),
            "visibility": body.get("visibility", "public"),
            "language": body.get("language"),
            "uri": f"{self.url}/users/press/statuses/{sid}",
            "url": f"{self.url}/@press/{sid}",
            "content": f"<p>{text}</p>",
            "media_attachments": attachments,
            "account": {"id": "1", "username": "press", "acct": "press"},
            "mentions": [],
            "tags": [],
            "text": text,
        }
        self.statuses[sid] = status
        self.keys[key] = sid
        return Reply(200, status)


def oauth1_signature(method: str, url: str, params: dict[str, str], consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 HMAC-SHA1, written from the RFC (independent of the client's library)."""

    def enc(value: str) -> str:
        return quote(value, safe="~")

    pairs = sorted((enc(k), enc(v)) for k, v in params.items())
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    base = "&".join([method.upper(), enc(url), enc(normalized)])
    key = f"{enc(consumer_secret)}&{enc(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


class XServer(ApiServer):
    """X API v2 POST /2/tweets, OAuth 1.0a user context verified from the RFC."""

    consumer_key, consumer_secret = "x-consumer-key-31", "x-consumer-secret-8d2f"
    access_token, access_secret = "1234-x-access-token", "x-access-secret-5b9a"

    def __init__(self) -> None:
        super().__init__()
        self.tweets: dict[str, dict[str, Any]] = {}
        self.nonces: set[str] = set()
        self.access_level = "read-write"  # "read": an app left read-only, whose token cannot post

    def weighted(self, text: str) -> int:
        # Weight 1 for the v3.json ranges, 2 otherwise; URLs 23; an emoji grapheme 2.
        import unicodedata

        text = unicodedata.normalize("NFC", text)
        total = 0
        for url in _URL.findall(text):
            total += 23
            text = text.replace(url, "", 1)
        for g in regex.findall(r"\X", text):
            if regex.search(r"\p{Extended_Pictographic}", g) or regex.match(r"\p{Regional_Indicator}{2}", g):
                total += 2
                continue
            for ch in g:
                cp = ord(ch)
                light = cp <= 0x10FF or 0x2000 <= cp <= 0x200D or 0x2010 <= cp <= 0x201F or 0x2032 <= cp <= 0x2037
                total += 1 if light else 2
        return total

    def _auth(self, seen: Seen) -> str | None:
        header = seen.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return "no OAuth Authorization header"
        params = {unquote(k): unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header[6:])}
        need = {
            "oauth_consumer_key",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_token",
            "oauth_version",
        }
        if not need <= set(params):
            return f"OAuth parameters missing: {sorted(need - set(params))}"
        if params["oauth_signature_method"] != "HMAC-SHA1" or params["oauth_version"] != "1.0":
            return "OAuth signature method must be HMAC-SHA1, version 1.0"
        if params["oauth_consumer_key"] != self.consumer_key or params["oauth_token"] != self.access_token:
            return "unknown consumer key or token"
        if params["oauth_nonce"] in self.nonces:
            return "OAuth nonce reused"
        self.nonces.add(params["oauth_nonce"])
        signature = params.pop("oauth_signature")
        for k, values in seen.query.items():
            params[k] = values[0]
        # A JSON body is not part of the signature base string (RFC 5849 §3.4.1.3.1).
        expected = oauth1_signature(
            seen.method, f"http://{seen.headers['host']}{seen.path}", params, self.consumer_secret, self.access_secret
        )
        return None if hmac.compare_digest(signature, expected) else "OAuth signature does not verify"

    def handle(self, seen: Seen) -> Reply:
        if seen.route == "GET /2/users/me":
            return self._me(seen)
        if seen.route != "POST /2/tweets":
            return Reply(404, {"title": "Not Found Error", "detail": "Not found", "type": "about:blank", "status": 404})
        why = self._auth(seen)
        if why:
            if why.startswith("unknown") or "verify" in why:
                return Reply(
                    401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
                )
            return self.problem(why)
        body = self.json_body(seen)
        if not isinstance(body, dict):
            return self.problem("tweet body must be a JSON object")
        allowed = {
            "text",
            "reply",
            "media",
            "quote_tweet_id",
            "poll",
            "reply_settings",
            "for_super_followers_only",
            "direct_message_deep_link",
            "geo",
            "nullcast",
        }
        if set(body) - allowed or not isinstance(body.get("text"), str):
            return self.problem(f"tweet fields {sorted(body)}")
        reply = body.get("reply")
        if reply is not None:
            if set(reply) - {"in_reply_to_tweet_id", "exclude_reply_user_ids"} or not isinstance(
                reply.get("in_reply_to_tweet_id"), str
            ):
                return self.problem(f"reply {reply!r}")
            if reply["in_reply_to_tweet_id"] not in self.tweets:
                return Reply(
                    400,
                    {
                        "errors": [
                            {
                                "parameters": {"reply.in_reply_to_tweet_id": [reply["in_reply_to_tweet_id"]]},
                                "message": "The `reply.in_reply_to_tweet_id` query parameter value is invalid",
                            }
                        ],
                        "title": "Invalid Request",
                        "detail": "One or more parameters to your request was invalid.",
                        "type": "https://api.twitter.com/2/problems/invalid-request",
                    },
                )
        text = body["text"]
        if self.weighted(text) > 280:
            return Reply(
                400,
                {
                    "errors": [{"message": "Your Tweet text is too long."}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                },
            )
        if any(t["text"] == text for t in self.tweets.values()):
            return Reply(
                403,
                {
                    "detail": "You are not allowed to create a Tweet with duplicate content.",
                    "type": "about:blank",
                    "title": "Forbidden",
                    "status": 403,
                },
            )
        tid = str(1800000000000000000 + self.new_id())
        self.tweets[tid] = {"id": tid, "text": text, "in_reply_to": reply and reply["in_reply_to_tweet_id"]}
        return Reply(201, {"data": {"id": tid, "text": text, "edit_history_tweet_ids": [tid]}})

    def _me(self, seen: Seen) -> Reply:
        # docs.x.com/x-api/users/user-lookup-me; OAuth 1.0a answers carry x-access-level (the app's permission).
        why = self._auth(seen)
        if why:
            if why.startswith("unknown") or "verify" in why:
                return Reply(
                    401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
                )
            return self.problem(why)
        if seen.body:
            return self.problem("GET /2/users/me takes no body")
        return Reply(
            200,
            {"data": {"id": "2244994945", "name": "Press Office", "username": "pressoffice"}},
            {"x-access-level": self.access_level},
        )


_LITTLE_RESERVED = set("|{}@[]()<>#\\*_~")


def little_text_problem(text: str) -> str | None:
    """Why `text` is not valid LinkedIn "little text" (reserved characters must be escaped)."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                return "text ends in a lone backslash"
            i += 2
            continue
        m = re.match(r"\{hashtag\|\\#\|([^\s{}|\\#]+)\}", text[i:])
        if m:
            i += m.end()
            continue
        m = re.match(r"@\[[^\]]+\]\(urn:li:(person|organization):[\w-]+\)", text[i:])
        if m:
            i += m.end()
            continue
        if ch in _LITTLE_RESERVED:
            return f"unescaped reserved character {ch!r} at {i}: {text[max(0, i - 20) : i + 20]!r}"
        i += 1
    return None


class LinkedInServer(ApiServer):
    """LinkedIn Posts API: POST /rest/posts with versioned headers; the post URN in x-restli-id."""

    token = "linkedin-test-token-c0ffee"
    active_versions = ("202504", "202505", "202506", "202507")

    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[str, dict[str, Any]] = {}
        self.member = "aBcD3fG"  # the token's member (urn:li:person:aBcD3fG)
        self.roles = {"urn:li:organization:2414183": "ADMINISTRATOR"}  # the member's approved page roles
        self.scopes = {"w_organization_social", "r_organization_admin", "w_member_social", "openid", "profile"}
        self.expired: set[str] = set()  # tokens LinkedIn answers as revoked (401, serviceErrorCode 65601)

    def _refused(self, seen: Seen) -> Reply | None:
        token = self.bearer(seen)
        if token in self.expired:
            return Reply(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65601,
                    "code": "REVOKED_ACCESS_TOKEN",
                    "message": "The token used in the request has been revoked by the user",
                },
            )
        if token != self.token:
            return Reply(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            )
        return None

    def _acls(self, seen: Seen) -> Reply:
        # learn.microsoft.com/linkedin/marketing/community-management/organizations/organization-access-control-by-role
        refused = self._refused(seen)
        if refused:
            return refused
        if seen.headers.get("x-restli-protocol-version") != "2.0.0" or not re.fullmatch(
            r"\d{6}", seen.headers.get("linkedin-version", "")
        ):
            return self.problem("organizationAcls needs X-Restli-Protocol-Version 2.0.0 and Linkedin-Version")
        if seen.query.get("q") != ["roleAssignee"]:
            return self.problem(f"organizationAcls finder {seen.query.get('q')!r}")
        if "r_organization_admin" not in self.scopes:
            return Reply(
                403,
                {
                    "status": 403,
                    "serviceErrorCode": 100,
                    "code": "ACCESS_DENIED",
                    "message": "Not enough permissions to access: organizationAcls.FINDER-roleAssignee.20250601",
                },
            )
        state = seen.query.get("state", [None])[0]
        elements = [
            {"roleAssignee": f"urn:li:person:{self.member}", "role": role, "organization": org, "state": "APPROVED"}
            for org, role in self.roles.items()
            if state in (None, "APPROVED")
        ]
        return Reply(200, {"paging": {"count": 10, "start": 0, "links": []}, "elements": elements})

    def _userinfo(self, seen: Seen) -> Reply:
        # learn.microsoft.com/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2 (openid, profile).
        refused = self._refused(seen)
        if refused:
            return refused
        if "openid" not in self.scopes:
            return Reply(
                403,
                {"status": 403, "serviceErrorCode": 100, "message": "Not enough permissions to access: userinfo.GET"},
            )
        return Reply(200, {"sub": self.member, "name": "Kim Press", "email_verified": True})

    def handle(self, seen: Seen) -> Reply:
        if seen.route == "GET /rest/organizationAcls":
            return self._acls(seen)
        if seen.route == "GET /v2/userinfo":
            return self._userinfo(seen)
        if seen.route != "POST /rest/posts":
            return Reply(404, {"status": 404, "message": "Resource not found"})
        if self.bearer(seen) != self.token:
            return Reply(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            )
        version = seen.headers.get("linkedin-version", "")
        if not re.fullmatch(r"\d{6}", version):
            return self.problem(f"Linkedin-Version header {version!r} is not YYYYMM")
        if version not in self.active_versions:
            return Reply(
                426,
                {"status": 426, "code": "NONEXISTENT_VERSION", "message": f"Requested version {version} is not active"},
            )
        if seen.headers.get("x-restli-protocol-version") != "2.0.0":
            return self.problem("X-Restli-Protocol-Version must be 2.0.0")
        body = self.json_body(seen)
        if not isinstance(body, dict):
            return self.problem("post body must be a JSON object")
        allowed = {
            "author",
            "commentary",
            "visibility",
            "distribution",
            "content",
            "lifecycleState",
            "isReshareDisabledByAuthor",
            "contentLandingPage",
            "contentCallToActionLabel",
            "reshareContext",
        }
        required = {"author", "commentary", "visibility", "distribution", "lifecycleState"}
        if set(body) - allowed or not required <= set(body):
            return self.problem(f"post fields {sorted(body)}; required {sorted(required)}")
        if not re.fullmatch(r"urn:li:(person|organization):[\w-]+", body["author"]):
            return self.problem(f"author {body['author']!r}")
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            return self.problem(f"visibility {body['visibility']!r}")
        if body["lifecycleState"] != "PUBLISHED":
            return self.problem(f"lifecycleState {body['lifecycleState']!r}")
        dist = body["distribution"]
        if (
            dist.get("feedDistribution") not in ("MAIN_FEED", "NONE")
            or not isinstance(dist.get("targetEntities"), list)
            or not isinstance(dist.get("thirdPartyDistributionChannels"), list)
        ):
            return self.problem(f"distribution {dist!r}")
        why = little_text_problem(body["commentary"])
        if why:
            return Reply(422, {"status": 422, "message": f"commentary: {why}"})
        if len(body["commentary"]) > 3000:
            return Reply(422, {"status": 422, "message": "commentary: length must be at most 3000"})
        content = body.get("content")
        if content is not None:
            article = content.get("article")
            if set(content) != {"article"} or not isinstance(article, dict):
                return self.problem(f"content {content!r}")
            if set(article) - {"source", "title", "description", "thumbnail", "thumbnailAltText"} or not (
                isinstance(article.get("source"), str)
                and article["source"].startswith("http")
                and isinstance(article.get("title"), str)
            ):
                return self.problem(f"article {article!r}")
        urn = f"urn:li:share:{7000000000000000000 + self.new_id()}"
        self.posts[urn] = body
        return Reply(201, None, {"x-restli-id": urn, "Location": f"/rest/posts/{quote(urn, safe='')}"})


def _graph_error(message: str, code: int = 100, kind: str = "OAuthException", status: int = 400) -> Reply:
    return Reply(status, {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123"}})


class ThreadsServer(ApiServer):
    """Threads API v1.0: containers (POST /{user}/threads), their status, threads_publish, latest posts."""

    token = "threads-test-token-4f4f"
    user = "17841400000000000"

    def __init__(self, in_progress: int = 0) -> None:
        super().__init__()
        self.in_progress = in_progress  # status checks answered IN_PROGRESS before FINISHED
        self.containers: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.permissions = {"threads_basic", "threads_content_publish"}

    @staticmethod
    def length(text: str) -> int:
        # Threads: 500 characters, an emoji counts its UTF-8 bytes (the docs' grapheme-splitter note).
        total = 0
        for g in regex.findall(r"\X", text):
            emoji = regex.search(r"\p{Extended_Pictographic}|\p{Regional_Indicator}", g)
            total += len(g.encode()) if emoji else len(g)
        return total

    def _form(self, seen: Seen) -> dict[str, str] | None:
        if not seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            self.problem(f"{seen.route}: not a form post")
            return None
        return {k: v[0] for k, v in parse_qs(seen.body.decode(), keep_blank_values=True).items()}

    def handle(self, seen: Seen) -> Reply:
        if "access_token" in (seen.query if seen.method == "POST" else {}):
            return self.problem("the access token must not ride in the URL of a POST")
        params = self._form(seen) if seen.method == "POST" else {k: v[0] for k, v in seen.query.items()}
        if params is None:
            return self.problem("bad form")
        if params.pop("access_token", None) != self.token:
            return _graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        parts = seen.path.split("/")
        if seen.route == "GET /v1.0/me":
            # developers.facebook.com/docs/threads/threads-profiles: needs threads_basic.
            if "threads_basic" not in self.permissions:
                return _graph_error("(#10) Application does not have permission for this action", 10)
            if set(params) - {"fields"}:
                return self.problem(f"GET /me parameters {sorted(params)}")
            user = {"id": self.user, "username": "pressoffice", "name": "Press Office"}
            return Reply(200, {k: user[k] for k in params.get("fields", "id").split(",") if k in user})
        if seen.route in (f"POST /v1.0/{self.user}/threads", "POST /v1.0/me/threads"):
            return self._create(params)
        if seen.route in (f"POST /v1.0/{self.user}/threads_publish", "POST /v1.0/me/threads_publish"):
            return self._publish(params)
        if seen.route in (f"GET /v1.0/{self.user}/threads", "GET /v1.0/me/threads"):
            data = [{"id": k, "text": v["text"]} for k, v in reversed(list(self.posts.items()))]
            return Reply(200, {"data": data[: int(params.get("limit", "25"))]})
        if seen.method == "GET" and len(parts) == 3 and parts[2] in self.containers:
            c = self.containers[parts[2]]
            if c["status"] == "IN_PROGRESS":
                c["checks"] += 1
                if c["checks"] > self.in_progress:
                    c["status"] = "FINISHED"
            return Reply(200, {"id": parts[2], "status": c["status"]})
        if seen.method == "GET" and len(parts) == 3 and parts[2] in self.posts:
            return Reply(200, {"id": parts[2], "permalink": f"https://www.threads.net/@press/post/C{parts[2][-8:]}"})
        return _graph_error("Unsupported request", 100, "GraphMethodException")

    def _create(self, params: dict[str, str]) -> Reply:
        allowed = {"media_type", "text", "reply_to_id", "link_attachment", "reply_control", "topic_tag"}
        if set(params) - allowed or params.get("media_type") != "TEXT" or not params.get("text"):
            return self.problem(f"container parameters {sorted(params)}")
        if self.length(params["text"]) > 500:
            return _graph_error("The post text is too long. Max 500 characters.", 100, "THApiException")
        if "reply_to_id" in params and params["reply_to_id"] not in self.posts:
            return _graph_error("Invalid parameter: reply_to_id", 100, "THApiException")
        if "link_attachment" in params and not params["link_attachment"].startswith("http"):
            return self.problem(f"link_attachment {params['link_attachment']!r}")
        cid = str(18000000000000000 + self.new_id())
        self.containers[cid] = {**params, "status": "IN_PROGRESS" if self.in_progress else "FINISHED", "checks": 0}
        return Reply(200, {"id": cid})

    def _publish(self, params: dict[str, str]) -> Reply:
        if set(params) != {"creation_id"}:
            return self.problem(f"publish parameters {sorted(params)}")
        c = self.containers.get(params["creation_id"])
        if c is None or c["status"] != "FINISHED":
            return _graph_error(
                "The media is not ready for publishing, please wait for a moment", 9007, "THApiException"
            )
        c["status"] = "PUBLISHED"
        mid = str(17900000000000000 + self.new_id())
        self.posts[mid] = {"text": c["text"], "reply_to": c.get("reply_to_id"), "link": c.get("link_attachment")}
        return Reply(200, {"id": mid})
