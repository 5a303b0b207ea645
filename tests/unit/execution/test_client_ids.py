"""Client order ids: encoded and parsed back, bounded, and nothing else taken for ours."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from justtrades.execution.client_ids import MAX_LEN, ClientOrderId, encode, new_salt, parse

ids = st.integers(min_value=0, max_value=2**63 - 1)


@given(
    ids,
    ids,
    st.integers(min_value=0, max_value=999_999),
    st.from_regex(r"[0-9a-f]{4}", fullmatch=True),
)
def test_an_id_parses_back_to_its_parts_and_fits_the_column(
    signal_id: int, trader_id: int, seq: int, salt: str
) -> None:
    text = encode(signal_id, trader_id, seq, salt)
    assert len(text) <= MAX_LEN
    assert parse(text) == ClientOrderId(signal_id, trader_id, seq, salt)
    assert str(ClientOrderId(signal_id, trader_id, seq, salt)) == text


def test_the_runner_format_is_kept() -> None:
    assert encode(1042, 7, 2, "9f3a") == "jt1042-7-2-9f3a"
    assert len(new_salt()) == 4 and parse(encode(1, 2, 3, new_salt())) is not None


@pytest.mark.parametrize(
    "text", ["", "jt1-2-3", "jt1-2-3-XYZW", "manual-order", "jt-1-2-3-abcd", "jt1-2-3-abcd-x"]
)
def test_other_ids_are_not_taken_for_ours(text: str) -> None:
    assert parse(text) is None


def test_bad_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="not a client order id"):
        encode(-1, 2, 3, "abcd")
    with pytest.raises(ValueError, match="not a client order id"):
        encode(1, 2, 3, "ABCD")
