#!/usr/bin/env python3
"""Writes the seed inputs of the `graphql` fuzz target into seeds/graphql/ (the input format is
described in fuzz_targets/graphql.rs): ordinary requests of each kind, and the hostile shapes
of issue 24 (values nested 5,000 and 10,000 deep, self-spreading fragments, wide documents)."""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "graphql")
DEEP = 5000
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
UPLOAD = json.dumps({
    "query": "mutation($file: Upload!) { uploadBlob(file: $file) { id mimeType size } }",
    "variables": {"file": None},
})

seeds = {}


def seed(name, header, *fields):
    parts = [f.encode() if isinstance(f, str) else f for f in fields]
    seeds[name] = header.encode() + b"\n" + b"\0".join(parts)


# Ordinary requests.
seed("typename", "J", "{ __typename }")
seed("me", "Ju", "{ me { id username displayName email role } sessions { id userAgent } }")
seed("rooms", "Ju", "query($n: Int) { myRooms(first: $n) { pageInfo { hasNextPage endCursor } "
     "nodes { id kind name memberCount unreadCount lastMessage { body } messages(last: 3) "
     "{ nodes { id body sender { username } reactions { emoji count } replyTo { id } } } } } }",
     '{"n": 5}')
seed("rooms-page", "Ju", 'query($c: String) { myRooms(first: 2, after: $c) { nodes { id '
     'messages(first: 2, after: "eyJ0IjoxfQ", order: NEWEST_FIRST) { nodes { id } } } } }',
     '{"c": "not-a-cursor"}')
seed("admin", "JA", '{ stats { __typename } rooms(first: 3) { nodes { id name } } '
     'connectionStats(since: "2026-01-01T00:00:00Z") { total users avgRttMs } }')
seed("far-time", "JA", '{ connectionStats(since: "-262143-01-01T00:00:00Z") { total } }')
seed("search", "Ju", 'query($q: String!) { searchMessages(query: $q, first: 5) { nodes { id body } } }',
     '{"q": "coffee OR \\"release\\" -lunch*"}')
seed("user-by-name", "J", "query($u: String!) { userByUsername(username: $u) { id displayName } }",
     '{"u": "ann\\u0000"}', "")
seed("user-by-id", "Ju", "query($id: UUID!) { user(id: $id) { id } room(id: $id) { id } }",
     '{"id": "00000000-0000-0000-0000-000000000000"}')
seed("operation-name", "J", "query A { __typename } query B { me { id } }", "", "B")
seed("directives", "J", "query($s: Boolean = true) { __typename @include(if: $s) @skip(if: false) "
     "me @include(if: $s) { id } }", '{"s": false}')
seed("introspection", "J", "{ __schema { queryType { name } types { name kind fields(includeDeprecated: "
     "true) { name args { name type { name kind ofType { name kind } } defaultValue } } } } "
     '__type(name: "Message") { name } }')
seed("subscription", "Ju", "subscription { myEvents { __typename } }")
seed("bad-token", "Jx", "{ me { id } }")
seed("persisted", "J", "", "", "", '{"persistedQuery": {"version": 1, "sha256Hash": '
     '"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}')
seed("accept-gql", "Jg", "{ __typename(")
seed("accept-html", "Jh", "{ __typename }")
seed("syntax-error", "Ja", "{ me { id ")

# Mutations.
seed("send", "Ju", "mutation($r: UUID!, $b: String!) { sendMessage(input: {roomId: $r, body: $b, "
     'metadata: {a: [1, 2.5, "x", null, {b: true}]}}) { id body metadata } }',
     '{"r": "00000000-0000-0000-0000-000000000001", "b": "hi \\u0000 there"}')
seed("create-room", "Ju", 'mutation { createRoom(input: {name: "fuzz", topic: "t", withJoinCode: true, '
     "maxMembers: 3}) { id joinCode members { user { username } } } }")
seed("join", "Ju", 'mutation { joinRoom(code: "abc123") { id } }')
seed("profile", "Ju", "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id displayName } }",
     '{"i": {"displayName": "B\\u0000b", "avatarBlobId": "x"}}')
seed("register", "J", 'mutation { register(input: {username: "fuzz_1", email: "fuzz1@example.com", '
     'password: "correct horse"}) { token user { id } } }')
