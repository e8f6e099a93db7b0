"""Clean product text: Amazon descriptions are stringified Python lists holding HTML and CSS.

``items.json`` stores ``description`` as the ``repr`` of a list of strings, for example
``"['Great pen.', ' <!-- .headerM {color:#000} --> ', '']"``. :func:`clean_description`
parses it without evaluating code (:func:`ast.literal_eval`, with a tolerant fallback for
the few entries whose quoting is broken), drops tags, comments, ``<style>``/``<script>``
bodies and stray CSS rules, unescapes entities and collapses whitespace.
"""

from __future__ import annotations

import ast
import html
import re
from html.parser import HTMLParser

__all__ = ["strip_html", "split_list_literal", "clean_description", "clean_text"]

_SKIP_TAGS = {"style", "script", "head", "title", "noscript"}
_BLOCK_TAGS = {"p", "br", "div", "li", "ul", "ol", "tr", "td", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
# A CSS rule left in plain text: ".headerM {color:#000; ...}" or "ul {padding-left:1.1em}".
_CSS_SEL = r"(?:[.#][\w-]+|\b(?:ul|ol|li|hr|p|div|span|table|tr|td|th|body|img|a|b|h[1-6])\b(?:[.#:][\w-]+)*)"
_CSS_RULE_RE = re.compile(_CSS_SEL + r"(?:\s*[,>\s]\s*" + _CSS_SEL + r")*\s*\{[^{}]*\}")
_CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)
_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# Tag fragments the parser passes through as text: "<br" cut off at the end, or "Br>" whose "<"
# was lost when the source cut its text.
_TAG_TAIL_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*[^<>]*$")
_TAG_FRAGMENT_RE = re.compile(r"(?i)(?<![\w-])/?(?:br|p|div|li|ul|ol|b|i|u|em|strong|span|font)\s*/?>")


class _TextExtractor(HTMLParser):
    """Collects text outside skipped elements; comments are dropped by not handling them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def clean_text(text: str) -> str:
    """Unescape HTML entities and collapse whitespace (for titles and short fields)."""
    return " ".join(html.unescape(text).split())


def strip_html(text: str) -> str:
    """Plain text from an HTML fragment: tags, comments, styles, scripts and CSS rules removed.

    Args:
        text: HTML or plain text.

    Returns:
        The visible text with entities unescaped and whitespace collapsed.
    """
    if not text:
        return ""
    text = _HTML_COMMENT_RE.sub(" ", text)
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    out = _TAG_TAIL_RE.sub(" ", "".join(parser.parts))
    out = _TAG_FRAGMENT_RE.sub(" ", out)
    out = _CSS_COMMENT_RE.sub(" ", out)
    if "{" in out:
        out = _CSS_RULE_RE.sub(" ", out)
    out = html.unescape(out)  # double-escaped entities ("&amp;rdquo;")
    return " ".join(out.split())


def split_list_literal(raw: str) -> list[str]:
    """The strings of a stringified Python list, parsed safely (never ``eval``).

    Args:
        raw: ``"['a', \"b\"]"``, a plain string, or ``""``.

    Returns:
        The list's strings. A plain string comes back as a one-element list; a list whose
        quoting is broken is split on its ``', '`` separators.
    """
    s = raw.strip()
    if not s:
        return []
    if not (s.startswith("[") and s.endswith("]")):
        return [s]
    try:
        value = ast.literal_eval(s)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        inner = s[1:-1].strip()
        if inner[:1] in "'\"" and inner[-1:] in "'\"":
            inner = inner[1:-1]
        return [p for p in re.split(r"""['"]\s*,\s*['"]""", inner)]
    if isinstance(value, (list, tuple)):
        return [v if isinstance(v, str) else str(v) for v in value]
    return [str(value)]


def clean_description(raw: str, max_chars: int = 4000) -> str:
    """A product description as plain text.

    Args:
        raw: the ``description`` field of ``items.json``.
        max_chars: cut the result to at most this many characters (at a word boundary).

    Returns:
        The non-empty paragraphs joined by single spaces, without HTML or CSS.
    """
    parts = [strip_html(p) for p in split_list_literal(raw)]
    text = " ".join(p for p in parts if p)
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
    return text
