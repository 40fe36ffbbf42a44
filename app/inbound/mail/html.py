"""HTML mail made readable as text, with the quoted history found in the markup.

The text comes from inscriptis (Apache-2.0, maintained): it lays out block elements,
lists and tables the way a browser would show them, honours `display: none` (the hidden
"preheaders" of marketing mail), and drops scripts and styles. html2text was not chosen
because it writes Markdown (asterisks, link syntax) rather than plain text and is
GPL-licensed; selectolax extracts text fast but without any layout.

Mail clients mark the history they quote in the markup, which is more reliable than
any text pattern: Gmail's `gmail_quote`, Apple Mail's and Thunderbird's
`<blockquote type="cite">`, Outlook's `divRplyFwdMsg` / `appendonsend` / the bordered
header block, Yahoo's `yahoo_quoted`, and others below. Everything from the first such
marker to the end of the document is history; signatures are marked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.etree
import lxml.html
from inscriptis import Inscriptis
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from app.inbound.mail.charsets import clean_text

_CONFIG = ParserConfig(css=CSS_PROFILES["strict"])
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# In document order, the first element matching one of these starts the quoted history.
_QUOTE_MARKERS = " | ".join(
    [
        f"//*[{_class('gmail_quote')} or {_class('gmail_quote_container')}]",
        f"//*[{_class('yahoo_quoted')} or starts-with(@id, 'yahoo_quoted')]",
        "//blockquote[@type='cite']",
        f"//*[{_class('moz-cite-prefix')}]",
        "//*[@id='divRplyFwdMsg' or @id='x_divRplyFwdMsg' or @id='appendonsend']",
        "//*[@id='mail-editor-reference-message-container']",
        f"//*[{_class('OutlookMessageHeader')} or {_class('protonmail_quote')}]",
        f"//*[{_class('zmail_extra')} or {_class('zmail_extra_hr')}]",
        "//hr[@id='stopSpelling']",
        # Outlook desktop: the From/Sent/To/Subject block sits in a div with a top border.
        "//div[contains(translate(@style, 'ABCDEF ', 'abcdef'), 'border-top:solid#e1e1e1')]",
        "//div[contains(translate(@style, 'ABCDEF ', 'abcdef'), 'border-top:solid#b5c4df')]",
    ]
)
_SIGNATURE_MARKERS = " | ".join(
    [
        f"//*[{_class('gmail_signature')} or @data-smartmail='gmail_signature']",
        f"//*[{_class('moz-signature')} or {_class('protonmail_signature_block')}]",
        "//*[@id='Signature' or @id='ms-outlook-mobile-signature']",
    ]
)
_FORWARD_TEXT = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded|weitergeleitete|messaggio\s+inoltrato|message\s+transf)|"
    r"begin\s+forwarded|inizio\s+messaggio\s+inoltrato)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class HtmlRendering:
    """An HTML body as text: `text` is all of it; `new_text`, `signature` and `quoted`
    split it by the markers clients put in the markup (`quoted` is empty when none)."""

    text: str
    new_text: str
    signature: str
    quoted: str


def _tidy(text: str) -> str:
    text = clean_text(text).replace("\r\n", "\n").replace("\u00a0", " ")
    text = _TRAILING_SPACE.sub("\n", text + "\n")
    return _BLANK_RUNS.sub("\n\n", text).strip("\n").rstrip()


def _parse(html: str) -> lxml.html.HtmlElement | None:
    html = _XML_DECLARATION.sub("", clean_text(html))
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError, TypeError):
        return None


def _render(tree: lxml.html.HtmlElement) -> str:
    try:
        return _tidy(Inscriptis(tree, _CONFIG).get_text())
    except Exception:  # a layout bug on odd markup must not lose the text
        return _tidy(tree.text_content())


def _show_link_targets(tree: lxml.html.HtmlElement) -> None:
    """Write a link's target after its text, as Gmail's plain-text version does, when
    the text does not already show it: the agent needs "click here" to say where."""
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href.lower().startswith(("http://", "https://")) or len(href) > 500:
            continue
        label = anchor.text_content().strip()
        if not label or href.rstrip("/") in label or label in href:
            continue
        marker = lxml.html.Element("span")
        marker.text = f" <{href}>"
        marker.tail = anchor.tail
        anchor.tail = None
        anchor.addnext(marker)


def _flatten_outlook_paragraphs(tree: lxml.html.HtmlElement) -> None:
    """Outlook writes every line as <p class=MsoNormal> and blank lines as empty ones;
    as paragraphs with margins that would double-space the whole mail."""
    for paragraph in tree.xpath(f"//p[{_class('MsoNormal')}]"):
        paragraph.tag = "div"
        empty = not paragraph.text_content().strip(" \t\r\n\u00a0")
        if empty and not any(True for _ in paragraph.iter("img")):
            # Outlook's blank line: a paragraph holding only a non-breaking space.
            for child in list(paragraph):
                paragraph.remove(child)
            paragraph.text = None
            paragraph.append(lxml.html.Element("br"))


def _cut_from(marker: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """Move `marker` and everything after it in document order into a new element."""
    holder = lxml.html.Element("div")
    node: lxml.html.HtmlElement | None = marker
    first = True
    while node is not None and node.tag != "body":
        parent = node.getparent()
        if parent is None:
            break
        following = [node] if first else []
        following += list(node.itersiblings())
        for element in following:
            holder.append(element)
        first = False
        node = parent
    return holder


def _first(tree: lxml.html.HtmlElement, xpath: str) -> lxml.html.HtmlElement | None:
    try:
        found = tree.xpath(xpath)
    except lxml.etree.XPathError:
        return None
    elements = [e for e in found if isinstance(e, lxml.html.HtmlElement)]
    if not elements:
        return None
    # XPath unions come back in document order.
    return elements[0]


def html_to_text(html: str) -> str:
    """The whole of an HTML body as readable plain text ("" when there is none)."""
    return render_html(html).text


def render_html(html: str, *, forwarded: bool = False) -> HtmlRendering:
    """Render an HTML body as text and split it by its quote and signature markers.

    With `forwarded` nothing is cut: a forward's quoted part is its content.
    """
    tree = _parse(html)
    if tree is None:
        return HtmlRendering(text="", new_text="", signature="", quoted="")
    _flatten_outlook_paragraphs(tree)
    _show_link_targets(tree)
    text = _render(tree)
    marker = None if forwarded else _first(tree, _QUOTE_MARKERS)
    if marker is not None and _FORWARD_TEXT.match(marker.text_content()[:200]):
        marker = None
    quoted = ""
    if marker is not None:
        quoted = _render(_cut_from(marker))
    signature = ""
    signature_element = _first(tree, _SIGNATURE_MARKERS)
    if signature_element is not None and signature_element.getparent() is not None:
        signature = _render(signature_element)
        signature_element.drop_tree()
    new_text = _render(tree) if (marker is not None or signature) else text
    return HtmlRendering(text=text, new_text=new_text, signature=signature, quoted=quoted)
