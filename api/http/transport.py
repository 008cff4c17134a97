"""Checks a GraphQL POST body before strawberry parses it.

Python's `json` turns some bodies into exceptions that would end as 500s (a bare
`null`, invalid UTF-8, nesting past the recursion limit, an integer of 100,000
digits) and accepts others that break later (lone surrogates that cannot be encoded
back into the answer, nesting that graphql-core's recursive coercion cannot walk).
Here each of them is a 400 in the documented shape, and a body that passes is
handed on unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.responses import error_response

MAX_NESTING = 64
MAX_INTEGER_DIGITS = 40
NOT_JSON = "Unable to parse request body as JSON"
EXPECTED_SHAPE = (
    'The body must be a JSON object: {"query": string, "variables": object, '
    '"operationName": string}.'
)
OPTIONAL_FIELDS: dict[str, tuple[type, ...]] = {
    "variables": (dict,),
    "operationName": (str,),
    "extensions": (dict,),
}


class BadBody(Exception):
    """Why a body is refused; the message is shown to the caller."""


def _integer(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INTEGER_DIGITS:
        raise BadBody(f"A number in the body has more than {MAX_INTEGER_DIGITS} digits.")
    return int(text)


def _constant(name: str) -> Any:
    raise BadBody(f"{name} is not JSON.")


def parse_body(body: bytes) -> dict[str, Any]:
    """The request as a dict with a string `query`, or BadBody saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("The body is not valid UTF-8.") from None
    try:
        data = json.loads(text, parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise BadBody(f"The body is nested more than {MAX_NESTING} levels deep.") from None
    except ValueError:  # JSONDecodeError, and int/float conversions
        raise BadBody(NOT_JSON) from None
    _check_values(data)
    if not isinstance(data, dict):
        raise BadBody(EXPECTED_SHAPE)
    if not isinstance(data.get("query"), str):
        raise BadBody(
            'No GraphQL query found in the request: send a string in "query".'
            if data.get("query") is None
            else 'The "query" must be a string.'
        )
    for name, types in OPTIONAL_FIELDS.items():
        value = data.get(name)
        if value is not None and not isinstance(value, types):
            kind = "an object" if types == (dict,) else "a string"
            raise BadBody(f'"{name}" must be {kind} or null.')
    return data


def _check_values(data: object) -> None:
    """Walks the parsed body without recursion: bounded nesting, and strings that can
    be encoded again (JSON allows lone surrogates such as "\\ud800"; UTF-8 does not)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_NESTING:
            raise BadBody(f"The body is nested more than {MAX_NESTING} levels deep.")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadBody("The body holds an unpaired UTF-16 surrogate (\\ud800-\\udfff).") from None
    if "\x00" in text:
        # No text column can store it (PostgreSQL refuses the statement); literals in
        # the document are refused by api/protections/scalars.NoNulInStrings.
        raise BadBody("The body holds a NUL character (\\u0000).")


def _media_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


class StrictBody:
    """Reads a POST body to `path` whole (the body limit outside it bounds the size),
    refuses what `parse_body` refuses, and replays the bytes to the app."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if _media_type(scope) == "multipart/form-data":
            # An upload (importCreate): strawberry reads the form, and
            # LoyaltyGraphQL.parse_multipart checks its "operations" as a body here.
            await self.app(scope, receive, send)
            return
        if _media_type(scope) != "application/json":
            response = error_response(
                "Send the request as JSON with Content-Type: application/json "
                "(or multipart/form-data for a file upload).",
                400,
            )
            await response(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            parse_body(body)
        except BadBody as exc:
            await error_response(str(exc), 400)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
