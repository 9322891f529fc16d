"""`tug network create|ls|inspect|rm|connect|disconnect|prune` and `tug port`."""

from __future__ import annotations

from tug.cli import flags
from tug.cli.common import confirm, engine, no_filters, store_options
from tug.cli.format import table


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    return dict(v.split("=", 1) if "=" in v else (v, "") for v in values)


@flags.group("network")
def network() -> None:
    """Manage networks."""


@network.command("create")
@flags.option("-d", "--driver", default="bridge", help="Driver to manage the Network")
@flags.option("--subnet", help="Subnet in CIDR format that represents a network segment")
@flags.option("--gateway", help="IPv4 Gateway for the master subnet")
@flags.option("--internal", is_flag=True, help="Restrict external access to the network")
@flags.option("--label", "labels", multiple=True, help="Set metadata on a network")
@flags.option("-o", "--opt", "opts", multiple=True, help="Set driver specific options")
@flags.argument("name")
@store_options
@flags.pass_context
def create(ctx, driver, subnet, gateway, internal, labels, opts, name, root_, runroot_) -> int:
    """Create a bridge network."""
    from tug.engine import networks

    net = networks.create(engine(ctx, root_, runroot_), name, subnet, gateway, internal, _pairs(labels), _pairs(opts),
                          driver)
    flags.echo(net.id)
    return 0


@network.command("ls")
@flags.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@flags.option("--no-trunc", is_flag=True, help="Don't truncate output")
@flags.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@flags.option("--format", "fmt", help="Format output using a Go template")
@store_options
@flags.pass_context
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
            flags.echo(r["ID"])
        return 0
    if fmt:
        from tug.cli.template import render_rows

        flags.echo(render_rows(fmt, rows), nl=False)
        return 0
    flags.echo(table([["NETWORK ID", "NAME", "DRIVER", "SCOPE"]] + [[r["ID"], r["Name"], r["Driver"], r["Scope"]]
                                                                    for r in rows]), nl=False)
    return 0


@network.command("inspect")
@flags.option("-f", "--format", "fmt", help="Format the output using the given Go template")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def inspect(ctx, fmt, names, root_, runroot_) -> int:
    """Display detailed information on one or more networks."""
    from tug.cli.inspect import emit
    from tug.engine import netattach, networks

    eng = engine(ctx, root_, runroot_)
    docs = []
    for n in names:
        net = networks.find(eng, n)
        members = {}
        for ip, a in networks.endpoints(eng, net).items():
            members[a["owner"]] = {"Name": a.get("name", ""), "IPv4Address": f"{ip}/{net.net.prefixlen}",
                                   "MacAddress": netattach.mac_for(ip)}
        docs.append(networks.inspect(eng, net, members))
    return emit(docs, fmt)


@network.command("rm")
@flags.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def rm(ctx, force, names, root_, runroot_) -> int:
    """Remove networks."""
    from tug.engine import networks
    from tug.errors import NotFound, TugError

    eng = engine(ctx, root_, runroot_)
    code = 0
    for n in names:
        try:
            networks.remove(eng, n)
            flags.echo(n)
        except NotFound:
            if not force:
                flags.echo(f"Error response from daemon: network {n} not found", err=True)
                code = 1
        except TugError as e:
            flags.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@network.command("connect")
@flags.option("--alias", "aliases", multiple=True, help="Add network-scoped alias for the container")
@flags.option("--ip", help="IPv4 address (e.g., 172.30.100.104)")
@flags.argument("net")
@flags.argument("container")
@store_options
@flags.pass_context
def connect(ctx, aliases, ip, net, container, root_, runroot_) -> int:
    """Connect a container to a network."""
    from tug.engine import netattach

    netattach.connect(engine(ctx, root_, runroot_), net, container, list(aliases), ip)
    return 0


@network.command("disconnect")
@flags.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
@flags.argument("net")
@flags.argument("container")
@store_options
@flags.pass_context
def disconnect(ctx, force, net, container, root_, runroot_) -> int:
    """Disconnect a container from a network."""
    from tug.engine import netattach

    netattach.disconnect(engine(ctx, root_, runroot_), net, container)
    return 0


@network.command("prune")
@flags.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@flags.option("--filter", "filters", multiple=True, help="Filter values (tug takes none: refused)")
@store_options
@flags.pass_context
def prune(ctx, force, filters, root_, runroot_) -> int:
    """Remove all unused networks."""
    from tug.engine import netattach, networks
    from tug.engine.containers import list_containers

    no_filters(filters, "network prune")
    if not confirm("WARNING! This will remove all custom networks not used by at least one container.", force):
        return 0
    eng = engine(ctx, root_, runroot_)
    used = {n for c in list_containers(eng) for n in netattach.network_names(c)}
    gone = networks.prune(eng, used)
    if gone:
        flags.echo("Deleted Networks:")
        for n in gone:
            flags.echo(n)
    return 0


@flags.command("port")
@flags.argument("container")
@flags.argument("private", required=False)
@store_options
@flags.pass_context
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
            flags.echo(netattach.format_port_lines([m])[0].split(" -> ", 1)[1])
        return 0
    for line in netattach.format_port_lines(mappings):
        flags.echo(line)
    return 0
