"""The delivery manifest (配送单) that travels with the goods: A4 portrait, black and white, Chinese.

A cover page (township, route, date, vehicle and driver, the stops in order, totals, sender's and driver's
signatures) and then each stop from a new page: its header (village, doctor, stop number, a QR code that opens the
stop's receipt page) repeated on every page the stop fills, every line with product, form and strength, lot,
expiry, quantity in packs and in base units and the shortage numbers it serves, and boxes for the sender's and the
receiver's signature and date. Every page says "第 x 页 / 共 y 页".

`manifest_from_run` reads the database into plain data; `render_manifest` only draws it.
"""

import functools
import io
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Response, current_app
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, KeepTogether, NextPageTemplate,
                                PageBreak, PageTemplate, Spacer, Table, TableStyle)
from sqlalchemy import select

from .. import clock
from ..auth.models import Role, User
from ..extensions import db
from ..printing import FONT, cjk_font
from .labels import qty_label
from .models import DeliveryRun

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 14 * mm
STOP_HEADER_HEIGHT = 34 * mm
FOOTER_HEIGHT = 10 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
GRID = colors.black
SHADE = colors.Color(0.9, 0.9, 0.9)

# Lines table: (heading, width in points, wrap the text?)
COLUMNS = [("序号", 23, False), ("药品名称", 105, True), ("剂型 / 规格", 104, True), ("批号", 58, True),
           ("有效期", 50, False), ("数量（包装）", 46, True), ("数量（基本单位）", 46, True), ("缺药登记号", 44, True),
           ("实收", 0, False)]
COLUMNS[-1] = ("实收", CONTENT_WIDTH - sum(w for _h, w, _wrap in COLUMNS), False)
DIFFERENCE_HINT = "实收与发出不符时：在“实收”栏写明实收数量，并在平板签收时选择原因（破损 / 缺少 / 错发）。"


@dataclass
class ManifestLine:
    product_name: str
    form_strength: str
    lot_number: str
    expiry_date: date
    qty_packs: str
    qty_base: str
    shortage_numbers: list[str] = field(default_factory=list)


@dataclass
class ManifestStop:
    position: int
    village_name: str
    village_code: str
    doctor: str
    phone: str
    address: str
    receipt_url: str
    lines: list[ManifestLine] = field(default_factory=list)
    is_off_turn: bool = False


@dataclass
class Manifest:
    run_number: str
    township: str
    route: str
    departure_date: date
    departure_time: time
    vehicle: str
    driver: str
    status: str
    confirmed_by: str
    run_url: str
    printed_at: datetime
    stops: list[ManifestStop] = field(default_factory=list)
    note: str = ""


# ---------------------------------------------------------------- data

# Characters STSong-Light lacks, and what prints in their place.
_PRINTABLE = str.maketrans({"·": "・", "•": "・", "℃": "°C"})


def printable(text: str | None) -> str:
    return (text or "").translate(_PRINTABLE)


def _url_builder():
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return lambda endpoint, **values: adapter.build(endpoint, values, force_external=True)


