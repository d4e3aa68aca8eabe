"""Main text of an HTML page: navigation, boilerplate and scripts dropped.

The extracted text is what offsets refer to: every text node of the main content is one or
more lines (its own line breaks are kept), each line trimmed; other characters are kept as
they are, so a passage in the page appears verbatim in the extracted text. Inline elements
(`<b>`, `<a>`) therefore also start a line, which separates words as a space would.
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


_LINE_SPACE = " \t\r\f\v\u3000\xa0"


def extract_main_text(html: str) -> str:
    """Main text of `html` as lines (see the module docstring)."""
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
    # Every text node ends a line: the parser's C text extraction does it in one call (telling
    # block from inline elements in Python would cost more than the rest of identification),
    # and no two blocks are ever glued into one word, even in minified markup.
    text = main.text(deep=True, separator="\n", strip=False)
    lines = [line.strip(_LINE_SPACE) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _is_content_marker(marker: str) -> bool:
    return bool(_CONTENT_MARKER_RE.search(marker))


_CONTENT_MARKER_RE = re.compile(r"content|chapter|article|text|read|post-body|entry", re.I)
_CONTENT_TAGS = frozenset(x for x in _CONTENT_SELECTORS if x[0] not in "#.")
_CONTENT_IDS = frozenset(x[1:] for x in _CONTENT_SELECTORS if x[0] == "#")
_CONTENT_CLASSES = frozenset(x[1:] for x in _CONTENT_SELECTORS if x[0] == ".")


def _main_node(root: LexborNode) -> LexborNode:
    """The content container holding the most text, when it holds a good part of the page
    (boilerplate elements inside it are removed afterwards); else the whole body, whose
    boilerplate elements are removed the same way. Containers are those `_CONTENT_SELECTORS`
    names, matched in one pass over the elements with an id or class (a selector query
    per name would cost more than the whole extraction)."""
    best, best_len = root, 0
    for node in root.css("[id],[class],article,main"):
        attrs = node.attributes
        cls = attrs.get("class") or ""
        ident = attrs.get("id") or ""
        if not (
            node.tag in _CONTENT_TAGS
            or ident in _CONTENT_IDS
            or (cls and not _CONTENT_CLASSES.isdisjoint(cls.split()))
        ):
            continue
        if _BOILER_RE.search(f"{cls} {ident}"):
            continue
        n = len(node.text(deep=True))
        if n > best_len:
            best, best_len = node, n
    if best is root:
        return root
    total = len(root.text(deep=True))
    return best if best_len >= 0.3 * total else root
