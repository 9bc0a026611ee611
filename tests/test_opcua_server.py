"""The station's OPC UA server (asyncua) on loopback with an asyncua client, over Basic256Sha256 (sign and
encrypt): 100 parts triggered through the Trigger method, every result seen once and in order, a product
switch through SelectProduct; an anonymous client may read but neither write nor call; a wrong password
and an unencrypted connection are refused."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from conftest import DEMO_RECIPE, ROOT, run_cli, write_station
from cryptography.x509.oid import ExtendedKeyUsageOID
from loopback import free_port

from inspection.config import load_recipe, load_station_config
from inspection.station.pipeline import Station

USER, PASSWORD = "line-client", "opcua-Secret-42"
TEMPLATE_RECIPE = ROOT / "configs" / "recipes" / "deeppcb-template.yaml"
NAMESPACE = "urn:inspection-station"


@pytest.fixture
def opcua_station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("INSPECTION_OPCUA_USER", USER)
    monkeypatch.setenv("INSPECTION_OPCUA_PASSWORD", PASSWORD)
    port = free_port()
    config = write_station(
        tmp_path,
        pipeline={"trigger": "manual"},
        recipes={1: str(DEMO_RECIPE), 2: str(TEMPLATE_RECIPE)},
        outputs={"opcua": {"endpoint": f"opc.tcp://127.0.0.1:{port}/inspection/", "anonymous_read": True}},
    )
    station = Station(load_station_config(config))
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    yield f"opc.tcp://127.0.0.1:{port}/inspection/", tmp_path
    station.stop()
    runner.join(60)
    station.close()


async def _client(url: str, folder: Path, user: str | None = None, password: str | None = None) -> Client:
    await _server_up(url)
    key, cert = folder / "client_key.pem", folder / "client_cert.der"
    if not key.exists():
        await setup_self_signed_certificate(
            key,
            cert,
            "urn:test:line-client",
            socket.gethostname(),
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            {"commonName": "t"},
        )
    client = Client(url, timeout=10)
    client.application_uri = "urn:test:line-client"
    await client.set_security(
        SecurityPolicyBasic256Sha256, str(cert), str(key), mode=ua.MessageSecurityMode.SignAndEncrypt
    )
    if user is not None:
        client.set_user(user)
        client.set_password(password or "")
    return client


async def _server_up(url: str) -> None:
    """Until the station's server answers (it starts with the station's run)."""
    deadline = time.monotonic() + 30
    while True:
        probe = Client(url, timeout=5)
        try:
            await probe.connect_socket()
            probe.disconnect_socket()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _nodes(client: Client) -> tuple[int, Any]:
    idx = await client.get_namespace_index(NAMESPACE)
    return idx, await client.nodes.objects.get_child([f"{idx}:VisionSystem"])


async def _wait_for(node: Any, value: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (current := await node.read_value()) != value:
        assert time.monotonic() < deadline, f"{node}: {current!r}, waiting for {value!r}"
        await asyncio.sleep(0.005)


async def _run_parts(url: str, folder: Path) -> tuple[list[tuple[str, str, str]], str, str]:
    client = await _client(url, folder, USER, PASSWORD)
    await client.connect()
    try:
        idx, vision = await _nodes(client)
        last = await vision.get_child([f"{idx}:ResultManagement", f"{idx}:LastResult"])
        sequence = await last.get_child(f"{idx}:SequenceNumber")
        fields = [await last.get_child(f"{idx}:{name}") for name in ("ResultId", "PartSerial", "Product")]
        await _wait_for(await vision.get_child(f"{idx}:SystemState"), "Operational")
        seen = []
        for number in range(1, 101):
            answer = await vision.call_method(f"{idx}:Trigger", f"SN{number:03d}")
            assert answer == "triggered"
            await _wait_for(sequence, number)
            seen.append(tuple([await field.read_value() for field in fields]))
        recipes = await vision.get_child(f"{idx}:RecipeManagement")
        switched = await recipes.call_method(f"{idx}:SelectProduct", ua.Variant(2, ua.VariantType.UInt16))
        current = await (await recipes.get_child(f"{idx}:CurrentProduct")).read_value()
        await vision.call_method(f"{idx}:Trigger", "SN-AFTER")
        await _wait_for(sequence, 101)
        seen.append(tuple([await field.read_value() for field in fields]))
        return seen, switched, current
    finally:
        await client.disconnect()


def test_100_triggered_parts_each_seen_once_in_order_and_a_product_switch(opcua_station: Any) -> None:
    url, folder = opcua_station
    seen, switched, current = asyncio.run(_run_parts(url, folder))
    template = load_recipe(TEMPLATE_RECIPE).name
    assert switched.startswith(f"recipe {template} ready in") and current == template
    rows: list[Any] = []
    deadline = time.monotonic() + 30
    while len(rows) < len(seen) and time.monotonic() < deadline:  # the writer commits behind the verdicts
        time.sleep(0.1)
        with sqlite3.connect(folder / "data" / "inspection.db") as db:
            rows = db.execute("SELECT id, part_serial, recipe_name FROM inspections ORDER BY created_at").fetchall()
    assert [tuple(row) for row in rows] == seen  # every result once, in order, with its record id
    assert [serial for _, serial, _ in seen[:100]] == [f"SN{n:03d}" for n in range(1, 101)]
    assert {product for _, _, product in seen[:100]} == {load_recipe(DEMO_RECIPE).name}
    assert seen[100][2] == template
    with sqlite3.connect(folder / "data" / "inspection.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log")]
    assert actions.count("opcua_recipe") == 1  # the switch is audited; triggers are not (the records are)


async def _anonymous(url: str, folder: Path) -> dict[str, str]:
    outcome: dict[str, str] = {}
    client = await _client(url, folder)  # encrypted, no login
    await client.connect()
    try:
        idx, vision = await _nodes(client)
        state = await vision.get_child(f"{idx}:SystemState")
        await _wait_for(state, "Operational")
        outcome["read"] = await state.read_value()
        for what, attempt in (
            ("write", lambda: state.write_value(ua.Variant("Halted", ua.VariantType.String))),
            ("call", lambda: vision.call_method(f"{idx}:Trigger", "SN-ANON")),
        ):
            try:
                await attempt()
                outcome[what] = "allowed"
            except ua.UaStatusCodeError as exc:
                outcome[what] = type(exc).__name__
    finally:
        await client.disconnect()
    wrong = await _client(url, folder, USER, "not-the-password")
    try:
        await wrong.connect()
        outcome["wrong password"] = "connected"
        await wrong.disconnect()
    except ua.UaStatusCodeError as exc:
        outcome["wrong password"] = type(exc).__name__
    plain = Client(url, timeout=10)  # no security at all: there is no such endpoint
    try:
        await plain.connect()
        outcome["unencrypted"] = "connected"
        await plain.disconnect()
    except (TimeoutError, ua.UaError, OSError) as exc:
        outcome["unencrypted"] = type(exc).__name__
    return outcome


def test_anonymous_clients_read_but_never_write_or_call(opcua_station: Any) -> None:
    url, folder = opcua_station
    outcome = asyncio.run(_anonymous(url, folder))
    assert outcome["read"] == "Operational"
    assert outcome["write"] == "BadUserAccessDenied" and outcome["call"] == "BadUserAccessDenied", outcome
    assert outcome["wrong password"] == "BadUserAccessDenied", outcome
    assert outcome["unencrypted"] != "connected", outcome
    with sqlite3.connect(folder / "data" / "inspection.db") as db:
        assert db.execute("SELECT COUNT(*) FROM inspections WHERE part_serial = 'SN-ANON'").fetchone() == (0,)
    key = folder / "data" / "opcua" / "server_key.pem"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600  # made at the first start, for its owner


def test_the_opcua_example_runs_as_documented() -> None:
    data = ROOT / "data-opcua"
    existed = data.exists()
    login = {"INSPECTION_OPCUA_USER": "mes", "INSPECTION_OPCUA_PASSWORD": "example-Secret-1"}
    try:
        done = run_cli("run", "--config", "configs/examples/opcua-station.yaml", "--parts", "20", "--quiet", env=login)
        assert done.returncode == 0, done.stderr
        assert "parts          20" in done.stdout, done.stdout
        assert (data / "opcua" / "server_cert.der").exists()
        missing = run_cli(
            "run", "--config", "configs/examples/opcua-station.yaml", "--parts", "1", env={"INSPECTION_OPCUA_USER": ""}
        )
        assert missing.returncode != 0 and "INSPECTION_OPCUA_USER is not set" in missing.stderr, missing.stderr
    finally:
        if not existed:
            shutil.rmtree(data, ignore_errors=True)