def manifest_from_run(run: DeliveryRun) -> Manifest:
    """Read everything the manifest prints from a run; stops without lines are left out."""
    url = _url_builder()
    stops = [stop for stop in run.stops if stop.lines]
    doctors: dict[int, list[str]] = {}
    for facility_id, name in db.session.execute(
            select(User.facility_id, User.display_name)
            .where(User.facility_id.in_([s.village_id for s in stops]), User.role == Role.VILLAGE_DOCTOR,
                   User.is_active.is_(True)).order_by(User.id)):
        doctors.setdefault(facility_id, []).append(name)
    manifest = Manifest(
        run_number=run.number, township=printable(run.township.name), route=printable(run.route.name),
        departure_date=run.departure_date, departure_time=run.departure_time, vehicle=printable(run.vehicle),
        driver=printable(run.driver), status=run.status,
        confirmed_by=printable(run.confirmed_by.display_name) if run.confirmed_by is not None else "",
        run_url=url("deliveries.run", run_id=run.id), printed_at=clock.now_local(), note=printable(run.note))
    for stop in stops:
        village = stop.village
        manifest.stops.append(ManifestStop(
            position=stop.position, village_name=printable(village.name), village_code=village.code,
            doctor=printable("、".join(doctors.get(village.id, []))), phone=printable(village.phone),
            address=printable(village.address), receipt_url=url("deliveries.receipt", stop_id=stop.id),
            is_off_turn=stop.is_off_turn,
            lines=[ManifestLine(
                product_name=printable(line.product.drug.generic_name),
                form_strength=printable(f"{line.product.dosage_form} {line.product.strength}"
                                        f"（{line.product.pack_label}）"),
                lot_number=printable(line.lot.lot_number), expiry_date=line.lot.expiry_date,
                qty_packs=qty_label(line.qty_base, line.product),
                qty_base=f"{line.qty_base}{line.product.base_unit}",
                shortage_numbers=[f"#{s.id}" for s in line.shortages]) for line in stop.lines]))
    return manifest


def build_manifest_pdf(run: DeliveryRun) -> bytes:
    return render_manifest(manifest_from_run(run))


