"""`flask demo seed`: build the demo county once and print its passwords; later runs say where the copy is."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..vocabulary import Role
from .seed import existing_county, seed_demo

PASSWORDS_FILE = "demo-passwords.txt"  # in the instance folder, beside the SQLite database

# (user name, role, where): the role's words come from the vocabulary.
SAMPLE_USERS = [("county", Role.COUNTY_PHARMACIST, "（区域中心药房）"),
                ("formulary", Role.FORMULARY_ADMIN, ""),
                ("viewer", Role.VIEWER, ""),
                ("t01", Role.TOWNSHIP_PHARMACIST, "（城关镇卫生院；t01…t12）"),
                ("t01v01", Role.VILLAGE_DOCTOR, "（T01V01；t01v01…t12v20）")]


@click.group("demo", help="演示县 (demo county)")
def demo_cli():
    pass


@demo_cli.command("seed")
@click.option("--townships", default=12, show_default=True)
@click.option("--villages", default=20, show_default=True)
@click.option("--password", default=None, help="One password for every demo user (default: random per role).")
@with_appcontext
def seed(townships, villages, password):
    """Create the demo county unless it exists."""
    path = Path(current_app.instance_path) / PASSWORDS_FILE
    if existing_county() is not None:
        click.echo("演示县已存在，未做更改 (demo county exists; nothing changed)")
        if path.exists():
            click.echo(f"演示账号已在首次创建时生成，密码见 {path} "
                       f"(demo accounts were created earlier; their passwords are in {path})")
        else:
            click.echo(f"演示账号已在首次创建时生成；密码副本 {path} 已不存在，密码无法再次显示 "
                       f"(demo accounts were created earlier; the saved copy {path} is gone and the passwords "
                       f"cannot be shown again)")
        return
    passwords = {role: password for _u, role, _l in SAMPLE_USERS} if password else None
    demo = seed_demo(townships=townships, villages_per_township=villages, passwords=passwords)
    db.session.commit()
    lines = ["演示账号 (demo accounts) — 只显示这一次 (shown once):"]
    for username, role, where in SAMPLE_USERS:
        lines.append(f"  {username:<10} {demo.passwords[role]:<16} {role.zh}{where}")
    text = "\n".join(lines)
    click.echo(text)
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)  # passwords: for this account only
    click.echo(f"(副本已写入 {path})")
