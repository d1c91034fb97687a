"""`flask stats release YYYY-MM` (CONTRACT.md)."""

from __future__ import annotations

import click

from rentalcoop.stats import bp
from rentalcoop.stats.services import StatsError, publish_month


@bp.cli.command("release")
@click.argument("period")
def release(period: str) -> None:
    """Freeze and publish the statistics of a finished month (a correction if it changed)."""
    try:
        made = publish_month(period)
    except StatsError as err:
        raise click.ClickException(err.message) from err
    if made is None:
        click.echo(f"{period}: nothing changed since the published release.")
        return
    withheld = sum(1 for c in made.cells if c.is_withheld)
    click.echo(
        f"{period}: published version {made.version} "
        f"({len(made.cells)} cells, {withheld} withheld)."
    )
