"""``inspection alerts``: list the alerts a station raised, and acknowledge one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inspection.quality.alerts import acknowledge, list_alerts
from inspection.station.records import open_records


def run_alerts(config_path: Path, database: str | None, action: str, args: argparse.Namespace) -> int:
    _config, engine = open_records(config_path, database)
    if action == "ack":
        acknowledge(engine, args.id, args.by, args.note)
        print(f"alert {args.id} acknowledged by {args.by}")
        return 0
    alerts = list_alerts(engine, open_only=args.open)
    if args.json:
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
