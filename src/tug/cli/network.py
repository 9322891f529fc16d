"""`tug network create|ls|inspect|rm|connect|disconnect|prune` and `tug port`."""

from __future__ import annotations

import json

import click

from tug.cli.common import engine, store_options
from tug.cli.format import table


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    return dict(v.split("=", 1) if "=" in v else (v, "") for v in values)


@click.group("network")
def network() -> None:
    """Manage networks."""


@network.command("create")
@click.option("-d", "--driver", default="bridge")
@click.option("--subnet")
@click.option("--gateway")
@click.option("--internal", is_flag=True)
@click.option("--label", "labels", multiple=True)
@click.option("-o", "--opt", "opts", multiple=True)
@click.argument("name")
@store_options
@click.pass_context
def create(ctx, driver, subnet, gateway, internal, labels, opts, name, root_, runroot_) -> int:
    """Create a bridge network."""
    from tug.engine import networks

    net = networks.create(engine(ctx, root_, runroot_), name, subnet, gateway, internal, _pairs(labels), _pairs(opts),
                          driver)
    click.echo(net.id)
    return 0


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
@store_options
@click.pass_context
def ls(ctx, quiet, no_trunc, filters, fmt, root_, runroot_) -> int:
    """List networks."""
    from tug.engine import networks

    nets = networks.list_networks(engine(ctx, root_, runroot_))
    rows = [{"ID": n.id if no_trunc else n.id[:12], "Name": n.name, "Driver": "bridge", "Scope": "local"}
            for n in nets]
    for builtin in ("host", "none"):
        rows.append({"ID": builtin, "Name": builtin, "Driver": "host" if builtin == "host" else "null",
                     "Scope": "local"})
    for f in filters:
        key, _, val = f.partition("=")
        if key == "name":
            rows = [r for r in rows if val in r["Name"]]
        elif key == "id":
            rows = [r for r in rows if r["ID"].startswith(val)]
    if quiet:
        for r in rows:
            click.echo(r["ID"])
        return 0
    if fmt:
        from tug.cli.template import render_rows

        click.echo(render_rows(fmt, rows), nl=False)
        return 0
    click.echo(table([["NETWORK ID", "NAME", "DRIVER", "SCOPE"]] + [[r["ID"], r["Name"], r["Driver"], r["Scope"]]
                                                                    for r in rows]), nl=False)
    return 0


@network.command("inspect")
@click.argument("names", nargs=-1, required=True)
@store_options
@click.pass_context
def inspect(ctx, names, root_, runroot_) -> int:
    """Show networks as JSON."""
    from tug.engine import netattach, networks

    eng = engine(ctx, root_, runroot_)
    docs = []
    for n in names:
        net = networks.find(eng, n)
        members = {}
        for ip, a in networks.endpoints(eng, net).items():
            members[a["owner"]] = {"Name": a.get("name", ""), "IPv4Address": f"{ip}/{net.net.prefixlen}",
                                   "MacAddress": netattach.ipam.mac_for(ip)}
        docs.append(networks.inspect(eng, net, members))
    click.echo(json.dumps(docs, indent=4))
    return 0


@network.command("rm")
@click.option("-f", "--force", is_flag=True)
@click.argument("names", nargs=-1, required=True)
@store_options
@click.pass_context
def rm(ctx, force, names, root_, runroot_) -> int:
    """Remove networks."""
    from tug.engine import networks
    from tug.errors import NotFound, TugError

    eng = engine(ctx, root_, runroot_)
    code = 0
    for n in names:
        try:
            networks.remove(eng, n)
            click.echo(n)
        except NotFound:
            if not force:
                click.echo(f"Error response from daemon: network {n} not found", err=True)
                code = 1
        except TugError as e:
            click.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@network.command("connect")
@click.option("--alias", "aliases", multiple=True)
@click.option("--ip")
@click.argument("net")
@click.argument("container")
@store_options
@click.pass_context
def connect(ctx, aliases, ip, net, container, root_, runroot_) -> int:
    """Connect a container to a network."""
    from tug.engine import netattach

    netattach.connect(engine(ctx, root_, runroot_), net, container, list(aliases))
    return 0


@network.command("disconnect")
@click.option("-f", "--force", is_flag=True)
@click.argument("net")
@click.argument("container")
@store_options
@click.pass_context
def disconnect(ctx, force, net, container, root_, runroot_) -> int:
    """Disconnect a container from a network."""
    from tug.engine import netattach

    netattach.disconnect(engine(ctx, root_, runroot_), net, container)
    return 0


@network.command("prune")
@click.option("-f", "--force", is_flag=True)
@click.option("--filter", "filters", multiple=True)
@store_options
@click.pass_context
def prune(ctx, force, filters, root_, runroot_) -> int:
    """Remove all unused networks."""
    from tug.engine import netattach, networks
    from tug.engine.containers import list_containers

    eng = engine(ctx, root_, runroot_)
    used = {n for c in list_containers(eng) for n in netattach.network_names(c)}
    gone = networks.prune(eng, used)
    if gone:
        click.echo("Deleted Networks:")
        for n in gone:
            click.echo(n)
    return 0


@click.command("port")
@click.argument("container")
@click.argument("private", required=False)
@store_options
@click.pass_context
def port(ctx, container, private, root_, runroot_) -> int:
    """List port mappings of a container, or the one for PRIVATE_PORT[/PROTO]."""
    from tug.engine import containers, netattach
    from tug.errors import NotFound

    eng = engine(ctx, root_, runroot_)
    ctr = containers.find(eng, container)
    mappings = netattach.published(eng, ctr)
    if private:
        num, _, proto = private.partition("/")
        mappings = [m for m in mappings if str(m.container_port) == num and m.proto == (proto or "tcp")]
        if not mappings:
            raise NotFound(f"No public port '{num}/{proto or 'tcp'}' published for {ctr.name}")
        for m in mappings:
            click.echo(netattach.ports.format_port_lines([m])[0].split(" -> ", 1)[1])
        return 0
    for line in netattach.ports.format_port_lines(mappings):
        click.echo(line)
    return 0
