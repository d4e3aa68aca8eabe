"""Main text of an HTML page: navigation, boilerplate and scripts dropped.

The extracted text is what offsets refer to: the ends of block elements and `<br>` end lines,
line breaks inside the markup are kept, and every line is trimmed; other characters are kept
as they are, so a passage in the page appears verbatim in the extracted text.
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
# The block ends that carry text lines in practice (each costs a scan of the page; others
# usually have a line break after them in the markup anyway).
_LINE_TAGS = {
    "</p>": "</p>\n",
    "</P>": "</P>\n",
    "<br": "\n<br",
    "<BR": "\n<BR",
    "</div>": "</div>\n",
    "</DIV>": "</DIV>\n",
    "</li>": "</li>\n",
    "</h1>": "</h1>\n",
    "</h2>": "</h2>\n",
    "</h3>": "</h3>\n",
    "</tr>": "</tr>\n",
}


_LINE_TAGS_BYTES = tuple((k.encode(), v.encode()) for k, v in _LINE_TAGS.items())


def mark_lines(html: bytes) -> bytes:
    """Line breaks after block ends and before `<br>`, written into the markup (bytes of an
    ASCII-compatible encoding: UTF-8, GB18030/GBK, Big5, … never have "<" inside a
    multi-byte character), so that the parser's C text extraction yields the lines; walking
    the tree in Python to tell block from inline elements would cost more than the rest of
    identification."""
    for tag, marked in _LINE_TAGS_BYTES:
        if tag in html:
            html = html.replace(tag, marked)
    return html


def extract_main_text(html: str, lines_marked: bool = False) -> str:
    """Main text of `html` as lines (see the module docstring). `lines_marked`: the markup
    went through `mark_lines` already (as bytes, which is faster)."""
    if not lines_marked:
        for tag in _LINE_TAGS:
            if tag in html:
                html = html.replace(tag, _LINE_TAGS[tag])
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
    lines = [line.strip(" \t\r\f\v\u3000\xa0") for line in text.split("\n")]
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