seed("login-wrong", "J", 'mutation { login(input: {login: "bob", password: "wrong-password"}) { token } }')
seed("mutation-over-get", "G", "mutation { logout }")
seed("batch", "R", "application/json", '[{"query": "{ __typename }"}, {"query": "{ me { id } }"}, '
     '{"query": "mutation { logout }"}]')

# GET and raw bodies.
seed("get", "Gu", "query($n: Int) { myRooms(first: $n) { nodes { id } } }", '{"n": 1}')
seed("get-bad-variables", "G", "query($n: Int) { __typename }", "[1,", "")
seed("raw-graphql", "R", "application/graphql", "{ __typename }")
seed("raw-no-type", "R", "", '{"query": "{ __typename }"}')
seed("raw-text", "R", "text/plain; charset=utf-8", '{"query": "{ __typename }"}')
seed("raw-form", "R", "application/x-www-form-urlencoded", "query=%7B__typename%7D")
seed("raw-broken-json", "R", "application/json", '{"query": "{ __typename }", "variables": {')
seed("raw-wrong-types", "R", "application/json", '{"query": 1, "variables": "x", "operationName": []}')

# Multipart uploads.
seed("upload", "Mu", UPLOAD, '{"0": ["variables.file"]}', b"file:0\n" + PNG)
seed("upload-anonymous", "M", UPLOAD, '{"0": ["variables.file"]}', b"file:0\n" + PNG)
seed("upload-text", "Mu", UPLOAD, '{"0": ["variables.file"]}', b"file:0\nnot an image")
seed("upload-bad-map", "Mu", UPLOAD, '{"0": ["variables.nothing.here"], "1": ["x"]}', b"file:0\n" + PNG)
seed("upload-twelve", "Mu",
     json.dumps({"query": "mutation($f: [Upload!]!) { a: uploadBlob(file: $f) { id } }",
                 "variables": {"f": [None] * 12}}),
     json.dumps({str(i): [f"variables.f.{i}"] for i in range(12)}),
     b"\0".join(f"file:{i}\n".encode() + PNG for i in range(12)))

# Issue 24, item 1: values nested past any parser's stack.
seed("deep-list-argument", "J", "{ __typename(x: " + "[" * DEEP + "]" * DEEP + ") }")
seed("deep-object-argument", "J", "{ __typename(x: " + "{a:" * DEEP + "1" + "}" * DEEP + ") }")
seed("deep-default", "J", "query($v: Int = " + "[" * DEEP + "]" * DEEP + ") { __typename }")
seed("deep-variables", "J", "query($v: JSON) { __typename }", '{"v": ' + "[" * DEEP + "]" * DEEP + "}")
seed("deep-get", "G", "{ __typename(x: " + "[" * DEEP + "]" * DEEP + ") }")
seed("deep-json-body", "R", "application/json", '{"query": "{ __typename }", "variables": {"v": '
     + '{"a":' * DEEP + "1" + "}" * DEEP + "}}")
seed("deep-multipart", "Mu", '{"query": "{ __typename(x: ' + "[" * DEEP + "]" * DEEP + ') }"}', "{}")
seed("deeper-list-argument", "J", "{ __typename(x: " + "[" * 10000 + "]" * 10000 + ") }")
seed("deeper-object-argument", "J", "{ __typename(x: " + "{a:" * 10000 + "1" + "}" * 10000 + ") }")
seed("deeper-get", "G", "{ __typename(x: " + "[" * 10000 + "]" * 10000 + ") }")
seed("deep-selection", "Ju", "{ me " + "{ __typename me " * 200 + "{ id }" + " }" * 200 + " }")
seed("deep-parens", "J", "{ __typename" + "(" * DEEP + " }")

# Issue 24, item 2: fragments spreading themselves; kept small so a seed runs fast.
seed("fragment-cycle", "J", "{ ...A } fragment A on Query { ...A ...A }")
seed("fragment-chain", "J", "{ ...F0 } " + " ".join(
    f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(6))
     + " fragment F6 on Query { __typename }")
seed("wide-aliases", "J", "{ " + " ".join(f"a{i}: __typename" for i in range(200)) + " }")
seed("wide-roots", "Ju", "{ " + " ".join(f"m{i}: me {{ id }}" for i in range(40)) + " }")

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
