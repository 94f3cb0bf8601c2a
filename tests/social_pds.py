"""A loopback Bluesky PDS: sessions (with expiry and refresh), blobs, createRecord/getRecord.

Every XRPC input and every record is checked against the official lexicons
(social_lexicon); beyond the lexicons it checks what only a server can: facet byte offsets
point at the right text, blob refs name uploaded blobs, reply refs name real posts with their
CIDs, and a record key is a TID. A second createRecord with the same rkey fails the way the
reference PDS fails ("There is already a value at key" from its MST, answered as a 500).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from social_lexicon import TID, lexicons
from social_servers import ApiServer, Reply, Seen


def raw_cid(data: bytes) -> str:
    """CIDv1, raw codec, sha2-256, base32 lower-case: how a PDS names a blob (written from the spec)."""
    digest = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(digest).decode().lower().rstrip("=")


def record_cid(record: dict[str, Any]) -> str:
    # A stand-in for the dag-cbor CID: same form (CIDv1, dag-cbor codec), stable per record.
    digest = bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(json.dumps(record, sort_keys=True).encode()).digest()
    return "b" + base64.b32encode(digest).decode().lower().rstrip("=")


def _err(status: int, error: str, message: str) -> Reply:
    return Reply(status, {"error": error, "message": message})


class PdsServer(ApiServer):
    """The XRPC endpoints a Bluesky client uses to post."""

    handle_name = "press.example.org"
    did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    app_password = "abcd-efgh-ijkl-mnop"

    def __init__(self, lexicon_folder: Path, duplicate: str = "mst") -> None:
        super().__init__()
        self.lex = lexicons(str(lexicon_folder))
        self.duplicate = duplicate  # "mst": 500 like the reference PDS; "invalid": 400 InvalidRequest
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> {"uri", "cid", "value"}
        self.blobs: dict[str, tuple[str, bytes]] = {}
        self.access: dict[str, bool] = {}  # token -> expired
        self.refresh: dict[str, bool] = {}
        self.account_status: str | None = None  # "takendown", "suspended", "deactivated": createSession says so

    # --- sessions ---------------------------------------------------------------------------

    def _tokens(self) -> dict[str, str]:
        n = self.new_id()
        access, refresh = f"eyJ.access-{n}.sig", f"eyJ.refresh-{n}.sig"
        self.access[access] = False
        self.refresh[refresh] = False
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle_name, "did": self.did}

    def expire_access(self) -> None:
        """Every access token issued so far expires (the next call says ExpiredToken)."""
        for token in self.access:
            self.access[token] = True

    def expire_refresh(self) -> None:
        for token in self.refresh:
            self.refresh[token] = True

    def _authorized(self, seen: Seen) -> Reply | None:
        token = self.bearer(seen)
        if token is None or (token not in self.access):
            return _err(
                401, "InvalidToken", "Bad token scope" if token in self.refresh else "Token could not be verified"
            )
        if self.access[token]:
            return _err(400, "ExpiredToken", "Token has expired")
        return None

    def handle(self, seen: Seen) -> Reply:
        route = seen.route
        if route == "POST /xrpc/com.atproto.server.createSession":
            body = self.json_body(seen)
            errors = self.lex.errors("com.atproto.server.createSession", body)
            if errors:
                return self.problem(f"createSession input: {errors}")
            if body["identifier"] not in (self.handle_name, self.did) or body["password"] != self.app_password:
                return _err(401, "AuthenticationRequired", "Invalid identifier or password")
            # A deactivated, suspended or taken-down account still gets a session, with active false and its status.
            state = {"active": False, "status": self.account_status} if self.account_status else {"active": True}
            return Reply(200, {**self._tokens(), **state, "email": "press@example.org", "emailConfirmed": True})
        if route == "POST /xrpc/com.atproto.server.refreshSession":
            token = self.bearer(seen)
            if seen.body:
                return self.problem("refreshSession takes no body")
            if token not in self.refresh:
                return _err(401, "InvalidToken", "Token could not be verified")
            if self.refresh.pop(token):
                return _err(400, "ExpiredToken", "Token has expired")
            return Reply(200, {**self._tokens(), "active": True})
        if route == "GET /xrpc/com.atproto.repo.getRecord":
            return self._get_record(seen)
        denied = self._authorized(seen)
        if denied:
            return denied
        if route == "POST /xrpc/com.atproto.repo.uploadBlob":
            mime = seen.headers.get("content-type", "")
            if not mime.startswith("image/") or not seen.body:
                return self.problem(f"uploadBlob with Content-Type {mime!r} and {len(seen.body)} bytes")
            cid = raw_cid(seen.body)
            self.blobs[cid] = (mime, seen.body)
            return Reply(
                200, {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(seen.body)}}
            )
        if route == "POST /xrpc/com.atproto.repo.createRecord":
            return self._create(seen)
        return _err(404, "MethodNotImplemented", "Method Not Implemented")

    # --- records ----------------------------------------------------------------------------

    def _get_record(self, seen: Seen) -> Reply:
        q = {k: v[0] for k, v in seen.query.items()}
        if set(q) - {"repo", "collection", "rkey", "cid"} or not {"repo", "collection", "rkey"} <= set(q):
            return self.problem(f"getRecord parameters {sorted(q)}")
        found = self.records.get(q["rkey"]) if q["repo"] in (self.did, self.handle_name) else None
        if found is None or q["collection"] != "app.bsky.feed.post":
            return _err(
                400, "RecordNotFound", f"Could not locate record: at://{q['repo']}/{q['collection']}/{q['rkey']}"
            )
        return Reply(200, found)

    def _create(self, seen: Seen) -> Reply:
        body = self.json_body(seen)
        errors = self.lex.errors("com.atproto.repo.createRecord", body)
        if errors:
            return self.problem(f"createRecord input: {errors}")
        if body["repo"] not in (self.did, self.handle_name):
            return _err(401, "AuthRequiredError", "Authentication Required")
        record = body["record"]
        if body["collection"] != "app.bsky.feed.post" or record.get("$type") != "app.bsky.feed.post":
            return self.problem(f"collection {body['collection']!r} / $type {record.get('$type')!r}")
        errors = self.lex.errors("app.bsky.feed.post", record)
        if errors:
            return self.problem(f"record does not validate against app.bsky.feed.post: {errors}")
        rkey = body.get("rkey")
        if rkey is not None and not TID.match(rkey):
            return self.problem(f"rkey {rkey!r} is not a TID (the post lexicon's key type)")
        why = self._semantics(record)
        if why:
            return self.problem(why)
        rkey = rkey or f"3l{self.new_id():011d}"[:13]
        if rkey in self.records:
            if self.duplicate == "mst":
                return _err(500, "InternalServerError", "Internal Server Error")
            return _err(400, "InvalidRequest", f"Record already exists at app.bsky.feed.post/{rkey}")
        uri = f"at://{self.did}/app.bsky.feed.post/{rkey}"
        cid = record_cid(record)
        self.records[rkey] = {"uri": uri, "cid": cid, "value": record}
        return Reply(
            200,
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": record_cid({"commit": cid}), "rev": rkey},
                "validationStatus": "valid",
            },
        )

    def _semantics(self, record: dict[str, Any]) -> str | None:
        """What the lexicon cannot say: offsets, blob and reply references."""
        data = record["text"].encode("utf-8")
        for facet in record.get("facets", []):
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            if not 0 <= start < end <= len(data):
                return f"facet byte range {start}..{end} outside the text ({len(data)} bytes)"
            try:
                shown = data[start:end].decode("utf-8")
            except UnicodeDecodeError:
                return f"facet byte range {start}..{end} cuts a UTF-8 character"
            for feature in facet["features"]:
                kind = feature["$type"]
                if kind == "app.bsky.richtext.facet#link" and feature["uri"] not in (shown, "https://" + shown):
                    return f"link facet {start}..{end} covers {shown!r}, not its uri {feature['uri']!r}"
                if kind == "app.bsky.richtext.facet#tag" and shown != "#" + feature["tag"]:
                    return f"tag facet {start}..{end} covers {shown!r}, not #{feature['tag']}"
        for blob in _blobs(record):
            stored = self.blobs.get(blob["ref"]["$link"])
            if stored is None:
                return f"blob {blob['ref']['$link']} was never uploaded"
            if stored[0] != blob["mimeType"] or len(stored[1]) != blob["size"]:
                return f"blob {blob['ref']['$link']}: mimeType/size differ from the upload"
        reply = record.get("reply")
        if reply:
            for role in ("root", "parent"):
                rkey = reply[role]["uri"].rsplit("/", 1)[-1]
                found = self.records.get(rkey)
                if found is None or found["uri"] != reply[role]["uri"] or found["cid"] != reply[role]["cid"]:
                    return f"reply.{role} {reply[role]} is not a post of this repo"
            parent = self.records[reply["parent"]["uri"].rsplit("/", 1)[-1]]["value"]
            root = parent.get("reply", {}).get("root") or {"uri": reply["parent"]["uri"], "cid": reply["parent"]["cid"]}
            if root != reply["root"]:
                return f"reply.root {reply['root']} is not the root of the parent's thread {root}"
        if not re.search(r"\S", record["text"]) and "embed" not in record:
            return "empty post without an embed"
        return None


def _blobs(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        if value.get("$type") == "blob":
            return [value]
        return [b for v in value.values() for b in _blobs(v)]
    if isinstance(value, list):
        return [b for v in value for b in _blobs(v)]
    return []
