"""The one text checker refuses control characters in every field it guards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError, ErrorCode
from domain.fields import optional_text, required_text

CONTROLS = [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))]
LINE_BREAKS = "\n\r\t"
# Text without any C0/C1 control character (category Cc), and without surrogates.
PLAIN = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)


@given(PLAIN, st.sampled_from(CONTROLS), PLAIN)
def test_a_control_character_anywhere_inside_is_refused(head, control, tail):
    value = f"{head.strip() or 'x'}{control}{tail.strip() or 'y'}"
    with pytest.raises(DomainError) as refused:
        required_text(value, ("name",), max_length=200)
    assert refused.value.code == ErrorCode.INVALID
    assert refused.value.field == ("name",)
    assert "name" in refused.value.message
    with pytest.raises(DomainError):
        optional_text(value, ("description",), max_length=200)


@given(PLAIN)
def test_text_without_control_characters_is_kept_trimmed(value):
    if not value.strip():
        return
    assert required_text(value, ("name",), max_length=200) == value.strip()


@given(st.lists(st.one_of(PLAIN, st.sampled_from(LINE_BREAKS)), min_size=1, max_size=8))
def test_multiline_text_keeps_line_breaks_and_tabs(parts):
    value = "x" + "".join(parts) + "y"
    assert required_text(value, ("description",), max_length=1000, multiline=True) == value
    if any(ch in value for ch in LINE_BREAKS):
        with pytest.raises(DomainError):
            required_text(value, ("name",), max_length=1000)


@pytest.mark.parametrize("control", [c for c in CONTROLS if c not in LINE_BREAKS])
def test_multiline_text_still_refuses_other_controls(control):
    with pytest.raises(DomainError) as refused:
        optional_text(f"line\n{control}line", ("benefits",), max_length=100, multiline=True)
    assert refused.value.field == ("benefits",)
    assert f"U+{ord(control):04X}" in refused.value.message
