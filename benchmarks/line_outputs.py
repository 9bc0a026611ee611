"""Station throughput with the line outputs on (PLC handshake over Modbus TCP, MQTT, fleet forwarding to
PostgreSQL, the OPC UA server) against the same station with them off, in one process, rounds interleaved.

    .venv/bin/python benchmarks/line_outputs.py [--parts 300] [--rounds 3] [--model deeppcb-ref-yolov8n]

"off": the demo station as shipped (software trigger paced by the station, records into SQLite).
"on": the same station triggered by a PLC program (a pymodbus client on loopback that triggers whenever
the station is ready and acknowledges whenever results are valid, polling every --plc-poll-ms and writing its
control word when it changes; ``plc.buffer: 4``), publishing every
verdict to Debian's mosquitto and forwarding every record to Debian's PostgreSQL, both started here on
loopback (the test suite's helpers), and serving OPC UA (Basic256Sha256) to a client in another process
subscribed to the last result (as an MES would). Prints one line per run and the median ratio on / off.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the loopback servers the tests start

from loopback import free_port  # noqa: E402
from mosquitto_broker import Broker  # noqa: E402
from postgres_server import PASSWORD, Postgres  # noqa: E402
from pymodbus.client import ModbusTcpClient  # noqa: E402

from inspection.config import DEMO_CONFIG, DEMO_RECIPE, load_station_config  # noqa: E402
from inspection.config.plc_registers import OUT_ACCEPTED, OUTPUT_WORDS, Control, Status  # noqa: E402
from inspection.station.pipeline import Station  # noqa: E402

PASSWORD_ENV = "BENCH_FLEET_PASSWORD"
OPCUA_USER = "mes"
SCAN_S = 0.005  # default poll cycle of the PLC's Modbus client (--plc-poll-ms)


def plc_program(port: int, stop: Any, poll_s: float = SCAN_S) -> None:
    """A scan-cycle PLC: trigger when ready (held until accepted), acknowledge valid results."""
    client = ModbusTcpClient("127.0.0.1", port=port)
    while not client.connect():
        if stop.is_set():
            return
        time.sleep(0.05)
    triggered = acked = False
    accepted = -1
    written = -1
    while not stop.is_set():
        response = client.read_holding_registers(100, count=OUTPUT_WORDS)
        if response.isError():
            time.sleep(0.01)
            continue
        words = response.registers
        status = Status(words[0])
        if accepted < 0:
            accepted = words[OUT_ACCEPTED]
        if Status.RESULTS_VALID in status and not acked:
            acked = True
        elif acked and Status.RESULTS_VALID not in status:
            acked = False
        if triggered:
            triggered = words[OUT_ACCEPTED] == accepted
            accepted = words[OUT_ACCEPTED]
        elif Status.TRIGGER_READY in status:
            triggered = True
        control = (Control.TRIGGER if triggered else 0) | (Control.RESULT_ACK if acked else 0)
        if control != written:  # a Modbus client block writes when its data changes
            client.write_registers(0, [int(control)])
            written = control
        time.sleep(poll_s)
    client.close()


def opcua_client(url: str, folder: str, stop: Any, seen: Any) -> None:
    """An OPC UA client (an MES) subscribed to the last result's sequence number, over Basic256Sha256."""
    import asyncio  # noqa: PLC0415  (only the client process uses them)

    from asyncua import Client, ua  # noqa: PLC0415
    from asyncua.crypto.cert_gen import setup_self_signed_certificate  # noqa: PLC0415
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256  # noqa: PLC0415
    from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: PLC0415

    class Counter:
        def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
            seen.value = int(value or 0)

    async def main() -> None:
        key, cert = Path(folder) / "client_key.pem", Path(folder) / "client_cert.der"
        await setup_self_signed_certificate(
            key, cert, "urn:bench:mes", "localhost", [ExtendedKeyUsageOID.CLIENT_AUTH], {}
        )
        while not stop.is_set():
            client = Client(url, timeout=10)
            client.application_uri = "urn:bench:mes"
            client.set_user(OPCUA_USER)
            client.set_password(PASSWORD)
            try:
                await client.set_security(
                    SecurityPolicyBasic256Sha256, str(cert), str(key), mode=ua.MessageSecurityMode.SignAndEncrypt
                )
                await client.connect()
            except OSError:
                await asyncio.sleep(0.2)
                continue
            idx = await client.get_namespace_index("urn:inspection-station")
            node = await client.nodes.objects.get_child(
                [f"{idx}:VisionSystem", f"{idx}:ResultManagement", f"{idx}:LastResult", f"{idx}:SequenceNumber"]
            )
            subscription = await client.create_subscription(100, Counter())
            await subscription.subscribe_data_change(node)
            while not stop.is_set():
                await asyncio.sleep(0.1)
            await client.disconnect()

    asyncio.run(main())


