"""Station throughput with the line outputs on (PLC handshake over Modbus TCP, MQTT, fleet forwarding to
PostgreSQL, the OPC UA server) against the same station with them off, in one process, rounds interleaved.

    .venv/bin/python benchmarks/line_outputs.py [--parts 300] [--rounds 3] [--model deeppcb-ref-yolov8n] [--threads]

"off": the demo station as shipped (software trigger paced by the station, records into SQLite).
"on": the same station triggered by a PLC program (a Modbus TCP client on loopback that triggers whenever
the station is ready and acknowledges whenever results are valid, polling every --plc-poll-ms and writing its
control word when it changes; ``plc.buffer: 4``), publishing every
verdict to Debian's mosquitto and forwarding every record to Debian's PostgreSQL, both started here on
loopback (the test suite's helpers), and serving OPC UA (Basic256Sha256) to a client in another process
subscribed to the last result (as an MES would); MQTT, fleet and OPC UA run in the station's outputs'
process (``pipeline.outputs_process``, whose CPU is shown apart) unless --outputs-in-station. The runs
of a round alternate their order (off first in odd rounds, on first in even ones: this shared 2-core
machine drifts by more than the effect measured). Prints one line per round, the median ratio on / off,
and the CPU each output's threads took in the station's process per part (steadier than throughput),
beside what the outputs' process and the peers (the PLC program, the MES client, the brokers and
servers, all on this same machine here, other devices in a plant) took. ``--threads``: each round also lists
every thread's CPU per part, off and on, and how busy the machine's CPUs were (a station short of CPU is
near 100%; one paced by its camera or its trigger is not).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the loopback servers the tests start

from loopback import free_port  # noqa: E402
from mosquitto_broker import Broker  # noqa: E402
from postgres_server import PASSWORD, Postgres  # noqa: E402

from inspection.config import DEMO_CONFIG, DEMO_RECIPE, load_station_config  # noqa: E402
from inspection.config.plc_registers import OUT_ACCEPTED, OUTPUT_WORDS, Control, Status  # noqa: E402
from inspection.station.pipeline import Station  # noqa: E402

PASSWORD_ENV = "BENCH_FLEET_PASSWORD"
OPCUA_USER = "mes"
SCAN_S = 0.005  # default poll cycle of the PLC's Modbus client (--plc-poll-ms)


OUTPUT_THREADS = {  # the station's threads that belong to an output, by name prefix
    "plc": ("modbus-server", "plc-handshake"),
    "mqtt": ("paho-mqtt", "mqtt-sender"),
    "fleet": ("fleet-forwarder",),
    "opcua": ("opcua-server",),
    "to the outputs' process": ("outputs-sender", "outputs-receiver", "outputs-command"),
}


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each of this process's threads, by thread name (native ones pooled)."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    seconds: dict[str, float] = {}
    for task in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread has just ended
            continue
        name = names.get(int(task), "native")
        seconds[name] = seconds.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return seconds


def process_cpu() -> float:
    """CPU seconds so far of this process, its ended threads included (not its child processes)."""
    times = os.times()
    return times.user + times.system


def child_cpu(pid: int | None) -> float:
    """CPU seconds so far of the station's outputs' process (0 when there is none, or it has ended)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """CPU seconds so far of the whole machine (every process, every core), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def output_cpu_ms(run: dict[str, Any], parts: int) -> dict[str, float]:
    """CPU milliseconds per part each output's threads took in the station's process."""
    threads = run["thread_cpu_s"]
    return {
        output: 1000 * sum(s for name, s in threads.items() if name.startswith(prefixes)) / parts
        for output, prefixes in OUTPUT_THREADS.items()
    }


def thread_table(off: dict[str, Any], on: dict[str, Any], parts: int) -> str:
    """Each thread name's CPU milliseconds per part in the station's process, off and on, largest first."""
    names = sorted({*off["thread_cpu_s"], *on["thread_cpu_s"]}, key=lambda n: -on["thread_cpu_s"].get(n, 0.0))
    rows = [
        f"    {name:32s} off {1000 * off['thread_cpu_s'].get(name, 0.0) / parts:6.2f}"
        f"  on {1000 * on['thread_cpu_s'].get(name, 0.0) / parts:6.2f} ms/part"
        for name in names
    ]
    busy = [run["machine_cpu_s"] * run["parts_per_s"] / parts / (os.cpu_count() or 1) for run in (off, on)]
    rows.append(f"    the machine's CPUs busy: off {busy[0]:.0%}, on {busy[1]:.0%}")
    return "\n".join(rows)


class PlcLink:
    """The PLC's Modbus client block: one TCP connection, read holding registers (3) and write them (16).
    Plain frames on a socket, as cheap as a PLC's own firmware is to the station's machine (a pymodbus
    client here cost this shared machine more CPU than the station's server answering it)."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._transaction = 0

    def _call(self, pdu: bytes) -> bytes:
        self._transaction = (self._transaction + 1) & 0xFFFF
        self._sock.sendall(struct.pack(">HHHB", self._transaction, 0, len(pdu) + 1, 1) + pdu)
        header = self._sock.recv(7, socket.MSG_WAITALL)
        if len(header) < 7:
            raise ConnectionError("the station closed the connection")
        length = struct.unpack_from(">H", header, 4)[0]
        reply = self._sock.recv(length - 1, socket.MSG_WAITALL)
        if reply[:1] != pdu[:1]:
            raise ConnectionError(f"Modbus exception {reply.hex()}")
        return reply

    def read(self, address: int, count: int) -> list[int]:
        reply = self._call(struct.pack(">BHH", 3, address, count))
        return list(struct.unpack_from(f">{count}H", reply, 2))

    def write(self, address: int, values: list[int]) -> None:
        count = len(values)
        self._call(struct.pack(f">BHHB{count}H", 16, address, count, 2 * count, *values))

    def close(self) -> None:
        self._sock.close()


def plc_program(port: int, stop: Any, poll_s: float = SCAN_S) -> None:
    """A scan-cycle PLC: trigger when ready (held until accepted), acknowledge valid results. Ends when
    asked or when the station closes its server."""
    while True:
        try:
            link = PlcLink(port)
            break
        except OSError:
            if stop.is_set():
                return
            time.sleep(0.05)
    try:
        scan(link, stop, poll_s)
    except OSError:  # the station stopped and closed the connection: the run is over
        pass
    finally:
        link.close()


def scan(link: PlcLink, stop: Any, poll_s: float) -> None:
    triggered = acked = False
    accepted = -1
    written = -1
    while not stop.is_set():
        words = link.read(100, OUTPUT_WORDS)
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
            link.write(0, [int(control)])
            written = control
        time.sleep(poll_s)


def opcua_client(url: str, folder: str, stop: Any, seen: Any) -> None:
    """An OPC UA client (an MES) subscribed to the last result's sequence number, over Basic256Sha256."""
    import asyncio  # noqa: PLC0415  (only the client process uses them)

    from asyncua import Client, ua  # noqa: PLC0415
    from asyncua.crypto.cert_gen import setup_self_signed_certificate  # noqa: PLC0415
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256  # noqa: PLC0415
    from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: PLC0415

    # The station's server goes away at the end of each run, before this client is told to stop: asyncua
    # would print its lost connection's tracebacks and warnings, which say nothing here.
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)

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