def manifest_response(run: DeliveryRun) -> Response:
    """The manifest as a PDF download that opens in the browser."""
    return Response(build_manifest_pdf(run), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{run.number}.pdf"'})


# ---------------------------------------------------------------- drawing helpers

@lru_cache(maxsize=4096)
def _char_width(char: str, size: float) -> float:
    return pdfmetrics.stringWidth(char, FONT, size)


def wrap_text(text: str, width: float, size: float) -> str:
    """Break `text` into lines no wider than `width`, between any two characters (Chinese has no spaces),
    preferring a break after a space or punctuation when one is near."""
    lines, current, current_width = [], "", 0.0
    for char in text:
        w = _char_width(char, size)
        if current and current_width + w > width:
            cut = max(current.rfind(" "), current.rfind("）"), current.rfind("/"))
            if cut >= len(current) - 6 and cut > 0:
                lines.append(current[:cut + 1].rstrip())
                current = current[cut + 1:].lstrip()
                current_width = sum(_char_width(c, size) for c in current)
            else:
                lines.append(current)
                current, current_width = "", 0.0
        current += char
        current_width += w
    if current:
        lines.append(current)
    return "\n".join(lines)


def _bold_text(canv, x, y, text, size, *, align="left"):
    """Draw emphasised text: CID fonts have no bold face, so fill and stroke the glyphs."""
    canv.saveState()
    canv.setFont(FONT, size)
    canv.setLineWidth(size / 40)
    width = canv.stringWidth(text, FONT, size)
    if align == "right":
        x -= width
    elif align == "center":
        x -= width / 2
    t = canv.beginText(x, y)
    t.setTextRenderMode(2)
    t.textOut(text)
    canv.drawText(t)
    canv.restoreState()


@lru_cache(maxsize=512)
def _qr_modules(value: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """The QR code of `value` as (module count, dark runs (row, column, length)); reportlab's encoder."""
    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(value)
    qr.make()
    runs = []
    for row_index, row in enumerate(qr.modules):
        column = 0
        for is_dark, group in itertools.groupby(row):
            length = len(list(group))
            if is_dark:
                runs.append((row_index, column, length))
            column += length
    return qr.getModuleCount(), tuple(runs)


def draw_qr(canv, value: str, x: float, y: float, size: float, border: int = 2) -> None:
    """Draw the QR code of `value` as one filled path (drawing each module as a shape is far slower)."""
    count, runs = _qr_modules(value)
    box = size / (count + 2 * border)
    path = canv.beginPath()
    for row, column, length in runs:
        path.rect(x + (column + border) * box, y + size - (row + border + 1) * box, length * box, box * 1.02)
    canv.saveState()
    canv.setFillColor(colors.black)
    canv.drawPath(path, stroke=0, fill=1)
    canv.restoreState()


def _cell(text: str, width: float, size: float) -> str:
    return wrap_text(text, width - 6, size)


class _StopMarker(Flowable):
    """Zero-size mark at the start of a stop: tells the page decoration which stop fills this page."""

    def __init__(self, stop: ManifestStop):
        super().__init__()
        self.stop = stop

    def wrap(self, *_args):
        return 0, 0

    def draw(self):
        doc = self.canv._doctemplate
        doc.current_stop = (self.stop, self.canv.getPageNumber())


class _NumberedCanvas(pdfcanvas.Canvas):
    """Holds every page until the end, so each can say how many pages there are."""

    def __init__(self, *args, manifest: "Manifest", **kwargs):
        super().__init__(*args, **kwargs)
        self._manifest = manifest
        self._pages = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int):
        manifest = self._manifest
        self.saveState()
        self.setFont(FONT, 8.5)
        self.setStrokeColor(GRID)
        self.setLineWidth(0.5)
        self.line(MARGIN, MARGIN + 5 * mm, PAGE_WIDTH - MARGIN, MARGIN + 5 * mm)
        self.drawString(MARGIN, MARGIN + 1.5 * mm, f"配送单号 {manifest.run_number}　{manifest.township}")
        self.drawCentredString(PAGE_WIDTH / 2, MARGIN + 1.5 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
        self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN + 1.5 * mm,
                             f"打印于 {manifest.printed_at:%Y-%m-%d %H:%M}")
        self.restoreState()


class _ManifestDoc(BaseDocTemplate):
    def __init__(self, buffer, manifest: Manifest):
        super().__init__(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                         bottomMargin=MARGIN, title=f"配送单 {manifest.run_number}", author=manifest.township,
                         subject=f"{manifest.route} {manifest.departure_date}", creator="pharmacy")
        self.manifest = manifest
        self.current_stop = None
        body_height = PAGE_HEIGHT - 2 * MARGIN - FOOTER_HEIGHT
        cover = Frame(MARGIN, MARGIN + FOOTER_HEIGHT, CONTENT_WIDTH, body_height, id="cover", leftPadding=0,
                      rightPadding=0, topPadding=0, bottomPadding=0)
        stop = Frame(MARGIN, MARGIN + FOOTER_HEIGHT, CONTENT_WIDTH, body_height - STOP_HEADER_HEIGHT, id="stop",
                     leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="cover", frames=[cover]),
                               PageTemplate(id="stop", frames=[stop], onPageEnd=self._draw_stop_header)])

    def _draw_stop_header(self, canv, _doc):
        if self.current_stop is None:
            return
        stop, first_page = self.current_stop
        m = self.manifest
        top = PAGE_HEIGHT - MARGIN
        qr = STOP_HEADER_HEIGHT - 6 * mm
        canv.saveState()
        title = f"第 {stop.position} 站　{stop.village_name}"
        if canv.getPageNumber() > first_page:
            title += "（续）"
        _bold_text(canv, MARGIN, top - 7 * mm, title, 15)
        canv.setFont(FONT, 9)
        blank = "＿＿＿＿＿＿"
        rows = [f"村医：{stop.doctor or blank}　　电话：{stop.phone or blank}　　编码：{stop.village_code}",
                f"地址：{stop.address or '—'}",
                f"配送单号：{m.run_number}　　{m.township} → {stop.village_name}　　路线：{m.route}",
                f"出发：{m.departure_date:%Y-%m-%d} {m.departure_time:%H:%M}　　本站 {len(stop.lines)} 行明细"
                + ("　　（非轮次，因急需缺药加送）" if stop.is_off_turn else "")]
        for i, row in enumerate(rows):
            canv.drawString(MARGIN, top - 13.5 * mm - i * 4.4 * mm, row)
        draw_qr(canv, stop.receipt_url, PAGE_WIDTH - MARGIN - qr, top - qr - 1 * mm, qr)
        canv.setFont(FONT, 7)
        canv.drawCentredString(PAGE_WIDTH - MARGIN - qr / 2, top - qr - 3.5 * mm, "扫码签收（需登录）")
        canv.setLineWidth(1)
        canv.line(MARGIN, top - STOP_HEADER_HEIGHT + 2 * mm, PAGE_WIDTH - MARGIN, top - STOP_HEADER_HEIGHT + 2 * mm)
        canv.restoreState()


