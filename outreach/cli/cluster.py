"""`outreach cluster up|status|down`: the scale-out topology on one machine (outreach/cluster)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from outreach.cli.common import echo_json, fail, prepare_database_or_exit, settings
from outreach.cluster import control
from outreach.cluster.topology import (
    DEFAULT_BASE_PORT,
    DEFAULT_PORT,
    DEFAULT_RASA,
    DEFAULT_WORKERS,
    MAX_REPLICAS,
    Layout,
    Paths,
    problems,
)

cluster_app = typer.Typer(
    help="Scale-out on one machine: PostgreSQL, Redis, nginx, Rasa replicas and webhook workers under supervisord.",
    no_args_is_help=True,
)


@cluster_app.command("up")
def cluster_up(
    workers: Annotated[
        int, typer.Option("--workers", help=f"Outreach workers (webhook + console), 1-{MAX_REPLICAS}.")
    ] = DEFAULT_WORKERS,
    rasa: Annotated[
        int, typer.Option("--rasa", help=f"Rasa servers, each with its action server, 1-{MAX_REPLICAS}.")
    ] = DEFAULT_RASA,
    base_port: Annotated[
        int, typer.Option("--base-port", help="First of the cluster's loopback ports (redis, rasa, workers…).")
    ] = DEFAULT_BASE_PORT,
    port: Annotated[int, typer.Option("--port", help="nginx's loopback port (webhook and console).")] = DEFAULT_PORT,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="https:// address of a TLS proxy in front of nginx (Telegram needs one)."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait until every process is ready.")] = 300,
) -> None:
    """Start the cluster and print {"webhook", "console", "processes": {name: pid}}; it keeps running."""
    layout = Layout(workers=workers, rasa=rasa, base_port=base_port, port=port, public_url=public_url, paths=Paths())
    found = problems(layout)
    if not 10 <= timeout <= 3600:
        found.append(f"--timeout doit être entre 10 et 3600 secondes (reçu : {timeout:g})")
    if found:
        for problem in found[:-1]:
            typer.echo(f"erreur : {problem}", err=True)
        raise fail(found[-1])
    current = settings()
    try:
        line = control.up(
            layout,
            settings=current,
            environ=dict(os.environ),
            prepare_database=prepare_database_or_exit,
            timeout=timeout,
        )
    except control.ClusterError as exc:
        typer.echo(f"erreur : {exc}", err=True)
        raise typer.Exit(exc.code) from None
    except typer.Exit:
        typer.echo("le cluster reste lancé pour examen ; tout arrêter : outreach cluster down", err=True)
        raise
    typer.echo(line)


@cluster_app.command("status")
def cluster_status() -> None:
    """One JSON line: whether the cluster is up, each process's state and pid. Exit 0 all running, 1 not, 3 none."""
    result, code = control.status(Paths())
    echo_json(result)
    raise typer.Exit(code)


@cluster_app.command("down")
def cluster_down() -> None:
    """Stop every process of the cluster (and a PostgreSQL it started); nothing running is not an error."""
    typer.echo(control.down(Paths()), err=True)
