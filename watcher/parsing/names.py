"""The namespaces of the feed vocabularies the fast path reads, as lxml spells them."""

ATOM = "{http://www.w3.org/2005/Atom}"
ATOM03 = "{http://purl.org/atom/ns#}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
DCTERMS = "{http://purl.org/dc/terms/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
RSS1 = "{http://purl.org/rss/1.0/}"
XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "http://www.w3.org/2000/svg"  # a URI: only compared with an element's namespace
# feedparser reads any namespace whose URI holds this as RSS without one (``…/rss2`` too).
USERLAND = "backend.userland.com/rss"
