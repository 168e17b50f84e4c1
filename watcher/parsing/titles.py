"""An entry's title as feedparser keeps it.

feedparser keeps the first title that is not empty (its ``title_depth``): a later title as
deep in the entry as that one, or deeper, is ignored; a shallower one replaces it. It forgets
which it kept when an ``image`` or a ``source`` element starts (so the next title replaces it);
a media:title is taken only while none as shallow is kept, and keeps none itself. An item's
image may hold a title of its own, one level down."""

from __future__ import annotations

from lxml import etree

from watcher.parsing.bodies import Reader, body
from watcher.parsing.markup import html_to_text
from watcher.parsing.treatment import Unsupported, ignored_by_feedparser, plain_or_html, repaired

# An item image's parts that feedparser keeps on the image, not the entry.
_IMAGE_PARTS = frozenset({"url", "link", "width", "height"})


class Titles:
    """The title so far, as each title-like element of an entry is offered in turn, with its
    depth below the entry's own elements (0: one of them)."""

    def __init__(self) -> None:
        self.value = ""
        self._kept: int | None = None  # the depth of the title kept

    def offer(self, value: str, reader: Reader, depth: int = 0, keeps: bool = True) -> None:
        if self._kept is not None and self._kept <= depth:
            return
        self.value = reader(value)
        if keeps and value:
            self._kept = depth

    def forget(self) -> None:
        self._kept = None

    def hold(self, depth: int) -> None:
        """A title kept outside the entry's fields (a source's), ``depth`` down: it bars
        later titles as deep, as one kept there would."""
        self._kept = depth


def image_titles(image: etree._Element) -> list[etree._Element]:
    """The titles of an item's image. Unsupported when it holds anything else feedparser
    reads, or an element without a namespace that is not an image's (feedparser then stops
    reading the rest as the image's)."""
    titles = []
    for child in image:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag.startswith("{"):
            if not ignored_by_feedparser(child):
                raise Unsupported(f"an item image with {tag}")
        elif tag not in (*_IMAGE_PARTS, "title") or len(child):  # markup inside counts too
            raise Unsupported(f"an item image with {tag}")
        elif tag == "title":
            titles.append(child)
    return titles


def offer_rss_title(titles: Titles, node: etree._Element, depth: int = 0) -> None:
    """An RSS title (an item's, or in its image), read as feedparser guesses its type."""
    value, marked = body(node)
    titles.offer(value, html_to_text if marked else plain_or_html, depth)


def read_image(titles: Titles, image: etree._Element, depth: int) -> None:
    """An item's image: feedparser forgets the title it kept, and reads the image's own
    titles ``depth`` down."""
    titles.forget()
    for node in image_titles(image):
        offer_rss_title(titles, node, depth)


def images_in_a_category(category: etree._Element, titles: Titles) -> str:
    """The text of a category that holds images (feedparser's tests have one): each image is
    read as an item's, its title a level further down, and the text around them is the
    category's. Unsupported when it holds any other element."""
    value = category.text or ""
    for image in category:
        if image.tag != "image":
            raise Unsupported("markup in a text element")
        read_image(titles, image, depth=2)
        value += image.tail or ""
    return repaired(value)


def depth_in(node: etree._Element, top: etree._Element) -> int:
    """How far ``node`` is below ``top``, one of the entry's own elements (0: itself)."""
    if node is top:
        return 0
    for depth, ancestor in enumerate(node.iterancestors(), 1):
        if ancestor is top:
            return depth
    raise ValueError("the node is not below top")
