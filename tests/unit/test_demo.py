"""The demo's mirror check: a pure comparison of two listings (key -> size, ETag)."""

from client.demo import mirror_problems


def test_a_mirror_has_no_problem():
    listing = {"a": (1, '"x"'), "b/": (0, '"y"')}
    assert mirror_problems(listing, dict(listing)) == []


def test_every_difference_is_named_with_its_key():
    source = {"missing": (1, '"m"'), "same": (1, '"s"'), "resized": (1, '"r"'), "rewritten": (2, '"w"')}
    destination = {"same": (1, '"s"'), "resized": (2, '"r"'), "rewritten": (2, '"v"'), "extra": (3, '"e"')}
    assert mirror_problems(source, destination) == [
        "missing 'missing'",
        "extra 'extra'",
        "different 'resized'",
        "different 'rewritten'",
    ]
