"""The manifest PDF: it opens, has the right pages, and says what travels (text read back with pypdf)."""

import io
import re

from click.testing import CliRunner
from pypdf import PdfReader

from pharmacy.deliveries import services
from pharmacy.deliveries.cli import deliveries_cli
from pharmacy.deliveries.manifest import build_manifest_pdf
from pharmacy.extensions import db
from tests.factories import make_product, make_route, make_shortage, next_weekday, stock_up


def _confirmed_run(county, *, many_lines: int = 0):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    pharmacist = county.users["township"]
    amoxicillin = make_product("阿莫西林胶囊", dosage_form="胶囊剂", strength="0.25g", base_unit="粒", pack_size=24)
    nifedipine = make_product("硝苯地平缓释片（Ⅱ）", dosage_form="缓释片", strength="20mg", pack_size=30)
    stock_up(township, amoxicillin, 480, user=pharmacist, lot="AMX2501")
    stock_up(township, nifedipine, 300, user=pharmacist, lot="NF-88")
    first = make_shortage(v1, amoxicillin, 3, user=county.users["village"], urgency="emergency")
    make_shortage(v2, nifedipine, 2, user=pharmacist)
    route = make_route(township, [v1, v2], name="东线")
    run = services.plan_run(route, next_weekday(2), user=pharmacist)
    for i in range(many_lines):
        product = make_product(f"长清单测试药品第{i:03d}号（名称较长需要换行显示）", pack_size=10)
        stock_up(township, product, 10, user=pharmacist, lot=f"LONG{i:03d}")
        services.add_line(run.stops[1], product, qty_base=10)
    run.vehicle, run.driver = "冀E12345", "赵师傅"
    services.confirm_run(run, user=pharmacist)
    return run, first


def _text(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text() for page in reader.pages]


def test_manifest_has_a_cover_a_page_per_stop_and_the_lines(county):
    run, first = _confirmed_run(county)
    reader, pages = _text(build_manifest_pdf(run))
    assert len(pages) == 3  # cover + one page per stop
    assert reader.metadata.title == f"配送单 {run.number}"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 portrait
    cover, stop1, stop2 = pages
    assert "药品配送单" in cover and "东线" in cover and "冀E12345" in cover and "赵师傅" in cover
    assert county.villages[0].name in cover and county.villages[1].name in cover
    assert "2 站 / 2 行" in cover
    assert "阿莫西林胶囊" in stop1 and "AMX2501" in stop1 and "3盒" in stop1 and "72粒" in stop1
    assert f"#{first.id}" in stop1 and "0.25g" in stop1
    assert "硝苯地平缓释片（Ⅱ）" in stop2 and "NF-88" in stop2 and "60片" in stop2
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 3 页" in text
    assert "接收人（村医）" in stop1 and "签字" in stop1 and "发货人" in stop1


def test_a_long_stop_continues_with_its_header_repeated(county):
    run, _first = _confirmed_run(county, many_lines=70)
    reader, pages = _text(build_manifest_pdf(run))
    continued = [text for text in pages if f"{county.villages[1].name}（续）" in text]
    assert len(continued) >= 1
    assert len(pages) == 3 + len(continued)
    for text in continued:
        assert "药品名称" in text and "批号" in text  # the table header repeats too
    numbers = sorted(int(n) for text in pages for n in re.findall(r"LONG(\d{3})", text))
    assert numbers == list(range(70))  # every line printed exactly once
    assert all(f"共 {len(pages)} 页" in text for text in pages)


def test_manifest_command_writes_the_pdf(app, county, tmp_path):
    run, _first = _confirmed_run(county)
    db.session.commit()  # the command's own session must see the run (the fixture still rolls back)
    out = tmp_path / "manifest.pdf"
    result = CliRunner().invoke(deliveries_cli, ["manifest", str(run.id), "--out", str(out)], obj=app_script(app))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and run.number in result.output
    missing = CliRunner().invoke(deliveries_cli, ["manifest", "999999", "--out", str(out)], obj=app_script(app))
    assert missing.exit_code != 0


def app_script(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
