"""Keys that break naive S3 code, shared by every test that moves objects (moto's own tests use the like)."""

import unicodedata

import pytest

AWKWARD_KEYS = [
    pytest.param("plain.txt", id="plain"),
    pytest.param("café/ü.txt", id="unicode"),
    pytest.param(unicodedata.normalize("NFC", "café.txt"), id="nfc"),
    pytest.param(unicodedata.normalize("NFD", "café.txt"), id="nfd"),
    pytest.param("a b.txt", id="space"),
    pytest.param(" leading and trailing ", id="outer-spaces"),
    pytest.param("x+y=z", id="plus-equals"),
    pytest.param("a b+c%2F?.txt", id="space-plus-percent-question"),
    pytest.param("100%", id="percent"),
    pytest.param("a&b#c", id="ampersand-hash"),
    pytest.param("a&b<c>'\"", id="xml-special-characters"),
    pytest.param("dir//x", id="double-slash"),
    pytest.param("./../y", id="dot-segments"),
    pytest.param("..", id="dot-dot"),
    pytest.param("folder/", id="trailing-slash"),
    pytest.param("emoji \U0001f600", id="emoji"),
    pytest.param("d/" + "é" * 511, id="1024-bytes"),
]
