"""Malformed request bodies: each is a 400 in the documented JSON shape, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.settings import Settings
from tests.api.live_server import serving

JSON = {"Content-Type": "application/json"}
DEEP = 100_000


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    return error["message"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"null", "JSON object"),
        (b'"{ __typename }"', "JSON object"),
        (b"[]", "JSON object"),
        (b"42", "JSON object"),
        (b"\xff\xfe{\x00}\x00", "UTF-8"),
        (b'{"query": "{ __typename }", "x": "\xc3\x28"}', "UTF-8"),
        (
            b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * DEEP + b"]" * DEEP + b"}}",
            "nested",
        ),
        (
            b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 70 + b"]" * 70 + b"}}",
            "nested",
        ),
        (b'{"query": "{ __typename }", "variables": {"n": ' + b"9" * DEEP + b"}}", "digits"),
        (b'{"query": "{ __typename }", "variables": {"n": NaN}}', "NaN"),
        (b'{"query": "{ __typename }", "variables": {"s": "\\ud800"}}', "surrogate"),
        (b'{"query": "{ __typename }", "variables": {"\\udfff": 1}}', "surrogate"),
        (b'{"query": 42}', '"query" must be a string'),
        (b'{"query": null}', "No GraphQL query"),
        (b'{"query": "{ __typename }", "variables": "x"}', '"variables" must be an object'),
        (b'{"query": "{ __typename }", "variables": []}', '"variables" must be an object'),
        (b'{"query": "{ __typename }", "operationName": 1}', '"operationName" must be a string'),
        (b'{"query": "{ __typename }", "extensions": 1}', '"extensions" must be an object'),
        (b"{not json", "Unable to parse request body as JSON"),
        (b"", "Unable to parse request body as JSON"),
    ],
)
async def test_malformed_body_is_400_json(client, body, says):
    message = refusal(await client.post("/graphql", content=body, headers=JSON))
    assert says in message


async def test_other_content_types_are_400_json(client, admin_key):
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = await client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={"Content-Type": content_type},
        )
        assert "application/json" in refusal(response)
    # multipart/form-data is an upload (importCreate): a body that is no form is refused
    # (once the key is known to be one that may upload: tests/api/test_import_jobs.py).
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"Content-Type": "multipart/form-data", "Authorization": f"Bearer {admin_key}"},
    )
    assert "Unable to parse the multipart body" in refusal(response)
    bare = await client.post("/graphql", content=b'{"query": "{ __typename }"}')
    assert "application/json" in refusal(bare)


async def test_well_formed_edges_still_answer(client):
    """What the checks let through is answered as before: nesting and numbers within
    bounds, a charset parameter, null optional fields, unicode text."""
    nested = json.loads("[" * 60 + "]" * 60)
    body = {
        "query": "query Q { __typename }",
        "variables": {"deep": nested, "big": 10**39, "text": "会员 🍓"},
        "operationName": "Q",
        "extensions": None,
    }
    response = await client.post(
        "/graphql",
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


# --- fuzz: raw bodies against the real app behind uvicorn -------------------------

FUZZ_BODY_LIMIT = 50_000
QUERIES = [
    "{ __typename }",
    "query($first: Int) { customers(first: $first) { totalCount } }",
    "query($id: ID!) { node(id: $id) { id } }",
    "mutation($input: CustomerUpsertInput!) { customerUpsert(input: $input) { userErrors { code } } }",
    "{ ...Nope }",
    "",
]
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False),
    st.text(max_size=50),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@st.composite
def shaped_bodies(draw: st.DrawFn) -> bytes:
    """Bodies that look like GraphQL requests, with values of any JSON type."""
    body = {
        "query": draw(st.sampled_from(QUERIES) | json_values),
        "variables": draw(
            st.dictionaries(st.sampled_from(["first", "id", "input", "x"]), json_values, max_size=3)
            | json_values
        ),
    }
    if draw(st.booleans()):
        body["operationName"] = draw(json_values)
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-32", "utf-8-sig", "latin-1"]))
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    return text.encode(encoding, errors="replace")


@st.composite
def nested_bodies(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(min_value=1, max_value=DEEP))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    inner = opener * depth + b"1" + closer * depth
    if draw(st.booleans()):
        return b'{"query": "{ __typename }", "variables": {"v": ' + inner + b"}}"
    return inner


@st.composite
def number_bodies(draw: st.DrawFn) -> bytes:
    digits = draw(st.integers(min_value=1, max_value=DEEP))
    tail = draw(st.sampled_from([b"", b".5", b"e999999999", b"e-999999999"]))
    number = b"-" * draw(st.integers(0, 1)) + b"9" * digits + tail
    return (
        b'{"query": "query($first: Int) { customers(first: $first) { totalCount } }", "variables": {"first": '
        + number
        + b"}}"
    )


@st.composite
def sized_bodies(draw: st.DrawFn) -> bytes:
    """Around the body limit: just under, at, and over."""
    size = draw(st.integers(min_value=FUZZ_BODY_LIMIT - 100, max_value=FUZZ_BODY_LIMIT * 3))
    prefix = b'{"query": "{ __typename }", "pad": "'
    return prefix + b"x" * max(0, size - len(prefix) - 2) + b'"}'


raw_bodies = st.one_of(
    st.binary(max_size=3000),
    shaped_bodies(),
    nested_bodies(),
    number_bodies(),
    sized_bodies(),
    st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "APPLICATION/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=zz",
        "application/graphql",
        None,
    ]
)


@pytest.fixture
def fuzz_server(database_url: str):
    settings_ = Settings(
        DATABASE_URL=database_url,
        LOYALTY_MAX_BODY_BYTES=FUZZ_BODY_LIMIT,
        LOYALTY_RATE_LIMIT_ANONYMOUS="100000/minute",
    )
    with serving(create_app(settings_)) as base_url, httpx.Client(base_url=base_url) as http:
        yield http


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=raw_bodies, content_type=content_types)
def test_no_raw_body_gets_a_5xx(fuzz_server, body, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = fuzz_server.post("/graphql", content=body, headers=headers)
    assert response.status_code < 500, (body[:200], response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    if response.status_code == 401:  # an upload (multipart) is refused before its body
        assert content_type.startswith("multipart/form-data"), response.text
        assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    elif response.status_code != 200:
        assert response.status_code in (400, 413), response.text
        (error,) = answer["errors"]
        assert error["extensions"]["code"] in {"BAD_REQUEST", "PAYLOAD_TOO_LARGE"}
        assert isinstance(error["message"], str) and error["message"]
    else:
        assert "data" in answer or "errors" in answer