def station_file(folder: Path, recipe: Path, extra: dict[str, Any]) -> Path:
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["recipe"] = str(recipe)
    camera = config["camera"]
    if "image_folder" in camera:
        camera["image_folder"] = str((DEMO_CONFIG.parent / camera["image_folder"]).resolve())
    config["storage"] = {"data_dir": str(folder / "data")}
    config.update(extra)
    path = folder / "station.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run(
    config: Path, parts: int, plc_port: int | None, plc_poll_s: float = SCAN_S, opcua_url: str | None = None
) -> dict[str, Any]:
    station = Station(load_station_config(config))
    stop = multiprocessing.Event()
    program = None
    if plc_port is not None:  # the PLC is another device: its program runs in a process of its own
        program = multiprocessing.Process(target=plc_program, args=(plc_port, stop, plc_poll_s), daemon=True)
        program.start()
    seen = multiprocessing.Value("i", 0)
    mes = None
    if opcua_url is not None:
        mes = multiprocessing.Process(
            target=opcua_client, args=(opcua_url, str(config.parent), stop, seen), daemon=True
        )
        mes.start()
    try:
        summary = station.run(parts=parts)
        status = station.status()
    finally:
        stop.set()
        station.close()
    for process in (program, mes):
        if process is not None:
            process.join(5)
    return {
        "parts_per_s": summary.stats.parts_per_s,
        "written": summary.records_written,
        **({"plc": dict(status.plc)} if status.plc is not None else {}),
        **{name: dict(counters) for name, counters in status.outputs.items()},
        **({"opcua_client_saw": seen.value} if mes is not None else {}),
    }


def recipe_for(model: str | None, folder: Path) -> Path:
    if model is None:
        return DEMO_RECIPE
    recipe = yaml.safe_load(DEMO_RECIPE.read_text())
    recipe["model"] = str(ROOT / "models" / model / "model_openvino" / "model.xml")
    recipe["reference"] = str((DEMO_RECIPE.parent / recipe["reference"]).resolve())
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", help="a registered model to run instead of the demo recipe's")
    parser.add_argument("--outputs", default="plc,mqtt,fleet,opcua", help="which outputs are on in the 'on' runs")
    parser.add_argument("--plc-poll-ms", type=float, default=SCAN_S * 1000, help="the PLC's Modbus poll cycle")
    args = parser.parse_args()
    os.environ[PASSWORD_ENV] = PASSWORD
    os.environ["INSPECTION_OPCUA_USER"], os.environ["INSPECTION_OPCUA_PASSWORD"] = OPCUA_USER, PASSWORD
    work = Path(tempfile.mkdtemp(prefix="line-bench-"))
    broker = Broker(work / "broker")
    database = Postgres()
    try:
        recipe = recipe_for(args.model, work)
        ratios = []
        for number in range(args.rounds):
            off_dir, on_dir = work / f"off-{number}", work / f"on-{number}"
            off_dir.mkdir()
            on_dir.mkdir()
            plc_port = free_port()
            outputs = {
                "plc": {"mode": "server", "host": "127.0.0.1", "port": plc_port, "buffer": 4},
                "mqtt": {"port": broker.port},
                "fleet": {"database_url": database.url, "password_env": PASSWORD_ENV},
                "outputs": {"opcua": {"endpoint": f"opc.tcp://127.0.0.1:{free_port()}/inspection/"}},
            }
            chosen = args.outputs.split(",")
            outputs = {
                key: value
                for key, value in outputs.items()
                if key in chosen or (key == "outputs" and "opcua" in chosen)
            }
            opcua_url = outputs["outputs"]["opcua"]["endpoint"] if "outputs" in outputs else None
            off = run(station_file(off_dir, recipe, {}), args.parts, None)
            plc = plc_port if "plc" in outputs else None
            on = run(station_file(on_dir, recipe, outputs), args.parts, plc, args.plc_poll_ms / 1000, opcua_url)
            ratio = on["parts_per_s"] / off["parts_per_s"]
            ratios.append(ratio)
            print(
                f"round {number + 1}: off {off['parts_per_s']:.2f} parts/s, on {on['parts_per_s']:.2f} parts/s, "
                f"ratio {ratio:.3f}; plc {on.get('plc')}, mqtt {on.get('mqtt')}, fleet {on.get('fleet')}, "
                f"opcua {on.get('opcua')} (its client saw result {on.get('opcua_client_saw')})",
                flush=True,
            )
        print(f"median ratio on / off: {statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f})")
    finally:
        broker.stop()
        database.close()


if __name__ == "__main__":
    main()
