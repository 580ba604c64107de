import io

from openpyxl import Workbook

from pharmacy.orders.importing import parse_qty, read_order_rows


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_quantities_in_cells():
    assert [parse_qty(v) for v in (3, 3.0, "3", " 4盒", "５")] == [3, 3, 3, 4, 5]
    assert [parse_qty(v) for v in (2.5, "两盒", None, "", True, "-1", "٣", "²", "①")] == [None] * 9


def test_heading_found_below_a_title_with_spellings_pharmacists_use():
    data = _xlsx([("六月申领表",), (), ("序号", "通用名称", "规 格", "数量(盒)", "备注"),
                  (1, "阿莫西林", "0.25g", 10, "急"), (2, None, None, None, None), (3, "甲硝唑", "0.2g", "5", "")])
    rows, problems = read_order_rows(data)
    assert problems == []
    assert [(r.row, r.local.name, r.local.spec, r.qty_raw, r.note) for r in rows] == [
        (4, "阿莫西林", "0.25g", 10, "急"), (6, "甲硝唑", "0.2g", "5", "")]


def test_missing_heading_is_reported():
    rows, problems = read_order_rows(_xlsx([("名称", "备注"), ("阿莫西林", "")]))
    assert rows == [] and len(problems) == 1 and problems[0].row == 0
