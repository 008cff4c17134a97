"""Domain field paths become the input paths the client sent (api.errors.input_path)."""

import pytest

from api.errors import input_path, user_errors
from domain.errors import DomainError, ErrorCode, InvalidInput


@pytest.mark.parametrize(
    ("domain_path", "expected"),
    [
        (("idempotency_key",), ["input", "idempotencyKey"]),
        (("items", "3", "unit_price"), ["input", "items", "3", "unitPrice"]),
        (("customer", "external_id"), ["input", "customer", "externalId"]),
        (("lifecycle_silent_days",), ["input", "lifecycleSilentDays"]),
        ((), ["input"]),
        # the client's own JSON keys stay as sent
        (("attributes", "vip_level"), ["input", "attributes", "vip_level"]),
        # written by the api layer: already an input path
        (("input", "customerId"), ["input", "customerId"]),
        (("input", "tagIds", "0"), ["input", "tagIds", "0"]),
    ],
)
def test_domain_paths_map_to_input_paths(domain_path, expected):
    assert input_path(domain_path) == expected


def test_a_mutation_with_another_argument_names_its_root():
    assert input_path(("inputs",), root="inputs") == ["inputs"]
    assert input_path(("items", "0", "sku"), root="inputs") == ["inputs", "items", "0", "sku"]


def test_user_errors_maps_every_error_and_keeps_a_missing_field():
    refusal = InvalidInput(
        [
            DomainError(ErrorCode.REQUIRED, ("tag_names",), "Name at least one tag."),
            DomainError(ErrorCode.INVALID, None, "Something about the whole request."),
        ]
    )
    assert [e.field for e in user_errors(refusal)] == [["input", "tagNames"], None]
