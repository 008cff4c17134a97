"""Parse and validate a document once per schema, keyed by its text.

Clients send the same few documents over and over (a storefront's customer page, a
mini-program's `me`), and validating one costs ~10 ms of pure Python. strawberry's
ParserCache and ValidationCache do cache, but ValidationCache keys its LRU on the
parsed DocumentNode, a frozen dataclass whose hash walks the whole tree on every
lookup (~0.3 ms for the shopper's read), and any validation rule class built per
request (as strawberry's QueryDepthLimiter does) makes every lookup a miss. Here the
key is the text itself (str caches its hash), the parse options and the rule
classes, which are built once per schema (api/protections/shape.py).

Only what depends on the text alone is cached: the cost check depends on the
request's variables and runs per request in `on_execute` (api/protections/cost.py).
The cache is bounded (LRU) so a stream of distinct documents cannot grow memory.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

DEFAULT_MAXSIZE = 256


class DocumentCache:
    """An LRU of parsed documents and their validation errors, for one schema.

    `parses` and `validations` count the real work done (the tests read them)."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[Hashable, DocumentNode] = OrderedDict()
        self._errors: OrderedDict[Hashable, list[GraphQLError]] = OrderedDict()
        self.parses = 0
        self.validations = 0

    def parse(self, text: str, options: Mapping[str, Any]) -> DocumentNode:
        key = (text, tuple(sorted(options.items())))
        found = self._documents.get(key)
        if found is None:
            found = parse(text, **options)  # a syntax error raises and is not cached
            self.parses += 1
            self._remember(self._documents, key, found)
        else:
            self._documents.move_to_end(key)
        return found

    def validate(
        self,
        schema: GraphQLSchema,
        text: str,
        document: DocumentNode,
        rules: Sequence[type[ASTValidationRule]],
    ) -> list[GraphQLError]:
        key = (text, tuple(rules))
        found = self._errors.get(key)
        if found is None:
            found = validate_document(schema, document, tuple(rules))
            self.validations += 1
            self._remember(self._errors, key, found)
        else:
            self._errors.move_to_end(key)
        return found

    def _remember(self, entries: OrderedDict[Hashable, Any], key: Hashable, value: Any) -> None:
        entries[key] = value
        if len(entries) > self.maxsize:
            entries.popitem(last=False)


def cached_documents(cache: DocumentCache) -> type[SchemaExtension]:
    """A schema extension serving parse and validation from `cache`."""

    class CachedDocuments(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            context = self.execution_context
            if context.graphql_document is None and context.query:
                # On a syntax error strawberry parses again and reports it itself.
                with contextlib.suppress(GraphQLError):
                    context.graphql_document = cache.parse(context.query, context.parse_options)
            yield

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None and context.query and context.pre_execution_errors is None:
                context.pre_execution_errors = cache.validate(
                    context.schema._schema, context.query, document, context.validation_rules
                )
            yield

    return CachedDocuments
