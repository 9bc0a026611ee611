"""``inspection alerts``: list the alerts a station raised, and acknowledge one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inspection.cli.actor import actor, who
from inspection.cli.options import Commands, add_record_source
from inspection.quality.alerts import acknowledge, list_alerts
from inspection.station.records import open_records


def acknowledge_alert(
    config_path: Path, database: str | None, alert_id: int, by: str | None, note: str, password_env: str | None
) -> int:
    _config, engine = open_records(config_path, database)
    name = who(engine, by, password_env)
    acknowledge(engine, alert_id, name, note, how=actor())
    print(f"alert {alert_id} acknowledged by {name}")
    return 0


def show_alerts(config_path: Path, database: str | None, open_only: bool, as_json: bool) -> int:
    _config, engine = open_records(config_path, database)
    alerts = list_alerts(engine, open_only=open_only)
    if as_json:
        print(json.dumps(alerts, default=str))
        return 0
    for alert in alerts:
        cleared = f"cleared {alert['cleared_at']:%Y-%m-%d %H:%M:%S}" if alert["cleared_at"] else "active"
        seen = f"acknowledged by {alert['acknowledged_by']}" if alert["acknowledged_by"] else "not acknowledged"
        print(f"{alert['id']:>5}  {alert['raised_at']:%Y-%m-%d %H:%M:%S}  {alert['station']}  {alert['title']}: "
              f"{alert['message']}  [{cleared}; {seen}]")  # fmt: skip
    if not alerts:
        print("no alerts")
    return 0


def add_commands(commands: Commands) -> None:
    alerts = commands.add_parser(
        "alerts",
        help="alerts the station raised; acknowledge them",
        description="List the alerts the station's rules raised (newest first), and acknowledge one (who, when).",
    )
    add_record_source(alerts, station_help=None)
    alert_actions = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    alert_list = alert_actions.add_parser("list", help="newest first")
    alert_list.add_argument("--open", action="store_true", help="only those nobody has acknowledged")
    alert_list.add_argument("--json", action="store_true")
    ack = alert_actions.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("id", type=int)
    ack.add_argument(
        "--by", help="who acknowledges it: a station account (its password is asked), else the OS user is recorded"
    )
    ack.add_argument("--password-env", help="environment variable holding the --by account's password (scripts)")
    ack.add_argument("--note", default="", help="what was done")
    alerts.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.alerts_command == "ack":
        return acknowledge_alert(args.config, args.database, args.id, args.by, args.note, args.password_env)
    return show_alerts(args.config, args.database, args.open, args.json)