def _table_style(header_rows: int = 1, size: float = 8.5) -> TableStyle:
    return TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, size),
        ("LEADING", (0, 0), (-1, -1), size + 2),
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ])


def _signature_boxes(left: str, right: str) -> Table:
    box = [[f"{left}\n\n\n签字：＿＿＿＿＿＿＿＿＿＿　日期：＿＿＿＿＿＿＿",
            f"{right}\n\n\n签字：＿＿＿＿＿＿＿＿＿＿　日期：＿＿＿＿＿＿＿"]]
    table = Table(box, colWidths=[CONTENT_WIDTH / 2] * 2, rowHeights=[26 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 10), ("LEADING", (0, 0), (-1, -1), 13),
        ("BOX", (0, 0), (0, 0), 1, GRID), ("BOX", (1, 0), (1, 0), 1, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 6),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
    ]))
    return table


class _Text(Flowable):
    """One line of text, optionally emphasised."""

    def __init__(self, text: str, size: float = 10, *, bold: bool = False, align: str = "left",
                 space_after: float = 2 * mm):
        super().__init__()
        self.text, self.size, self.bold, self.align, self.space_after = text, size, bold, align, space_after

    def wrap(self, avail_width, _avail_height):
        self.width = avail_width
        return avail_width, self.size * 1.3 + self.space_after

    def draw(self):
        x = {"left": 0, "center": self.width / 2, "right": self.width}[self.align]
        y = self.space_after + self.size * 0.3
        if self.bold:
            _bold_text(self.canv, x, y, self.text, self.size, align=self.align)
            return
        self.canv.setFont(FONT, self.size)
        draw = {"left": self.canv.drawString, "center": self.canv.drawCentredString,
                "right": self.canv.drawRightString}[self.align]
        draw(x, y, self.text)


class _QrBlock(Flowable):
    def __init__(self, value: str, size: float, caption: str):
        super().__init__()
        self.value, self.size, self.caption = value, size, caption

    def wrap(self, *_args):
        return self.size, self.size + 4 * mm

    def draw(self):
        draw_qr(self.canv, self.value, 0, 4 * mm, self.size)
        self.canv.setFont(FONT, 7)
        self.canv.drawCentredString(self.size / 2, 1 * mm, self.caption)


# ---------------------------------------------------------------- the document

