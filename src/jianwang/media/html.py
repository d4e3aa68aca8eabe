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
_BLANKS_RE = re.compile(r"\n{2,}")


def extract_main_text(html: str) -> str:
    """Main text of `html` as lines (see the module docstring)."""
    tree = LexborHTMLParser(html)
    root: LexborNode | None = tree.body or tree.root
    if root is None:
        return ""
    for node in root.css(",".join(_DROP_TAGS)):
        node.decompose()
    for node in root.css("[class],[id]"):
        attrs = node.attributes
        marker = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if _BOILER_RE.search(marker) and not _is_content_marker(marker):
            node.decompose()
    main = _main_node(root)
    parts: list[str] = []
    _render(main, parts)
    text = "".join(parts)
    lines = [line.strip(" \u3000\xa0") for line in text.split("\n")]
    return _BLANKS_RE.sub("\n", "\n".join(line for line in lines if line)).strip("\n")


def _is_content_marker(marker: str) -> bool:
    return bool(re.search(r"content|chapter|article|text|read|post-body|entry", marker, re.I))


def _main_node(root: LexborNode) -> LexborNode:
    total = len(root.text(deep=True, strip=True))
    best, best_len = root, 0
    for sel in _CONTENT_SELECTORS:
        for node in root.css(sel):
            n = len(node.text(deep=True, strip=True))
            if n > best_len:
                best, best_len = node, n
    # a "content" box that holds little of the page's text is not the main text
    return best if best_len >= 0.3 * total else root


def _render(node: LexborNode, out: list[str]) -> None:
    stack: list[tuple[LexborNode, bool]] = [(node, False)]
    while stack:
        cur, closing = stack.pop()
        tag = cur.tag
        if closing:
            out.append("\n")
            continue
        if tag == "-text":
            out.append(_SPACE_RE.sub(" ", cur.text_content or ""))
            continue
        if tag in ("-comment", "!doctype"):
            continue
        block = tag in _BLOCK
        if block:
            out.append("\n")
            stack.append((cur, True))
        children = list(cur.iter(include_text=True))
        for child in reversed(children):
            stack.append((child, False))
