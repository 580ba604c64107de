"""`flask i18n compile`: compile the English catalogues."""

import click

from .i18n import compile_catalogs


@click.group("i18n", help="界面翻译 (translations)")
def i18n_cli():
    pass


@i18n_cli.command("compile")
def compile_command():
    """Compile every .po file to .mo."""
    click.echo(f"compiled {compile_catalogs(force=True)} catalogue(s)")