def _cover(m: Manifest) -> list:
    story: list = [_Text("药品配送单（随货同行）", 20, bold=True, align="center", space_after=6 * mm)]
    blank = "＿＿＿＿＿＿＿＿＿＿"
    facts = [["配送单号", m.run_number, "发货单位", m.township],
             ["配送路线", m.route, "出发时间", f"{m.departure_date:%Y-%m-%d} {m.departure_time:%H:%M}"],
             ["车辆", m.vehicle or blank, "司机", m.driver or blank],
             ["审核确认", m.confirmed_by or blank, "站点 / 明细", f"{len(m.stops)} 站 / "
                                                           f"{sum(len(s.lines) for s in m.stops)} 行"]]
    if m.note:
        facts.append(["备注", _cell(m.note, CONTENT_WIDTH - 150, 10), "", ""])
    facts_table = Table(facts, colWidths=[22 * mm, 60 * mm, 22 * mm, CONTENT_WIDTH - 104 * mm - 34 * mm])
    style = _table_style(header_rows=0, size=10)
    style.add("BACKGROUND", (0, 0), (0, -1), SHADE)
    style.add("BACKGROUND", (2, 0), (2, -1), SHADE)
    if m.note:
        style.add("SPAN", (1, len(facts) - 1), (3, len(facts) - 1))
    facts_table.setStyle(style)
    top = Table([[facts_table, _QrBlock(m.run_url, 30 * mm, "扫码查看配送单")]],
                colWidths=[CONTENT_WIDTH - 34 * mm, 34 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                             ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    story += [top, Spacer(1, 6 * mm), _Text("配送站点（按行车顺序）", 12, bold=True)]

    widths = [12 * mm, 58 * mm, 30 * mm, 16 * mm, 18 * mm, 18 * mm, CONTENT_WIDTH - 152 * mm]
    rows = [["站序", "村卫生室", "村医", "明细行", "药品数量", "缺药登记", "签收"]]
    total_shortages = total_lines = 0
    for stop in m.stops:
        shortages = len({n for line in stop.lines for n in line.shortage_numbers})
        total_shortages += shortages
        total_lines += len(stop.lines)
        rows.append([str(stop.position), _cell(stop.village_name, widths[1], 9), _cell(stop.doctor, widths[2], 9),
                     str(len(stop.lines)), f"{len({line.product_name + line.form_strength for line in stop.lines})} 种",
                     str(shortages) if shortages else "—", "□ 已签收"])
    rows.append(["合计", f"{len(m.stops)} 站", "", str(total_lines),
                 f"{len({line.product_name + line.form_strength for s in m.stops for line in s.lines})} 种",
                 str(total_shortages), ""])
    stops_table = Table(rows, colWidths=widths, repeatRows=1)
    style = _table_style(size=9)
    style.add("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), SHADE)
    style.add("ALIGN", (3, 1), (5, -1), "RIGHT")
    stops_table.setStyle(style)
    story += [stops_table, Spacer(1, 6 * mm),
              KeepTogether([_Text("发车交接", 12, bold=True),
                            _signature_boxes("发货人（乡镇卫生院药房）", "司机 / 押运人"),
                            Spacer(1, 3 * mm),
                            _Text("每站一页（或多页）清单随货交村医核对；村医请扫描该页二维码在平板上逐行签收，"
                                  "实收不符时注明原因。", 9)])]
    return story


def _stop_story(stop: ManifestStop) -> list:
    head = [_cell(h, w, 8.5) for h, w, _wrap in COLUMNS]
    rows = [head]
    for i, line in enumerate(stop.lines, start=1):
        values = [str(i), line.product_name, line.form_strength, line.lot_number, f"{line.expiry_date:%Y-%m-%d}",
                  line.qty_packs, line.qty_base, " ".join(line.shortage_numbers) or "—", ""]
        rows.append([_cell(v, w, 8.5) if wrap else v for v, (_h, w, wrap) in zip(values, COLUMNS, strict=True)])
    table = Table(rows, colWidths=[w for _h, w, _wrap in COLUMNS], repeatRows=1)
    style = _table_style(size=8.5)
    style.add("ALIGN", (5, 1), (6, -1), "RIGHT")
    style.add("ALIGN", (0, 0), (0, -1), "CENTER")
    table.setStyle(style)
    return [_StopMarker(stop), table, Spacer(1, 4 * mm),
            KeepTogether([_signature_boxes("发货人（乡镇卫生院药房）", "接收人（村医）"), Spacer(1, 2 * mm),
                          _Text(DIFFERENCE_HINT, 8.5)])]


def render_manifest(manifest: Manifest) -> bytes:
    """Draw the manifest and return the PDF bytes."""
    cjk_font()
    buffer = io.BytesIO()
    doc = _ManifestDoc(buffer, manifest)
    story = _cover(manifest)
    for stop in manifest.stops:
        story += [NextPageTemplate("stop"), PageBreak(), *_stop_story(stop)]
    doc.build(story, canvasmaker=functools.partial(_NumberedCanvas, manifest=manifest))
    return buffer.getvalue()
