"""`flask demo seed` shows the demo passwords once; a later run (every `scripts/run` after the first) says that
the accounts exist and where the saved copy of their passwords is, without showing them again (issue 12)."""

from pathlib import Path

from click.testing import CliRunner
from flask.cli import ScriptInfo

from pharmacy.demo.cli import demo_cli


def _seed(app):
    return CliRunner().invoke(demo_cli, ["seed", "--townships", "1", "--villages", "1"],
                              obj=ScriptInfo(create_app=lambda: app))


def test_a_second_seed_says_where_the_passwords_are_without_showing_them(app, db_session):
    copy = Path(app.instance_path) / "demo-passwords.txt"
    copy.unlink(missing_ok=True)
    first = _seed(app)
    assert first.exit_code == 0, first.output
    passwords = [line.split()[1] for line in copy.read_text(encoding="utf-8").splitlines()[1:]]
    assert len(passwords) == 5 and all(p in first.output for p in passwords)
    assert copy.stat().st_mode & 0o077 == 0

    again = _seed(app)
    assert again.exit_code == 0, again.output
    assert "演示县已存在" in again.output
    assert f"密码见 {copy}" in again.output and f"passwords are in {copy}" in again.output
    assert not any(p in again.output for p in passwords)

    copy.unlink()
    gone = _seed(app)
    assert f"密码副本 {copy} 已不存在" in gone.output and not any(p in gone.output for p in passwords)