def station_file(folder: Path, recipe: Path, extra: dict[str, Any], exposure_us: float | None = None) -> Path:
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["recipe"] = str(recipe)
    camera = config["camera"]
    if exposure_us is not None:
        camera["exposure_us"] = exposure_us
    if "image_folder" in camera:
        camera["image_folder"] = str((DEMO_CONFIG.parent / camera["image_folder"]).resolve())
    config["storage"] = {"data_dir": str(folder / "data")}
    for key, value in extra.items():  # a section given here is merged into the demo's own
        config[key] = {**config[key], **value} if isinstance(config.get(key), dict) else value
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
    ticks: list[tuple[dict[str, float], float, float]] = []
    host_cpu = [0.0, 0.0]  # the outputs' process: at the first tick, at its last sight

    def tick() -> None:
        ticks.append((thread_cpu(), process_cpu(), machine_cpu()))
        seconds = child_cpu(None if station.outputs.process is None else station.outputs.process.pid)
        host_cpu[0] = host_cpu[0] or seconds
        host_cpu[1] = max(host_cpu[1], seconds)

    try:
        summary = station.run(parts=parts, on_tick=lambda _status: tick())
        status = station.status()
    finally:
        stop.set()
        station.close()
    for process in (program, mes):
        if process is not None:
            process.join(5)
    (threads_first, process_first, machine_first), (_, process_last, machine_last) = ticks[0], ticks[-1]
    # A thread's CPU only grows; the detect workers have ended by the last tick, so each thread's last sight counts.
    last_seen: dict[str, float] = {}
    for tick_threads, _, _ in ticks:
        for name, seconds in tick_threads.items():
            last_seen[name] = max(seconds, last_seen.get(name, 0.0))
    threads = {name: seconds - threads_first.get(name, 0.0) for name, seconds in last_seen.items()}
    return {
        "parts_per_s": summary.stats.parts_per_s,
        "thread_cpu_s": threads,
        "process_cpu_s": process_last - process_first,
        "outputs_process_cpu_s": host_cpu[1] - host_cpu[0],
        "peers_cpu_s": (machine_last - machine_first) - (process_last - process_first) - (host_cpu[1] - host_cpu[0]),
        "machine_cpu_s": machine_last - machine_first,
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


def one_round(
    number: int, work: Path, recipe: Path, args: argparse.Namespace, broker: Broker, database: Postgres
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run with the outputs off and one with them on, in alternating order."""
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
    if args.outputs_in_station:
        outputs["pipeline"] = {"outputs_process": False}
    chosen = args.outputs.split(",")
    wanted = {*chosen, *(["outputs"] if "opcua" in chosen else []), "pipeline"}
    outputs = {key: value for key, value in outputs.items() if key in wanted}
    opcua_url = outputs["outputs"]["opcua"]["endpoint"] if "outputs" in outputs else None
    plc = plc_port if "plc" in outputs else None

    def run_off() -> dict[str, Any]:
        return run(station_file(off_dir, recipe, {}, args.exposure_us), args.parts, None)

    def run_on() -> dict[str, Any]:
        return run(
            station_file(on_dir, recipe, outputs, args.exposure_us), args.parts, plc, args.plc_poll_ms / 1000, opcua_url
        )

    if number % 2 == 0:
        off = run_off()
        return off, run_on()
    on = run_on()
    return run_off(), on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", help="a registered model to run instead of the demo recipe's")
    parser.add_argument("--outputs", default="plc,mqtt,fleet,opcua", help="which outputs are on in the 'on' runs")
    parser.add_argument(
        "--outputs-in-station",
        action="store_true",
        help="run MQTT, fleet and OPC UA on the station's threads (pipeline.outputs_process: false), as before",
    )
    parser.add_argument("--plc-poll-ms", type=float, default=SCAN_S * 1000, help="the PLC's Modbus poll cycle")
    parser.add_argument(
        "--exposure-us", type=float, help="the emulated camera's exposure (default: the emulator's own, 10,000 us)"
    )
    parser.add_argument("--threads", action="store_true", help="also print each thread's CPU per part, on and off")
    args = parser.parse_args()
    os.environ[PASSWORD_ENV] = PASSWORD
    os.environ["INSPECTION_OPCUA_USER"], os.environ["INSPECTION_OPCUA_PASSWORD"] = OPCUA_USER, PASSWORD
    work = Path(tempfile.mkdtemp(prefix="line-bench-"))
    broker = Broker(work / "broker")
    database = Postgres()
    try:
        recipe = recipe_for(args.model, work)
        ratios: list[float] = []
        costs: list[dict[str, float]] = []
        peers: list[float] = []
        station_extra: list[float] = []
        apart: list[float] = []
        for number in range(args.rounds):
            off, on = one_round(number, work, recipe, args, broker, database)
            ratio = on["parts_per_s"] / off["parts_per_s"]
            ratios.append(ratio)
            costs.append(output_cpu_ms(on, args.parts))
            peers.append(1000 * (on["peers_cpu_s"] - off["peers_cpu_s"]) / args.parts)
            station_extra.append(1000 * (on["process_cpu_s"] - off["process_cpu_s"]) / args.parts)
            apart.append(1000 * on["outputs_process_cpu_s"] / args.parts)
            print(
                f"round {number + 1} ({'off first' if number % 2 == 0 else 'on first'}): off "
                f"{off['parts_per_s']:.2f} parts/s, on {on['parts_per_s']:.2f} parts/s, ratio {ratio:.3f}; "
                f"outputs' CPU ms/part { ({k: round(v, 2) for k, v in costs[-1].items()}) }; "
                f"plc {on.get('plc')}, mqtt {on.get('mqtt')}, fleet {on.get('fleet')}, opcua {on.get('opcua')} "
                f"(its client saw result {on.get('opcua_client_saw')})",
                flush=True,
            )
            if args.threads:
                print(thread_table(off, on, args.parts), flush=True)
        print(f"median ratio on / off: {statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f})")
        median_costs = {k: statistics.median(c[k] for c in costs) for k in OUTPUT_THREADS}
        print(
            "median CPU per part in the station's process: "
            + ", ".join(f"{k} {v:.2f} ms" for k, v in median_costs.items())
            + f" (all {sum(median_costs.values()):.2f} ms); the station's process in all: "
            f"{statistics.median(station_extra):.2f} ms more per part than with the outputs off; the outputs' "
            f"own process: {statistics.median(apart):.2f} ms; the peers on this machine: "
            f"{statistics.median(peers):.2f} ms more"
        )
    finally:
        broker.stop()
        database.close()


if __name__ == "__main__":
    main()
