"""Secrets in apprise and database URLs are masked wherever they are shown."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.core.redact import (
    RedactingFilter,
    Redactor,
    mask_feed_url,
    mask_feed_urls,
    mask_url,
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "mailtos://user:app-pass@smtp.example.org?to=desk@example.org",
            "mailtos://user:****@smtp.example.org?to=desk@example.org",
        ),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7", "slack://T***/A***/T***"),
        ("json://127.0.0.1:8080/hook?token=abcdef", "json://127.0.0.1:8080/h***?token=****"),
        ("jsons://u:pw@hooks.example.org/x", "jsons://u:****@hooks.example.org/x***"),
        ("tgram://123456789:AAbbCCdd/4242", "tgram://****"),
        ("not a url", "****"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    """Each kind of apprise URL is shown with its secrets reduced to hints."""
    assert mask_url(url) == masked


def test_redactor_scrubs_every_fragment() -> None:
    """Whatever form a secret takes in a message (whole URL, token, lowercased host), it goes."""
    redact = Redactor(["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"])
    text = (
        "POST https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7 "
        "failed for slack://t1jj3t3l2/..."
    )
    cleaned = redact(text)
    for secret in ("T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7", "t1jj3t3l2"):
        assert secret not in cleaned
    assert "hooks.slack.com" in cleaned


def test_token_in_the_port_position_is_a_secret() -> None:
    """A token written where a port would be (Telegram's) is scrubbed too."""
    redact = Redactor(["tgram://123456789:AAbbCCddEE/4242"])
    assert redact("bot 123456789:AAbbCCddEE failed") == "bot ****:**** failed"


def test_logging_filter_masks_messages_and_arguments() -> None:
    """The logging filter scrubs secrets from a record's message and its arguments."""
    redactor = Redactor(["mailtos://user:hunter22@smtp.example.org"])
    redactor.add_secret("dbpassword")
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "login %s with %s", ("hunter22", "dbpassword"), None
    )
    RedactingFilter(redactor).filter(record)
    assert record.getMessage() == "login **** with ****"


@given(st.text(min_size=8, max_size=30, alphabet=st.characters(categories=("L", "N"))))
def test_any_password_is_masked(password: str) -> None:
    """Property: the password of a mailto URL never survives masking or redaction."""
    url = f"mailtos://user:{password}@smtp.example.org"
    assert password not in mask_url(url)
    assert password not in Redactor([url])(f"error: {url} said {password}")


_URL_PIECES = ["a", "Z", "1", "+", ".", "-", ":", "/", "://", " ", "@", "u:pw12345@", "é", "<"]
_URL_PIECES += ["?token=abcdef1234", "http://", "x://", "'"]
# mask_feed_urls as it was, one regular expression: right, but searched from every letter of a
# long word (an error quoting one: 40 kB took 2.5 s).
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"']+")


@given(st.lists(st.sampled_from(_URL_PIECES), max_size=16).map("".join))
def test_feed_urls_in_a_text_are_masked_as_the_expression_finds_them(text: str) -> None:
    """Every ``scheme://…`` in a text is masked, found from its ``://``: the same URLs, with
    the same schemes, as the regular expression that defines them."""
    expected = _URL_IN_TEXT.sub(lambda found: mask_feed_url(found.group()), text)
    assert mask_feed_urls(text) == expected


def test_long_texts_a_server_can_make_are_read_once() -> None:
    """An error can quote what a hostile server sent (a header line): a long word, a long
    scheme-like run, or ``://`` over and over are each read in one pass."""
    assert mask_feed_urls("a" * 200_000) == "a" * 200_000
    assert mask_feed_urls("://" * 100_000) == "://" * 100_000
    url = "a." * 100_000 + "://u:pw12345@x/"
    assert mask_feed_urls(f"cannot read {url}") == f"cannot read {mask_feed_url(url)}"
    assert "pw12345" not in mask_feed_urls(f"cannot read {url}")
