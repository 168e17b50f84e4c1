"""HTML to text on lxml gives what the pure-Python reference gives: over every HTML fragment of
the real-world corpus, and over hostile markup; where it differs, on purpose, each case says
why."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core import text as reference
from watcher.parsing.markup import html_to_text, plain_to_text

CORPUS = Path(__file__).parents[1] / "fixtures" / "corpus"


def fragments(corpus: Path = CORPUS) -> list[str]:
    """Every title, summary and content value of a corpus, as the feed wrote it (feedparser
    neither sanitising nor resolving links). benchmarks/text.py times both over these."""
    found: list[str] = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        parsed = feedparser.parse(
            path.read_bytes(), sanitize_html=False, resolve_relative_uris=False
        )
        for entry in parsed.entries:
            found += [entry.get("title") or "", entry.get("summary") or ""]
            found += [content.get("value") or "" for content in entry.get("content", [])]
    return [fragment for fragment in found if fragment]


def test_the_same_text_as_the_reference_over_the_corpus() -> None:
    """Field for field, every fragment of the corpus reads the same on both."""
    corpus = fragments()
    assert len(corpus) > 2_000  # the corpus is read, not skipped
    differ = [f[:200] for f in corpus if html_to_text(f) != reference.html_to_text(f)]
    assert differ == []


HOSTILE = [
    "<script>alert(1)</script>after",
    "<SCRIPT type=x>document.cookie</SCRIPT>ok",
    "<style>p { color: red }</style>styled",
    "<svg><script>z</script></svg>q",
    "<template><p>hidden</p></template>shown",
    "<noscript>n</noscript>s",
    "<iframe src=javascript:alert(1)>i</iframe>j",
    '<a href="javascript:alert(1)">link</a> tail',
    "<img src=x onerror=alert(1)>caption",
    "<!-- comment -->x<!-- another -->y",
    "&amp;&lt;script&gt;&nbsp;&copy;&#128512;&#x41;",
    "<p>x</p>\x00<b>y</b>\x07\x1b[31m",
    "<p>a<p>b<div>c</p>d</div>e",
    "<table><tr><td>1<td>2</table>3",
    "<br>a<br/>b<hr>c",
    "</p>unopened",
    "a < b > c",
    "<",
    "<a" * 5_000 + ">x",
    '<?xml version="1.0" encoding="utf-8"?><p>declared</p>',
    "<div>" * 5_000 + "deep" + "</div>" * 5_000,
    "<p>" + "x" * 11_000_000 + "</p>",
    "<textarea><b>t</b></textarea>",
    "<xmp><b>x</b></xmp>",
    "<plaintext><b>p</b>",
    "<title>T</title><p>body",
    "<P CLASS=x>Upper</P>case",
    "<![CDATA[x]]>y",
]


@pytest.mark.parametrize("markup", HOSTILE, ids=lambda m: repr(m[:30]))
def test_hostile_markup_reads_as_the_reference_reads_it(markup: str) -> None:
    """Scripts, styles and comments dropped, entities decoded, controls removed; markup that
    libxml2 reads otherwise (too deep, raw-text elements, a declared encoding) goes to the
    reference."""
    assert html_to_text(markup) == reference.html_to_text(markup)


@pytest.mark.parametrize(
    ("markup", "ours", "references", "why"),
    [
        (
            "<!-- c -->x<!-- never closed",
            "x",
            "x<!-- never closed",
            "an unterminated comment is still a comment, not text to show a reader",
        ),
        (
            'Read more <a href="https://news.example/a',
            "Read more",
            'Read more <a href="https://news.example/a',
            "a tag cut off at the end of a truncated summary is markup, not text",
        ),
        (
            "\ufeff<p>bom</p>",
            "bom",
            "\ufeff\nbom",
            "a byte-order mark is not text",
        ),
    ],
)
def test_where_lxml_reads_better_than_the_reference(
    markup: str, ours: str, references: str, why: str
) -> None:
    """The only differences found: each is the reference keeping something that is not text."""
    assert reference.html_to_text(markup) == references, why
    assert html_to_text(markup) == ours, why


def test_plain_text_with_escaped_markup_is_reduced_on_lxml_too() -> None:
    """Text declared plain that carries escaped tags is unescaped once and reduced."""
    value = "&lt;p&gt;Tariffs &amp;amp; chips&lt;/p&gt;&lt;script&gt;x&lt;/script&gt;"
    assert plain_to_text(value) == reference.plain_to_text(value) == "Tariffs & chips"


def _tidy_by_pattern(value: str) -> str:
    """tidy as it was written first, with the regular expressions alone."""
    value = reference._SPACES.sub(" ", reference.strip_controls(value))
    if "\n" not in value:
        return value.strip()
    return "\n".join(line for line in (part.strip() for part in value.split("\n")) if line)


@given(st.text(alphabet=st.sampled_from([*map(chr, range(128)), "\xa0", "\x85", "é"]), max_size=40))
@settings(max_examples=500, deadline=None)
def test_tidy_gives_the_patterns_text(value: str) -> None:
    """tidy folds ASCII text with str.split instead of its patterns: the same text whatever
    the controls, tabs, carriage returns, runs of spaces and blank lines (hypothesis)."""
    assert reference.tidy(value) == _tidy_by_pattern(value)


def test_tidy_gives_the_patterns_text_for_every_ascii_character() -> None:
    """The same, once, with every ASCII character in one text."""
    every_ascii = "".join(map(chr, range(128)))
    assert reference.tidy(f" a{every_ascii}\n\n b \t") == _tidy_by_pattern(
        f" a{every_ascii}\n\n b \t"
    )


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
def test_a_link_with_white_space_inside_is_not_safe(middle: str) -> None:
    """``safe_link`` refuses an http(s) link with any white space inside (by str.isspace, as
    it always did, now checked by str.split), and keeps every other one as it is."""
    value = f"https://news.example/a{middle}b"
    kept = reference.strip_controls(value)
    expected = None if any(ch.isspace() for ch in kept) else kept
    assert reference.safe_link(value) == expected
