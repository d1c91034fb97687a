"""`flask coop close-year YEAR [--reserve ORE] [--dry-run]` (CONTRACT.md)."""

from __future__ import annotations

import click

from rentalcoop.extensions import db
from rentalcoop.governance import bp, close
from rentalcoop.governance.models import CloseState
from rentalcoop.governance.services import GovernanceError


def _kr(ore: int) -> str:
    sign = "-" if ore < 0 else ""
    whole, rest = divmod(abs(ore), 100)
    return f"{sign}{whole}.{rest:02d}"


@bp.cli.command("close-year")
@click.argument("year", type=int)
@click.option("--reserve", type=click.IntRange(min=0), default=None, help="Reserve R in öre.")
@click.option("--dry-run", is_flag=True, help="Compute and print; change nothing.")
def close_year(year: int, reserve: int | None, dry_run: bool) -> None:
    """Compute the fiscal-year close (and, once the meeting approved it, post it); prints the
    distribution."""
    row = close.year_close(year)
    if row is not None and row.state == CloseState.POSTED:
        figures = row
        click.echo(f"Fiscal year {year} was closed and posted on {row.posted_at:%Y-%m-%d}.")
        state = "posted"
    else:
        if reserve is None:
            reserve = row.reserve_ore if row is not None else 0
        if dry_run:
            figures = close.compute(year, reserve)
            state = "dry run (nothing saved)"
        else:
            figures = close.save_draft(year, reserve)
            state = "draft"
            if close.approved_disposition(year) is not None:
                try:
                    figures = close.post_close(year)
                except GovernanceError as err:
                    db.session.rollback()
                    raise click.ClickException(err.message) from err
                state = "posted"
            db.session.commit()
    _print(year, figures, state)


def _print(year: int, figures, state: str) -> None:
    if isinstance(figures, close.CloseFigures):
        fees, community, costs = figures.fees_ore, figures.community_ore, figures.costs_ore
        surplus, reserve, distributed = (
            figures.surplus_ore,
            figures.reserve_ore,
            figures.distributed_ore,
        )
        nights, shares = figures.nights, figures.shares
    else:
        fees, community, costs = figures.fees_ore, figures.community_ore, figures.costs_ore
        surplus, reserve, distributed = (
            figures.surplus_ore,
            figures.reserve_ore,
            figures.distributed_ore,
        )
        nights = {s.member_id: s.nights for s in figures.shares}
        shares = {s.member_id: s.amount_ore for s in figures.shares}
    click.echo(f"Fiscal year {year}: {state}")
    click.echo(f"  F  net service fees       {_kr(fees):>14} kr")
    click.echo(f"  C  community shares       {_kr(community):>14} kr")
    click.echo(f"  O  operating costs        {_kr(costs):>14} kr")
    click.echo(f"  S  surplus (F - C - O)    {_kr(surplus):>14} kr")
    click.echo(f"  B  brought forward        {_kr(figures.carried_ore):>14} kr")
    click.echo(f"  R  reserve                {_kr(reserve):>14} kr")
    click.echo(f"  D  distributed            {_kr(distributed):>14} kr")
    click.echo(f"  N  booked nights          {sum(nights.values()):>14}")
    if surplus <= 0:
        click.echo("  A loss (or zero) year: nothing is distributed; the loss is carried.")
    click.echo("member_id;nights;amount_ore")
    for member_id in sorted(nights):
        click.echo(f"{member_id};{nights[member_id]};{shares.get(member_id, 0)}")
