"""The fast decoder of S3 Inventory CSV keys gives exactly what `unquote_plus` gives for encoded keys."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest
from encord_provider.storage.inventory.keys import decode_form_key
from hypothesis import given
from hypothesis import strategies as st

# Keys are any UTF-8 text without NUL; surrogates cannot be encoded to UTF-8.
KEYS = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60
)


@given(KEYS, st.sampled_from(["", "/", "*", "/~*"]))
def test_decodes_what_form_encoding_produced(key: str, safe: str) -> None:
    assert decode_form_key(quote_plus(key, safe=safe)) == key


@pytest.mark.parametrize(
    ("encoded", "key"),
    [
        ("a+b", "a b"),
        ("a%2Bb", "a+b"),
        ("100%25", "100%"),
        ("caf%C3%A9", "café"),
        ("x%5Cx41", "x\\x41"),
        ("raw-ünïcode+%2F", "raw-ünïcode /"),  # a raw non-ASCII character is kept as it is
    ],
)
def test_known_encodings(encoded: str, key: str) -> None:
    assert decode_form_key(encoded) == key


@pytest.mark.parametrize("encoded", ["100%", "%zz", "a%4", "%C3", "%e6%97", "%FF"])
def test_malformed_escapes_raise(encoded: str) -> None:
    with pytest.raises(ValueError):
        decode_form_key(encoded)
