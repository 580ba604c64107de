"""A facility's monthly statement as PDF (reportlab's built-in Chinese font)."""

import io
from datetime import datetime

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..printing import cjk_font, page_footer, styles


def _money(value) -> str:
    return f"{value:,.2f}"


def statement_pdf(view, *, printed_at: datetime, local) -> bytes:
    """Summary by category and by 集采, then every receipt with its price and amount. `local` turns a UTC time
    into the user's time zone."""
    st = styles()
    totals = view.totals
    out = io.BytesIO()
    title = _("结算单") + f" {view.month} - {view.facility.name}"
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=14 * mm,
                            bottomMargin=16 * mm, title=title)
    state = _("已结账（%(time)s）", time=local(view.closed_at).strftime("%Y-%m-%d %H:%M")) if view.is_closed \
        else _("未结账：数据可能变化")
    story = [Paragraph(_("月度结算单"), st["title"]),
             Paragraph(_("机构：%(name)s（%(code)s）", name=view.facility.name, code=view.facility.code) + "　　" +
                       _("月份：%(month)s", month=view.month), st["meta"]),
             Paragraph(_("状态：%(state)s", state=state) + "　　" +
                       _("打印时间：%(time)s", time=printed_at.strftime("%Y-%m-%d %H:%M")), st["meta"]),
             Paragraph(_("计价：按收货当时有效的统一价格") + "；" + _("单价为每包装价格，金额单位：元"), st["meta"]),
             Spacer(1, 4 * mm)]
    summary = [[_("项目"), _("金额（元）")]]
    for category, amount in sorted(totals.by_category.items()):
        summary.append([_(category), _money(amount)])
    summary += [[_("其中集采"), _money(totals.vbp)], [_("其中非集采"), _money(totals.non_vbp)],
                [_("合计"), _money(totals.total)]]
    table = Table(summary, colWidths=[70 * mm, 40 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), cjk_font()), ("FONTSIZE", (0, 0), (-1, -1), 9.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
        ("ALIGN", (1, 1), (1, -1), "RIGHT"), ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f6f9")),
    ]))
    story += [table, Spacer(1, 6 * mm)]
    header = [_("收货日期"), _("编码"), _("品名 / 规格"), _("批号"), _("数量"), _("单价"), _("金额"), _("集采")]
    data = [[Paragraph(h, st["cell"]) for h in header]]
    for row in view.rows:
        data.append([local(row.received_at).strftime("%Y-%m-%d"), row.product_code,
                     Paragraph(row.product_name, st["cell"]), Paragraph(row.lot_number, st["cell"]),
                     f"{row.qty_base}{row.base_unit}", _money(row.unit_price), _money(row.amount),
                     _("是") if row.is_vbp else ""])
    if not view.rows:
        data.append([_("本月没有收货记录"), "", "", "", "", "", "", ""])
    detail = Table(data, colWidths=[21 * mm, 19 * mm, 58 * mm, 22 * mm, 18 * mm, 18 * mm, 20 * mm, 10 * mm],
                   repeatRows=1)
    detail.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), cjk_font()), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
        ("ALIGN", (4, 1), (6, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    story.append(detail)
    footer = page_footer(title)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
