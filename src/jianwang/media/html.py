"""Main text of an HTML page: navigation, boilerplate and scripts dropped.

The extracted text is what offsets refer to: block elements and `<br>` end lines; inside a
text node, line breaks and tabs become spaces and other characters are kept as they are, so
a passage in the page appears verbatim in the extracted text.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "head",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "textarea",
    "input",
    "object",
    "embed",
    "canvas",
    "video",
    "audio",
    "map",
)
_BOILER_RE = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|footer|header|sidebar|side|breadcrumbs?|crumbs?|comments?|"
    r"share|social|advert|ads?|adv|banner|copyright|related|recommend|toolbar|pager|pagination|"
    r"login|search|topbar|bottom|hot|rank|links?)([\s_-]|$)",
    re.IGNORECASE,
)
_CONTENT_SELECTORS = (
    "article",
    "main",
    "#content",
    "#chaptercontent",
    "#chapter-content",
    "#BookText",
    ".content",
    ".chapter-content",
    ".read-content",
    ".post-content",
    ".entry-content",
    "#article",
    ".article",
    ".post",
    "#main",
    ".main",
)
_BLOCK = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "main",
        "blockquote",
        "pre",
        "tr",
        "table",
        "td",
        "th",
        "hr",
        "figure",
        "figcaption",
        "address",
        "center",
    ]
)
_SPACE_RE = re.compile(r"[\r\n\t\f\v]+")


_MARK = "\ue000"  # private-use character standing for a line break at a block boundary
_BLOCK_RE = re.compile(r"<(?=/?(?:" + "|".join(sorted(_BLOCK)) + r")[\s/>])", re.IGNORECASE)


def extract_main_text(html: str) -> str:
    """Main text of `html` as lines (see the module docstring)."""
    # Block boundaries are marked in the markup itself, so that the parser's C text
    # extraction yields the lines: far faster than walking the tree in Python.
    html = _BLOCK_RE.sub(_MARK + "<", html.replace(_MARK, ""))
    tree = LexborHTMLParser(html)
    tree.strip_tags(list(_DROP_TAGS))
    root: LexborNode | None = tree.body or tree.root
    if root is None:
        return ""
    main = _main_node(root)
    for node in main.css("[class],[id]"):
        attrs = node.attributes
        marker = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if _BOILER_RE.search(marker) and not _is_content_marker(marker):
            node.decompose()
    text = main.text(deep=True, separator="", strip=False)
    text = _SPACE_RE.sub(" ", text).replace(_MARK, "\n")
    lines = [line.strip(" \u3000\xa0") for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _is_content_marker(marker: str) -> bool:
    return bool(_CONTENT_MARKER_RE.search(marker))


_CONTENT_MARKER_RE = re.compile(r"content|chapter|article|text|read|post-body|entry", re.I)
_CONTENT_SELECTOR = ",".join(_CONTENT_SELECTORS)


def _main_node(root: LexborNode) -> LexborNode:
    """The content container holding the most text, when it holds a good part of the page
    (boilerplate elements inside it are removed afterwards); else the whole body, whose
    boilerplate elements are removed the same way."""
    best, best_len = root, 0
    for node in root.css(_CONTENT_SELECTOR):
        if _BOILER_RE.search(f"{node.attributes.get('class') or ''} {node.id or ''}"):
            continue
        n = len(node.text(deep=True, strip=True))
        if n > best_len:
            best, best_len = node, n
    if best is root:
        return root
    total = len(root.text(deep=True, strip=True))
    return best if best_len >= 0.3 * total else root
