"""What every printed page shares (reportlab, built-in CJK font: nothing is downloaded): the font, paragraph
styles and the page footer. Each domain draws its own document with them (pick list, manifest, statement)."""

from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

FONT = "STSong-Light"


def cjk_font() -> str:
    """Register reportlab's built-in Chinese CID font once and return its name."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=4),
        "meta": ParagraphStyle("meta", fontName=font, fontSize=9.5, leading=13),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=10.5),
        "small": ParagraphStyle("small", fontName=font, fontSize=8, leading=10),
    }


def page_footer(text: str):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont(cjk_font(), 8)
        canvas.drawString(15 * mm, 10 * mm, text)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, _("第 %(page)s 页", page=doc.page))
        canvas.restoreState()
    return draw
