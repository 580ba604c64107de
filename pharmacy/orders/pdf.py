"""The central pharmacy's pick list as a PDF."""

import io
from datetime import datetime

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..printing import cjk_font, page_footer, styles
from ..vocabulary import Urgency

def _fmt_packs(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def pick_list_pdf(order, rows: list[dict], *, central_name: str, printed_at: datetime) -> bytes:
    """One table of lots to pick for an order, ordered as `rows` (shelf, then product), with signature boxes."""
    st = styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=14 * mm,
                            bottomMargin=16 * mm, title=_("拣货单") + f" {order.number}")
    story = [Paragraph(_("拣货单") + f" {order.number}", st["title"]),
             Paragraph(_("发货机构：%(name)s", name=central_name), st["meta"]),
             Paragraph(_("收货机构：%(name)s", name=order.facility.name), st["meta"]),
             Paragraph(_("打印时间：%(time)s", time=printed_at.strftime("%Y-%m-%d %H:%M")) + "，" +
                       _("共 %(n)s 行", n=len(rows)), st["meta"]),
             Spacer(1, 4 * mm)]
    header = ["#", _("货位"), _("编码"), _("品名 / 规格"), _("批号"), _("有效期"), _("盒数"), _("折合"), _("已拣")]
    data = [[Paragraph(h, st["cell"]) for h in header]]
    for index, row in enumerate(rows, start=1):
        product, lot = row["product"], row["lot"]
        name = f"{product.drug.generic_name} {product.dosage_form} {product.strength}"
        if row["urgency"] in (Urgency.EMERGENCY, Urgency.URGENT):  # the same words as on screen: 特急 / 紧急
            name = "【" + Urgency.label_of(row["urgency"]) + "】" + name
        data.append([str(index), row["shelf"] or "—", product.code, Paragraph(name, st["cell"]),
                     Paragraph(lot.lot_number, st["cell"]), lot.expiry_date.isoformat(),
                     _fmt_packs(row["qty_packs"]), f"{row['qty_base']}{product.base_unit}", "□"])
    widths = [8 * mm, 16 * mm, 20 * mm, 60 * mm, 24 * mm, 20 * mm, 13 * mm, 18 * mm, 12 * mm]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), cjk_font()),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (6, 1), (7, -1), "RIGHT"),
        ("ALIGN", (8, 1), (8, -1), "CENTER"),
    ]))
    story += [table, Spacer(1, 10 * mm)]
    sign = Table([[_("拣货人："), "", _("复核人："), "", _("日期："), ""]],
                 colWidths=[18 * mm, 40 * mm, 18 * mm, 40 * mm, 14 * mm, 40 * mm], rowHeights=[12 * mm])
    sign.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), cjk_font()),
        ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("LINEBELOW", (1, 0), (1, 0), 0.6, colors.black),
        ("LINEBELOW", (3, 0), (3, 0), 0.6, colors.black),
        ("LINEBELOW", (5, 0), (5, 0), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]))
    story.append(sign)
    footer = page_footer(_("拣货单") + f" {order.number} - {order.facility.name}")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
