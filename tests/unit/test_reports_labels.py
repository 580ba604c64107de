"""Report titles, columns and value labels are message ids looked up at run time: each has its English."""

from pharmacy.reports.reports import REPORTS, SHORTAGE_REASON_LABELS, SHORTAGE_STATUS_LABELS, URGENCY_LABELS
from pharmacy.shortages.models import ShortageReason, ShortageStatus, Urgency
from tests.unit.test_translations import _english


def test_every_report_label_has_english():
    english = _english()
    labels = set(URGENCY_LABELS.values()) | set(SHORTAGE_STATUS_LABELS.values()) | set(SHORTAGE_REASON_LABELS.values())
    for report in REPORTS.values():
        labels |= {report.title, report.description, report.date_label} | {c.label for c in report.columns}
    assert sorted(labels - set(english)) == []


def test_value_labels_cover_every_value_of_the_shortage_model():
    assert set(URGENCY_LABELS) == {u.value for u in Urgency}
    assert set(SHORTAGE_STATUS_LABELS) == {s.value for s in ShortageStatus}
    assert set(SHORTAGE_REASON_LABELS) == {r.value for r in ShortageReason}
