"""An OPC UA server (asyncua) as a line output, off unless the station file has ``outputs: {opcua: ...}``.

It listens on the configured endpoint (loopback by default) with the security policy Basic256Sha256
(sign and encrypt) only, and a certificate the station creates on its first start (in
``<data_dir>/opcua``, the key readable by its owner only). A client logs in with the user and password
from the environment variables the settings name; anonymous clients are refused, or (``anonymous_read``)
may read and subscribe but never write or call a method. The address space: ``opcua_model.py``. The
server runs its own event loop on its own thread; the station only queues to it, so it never slows the
line."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import USER_TYPES, SimpleRoleRuleset, User, UserRole
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.uaerrors import UaError
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from inspection.config import load_recipe
from inspection.config.files import Strict
from inspection.core.errors import ConfigError
from inspection.core.events import CameraBack, CameraFault, Event, LineLink, ProductChange, StateChanged, StatsUpdate
from inspection.core.types import InspectionRecord
from inspection.outputs.base import Output, OutputContext
from inspection.outputs.opcua_model import STATES, VisionNodes, build_model, run_blocking, write_counters, write_result
from inspection.recorder.audit import record_action

log = logging.getLogger(__name__)
START_TIMEOUT_S = 30.0


class OpcUaSettings(Strict):
    endpoint: str = Field("opc.tcp://127.0.0.1:4840/inspection/", description="where the server listens")
    username_env: str = Field("INSPECTION_OPCUA_USER", description="variable holding the clients' user name")
    password_env: str = Field("INSPECTION_OPCUA_PASSWORD", description="variable holding their password")
    anonymous_read: bool = Field(False, description="let anonymous clients read and subscribe (never write)")
    certificate_dir: Path | None = Field(None, description="the server's certificate and key; default <data_dir>/opcua")
    namespace: str = "urn:inspection-station"


def read_login(settings: OpcUaSettings) -> tuple[str, str]:
    login = tuple(os.environ.get(name, "") for name in (settings.username_env, settings.password_env))
    for name, value in zip((settings.username_env, settings.password_env), login, strict=True):
        if not value:
            raise ConfigError(
                f"outputs.opcua: the environment variable {name} is not set (it holds the clients' login)"
            )
    return login[0], login[1]


class StationUsers(UserManager):
    """The one login of the settings; anonymous only for reading, when allowed."""

    def __init__(self, login: tuple[str, str], anonymous_read: bool) -> None:
        self._login = login
        self._anonymous_read = anonymous_read

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username is None:
            return User(role=UserRole.Anonymous) if self._anonymous_read else None
        given = f"{username}\0{password or ''}".encode()
        if hmac.compare_digest(given, f"{self._login[0]}\0{self._login[1]}".encode()):
            return User(role=UserRole.User, name=username)
        return None


def _service(type_id: int) -> ua.NodeId:
    return ua.NodeId(type_id)  # type: ignore[arg-type]


_WRITES = {
    _service(ObjectIds.WriteRequest_Encoding_DefaultBinary),
    _service(ObjectIds.CallRequest_Encoding_DefaultBinary),
}


class StationRules(SimpleRoleRuleset):
    """Logged-in users: every service (the variables are read-only anyway); anonymous: no write, no call."""

    def __init__(self) -> None:
        user = {_service(type_id) for type_id in USER_TYPES}
        self._allowed = {UserRole.User: user, UserRole.Admin: user, UserRole.Anonymous: user - _WRITES}

    def check_validity(self, user: User, action_type_id: ua.NodeId, body: Any) -> bool:
        return action_type_id in self._allowed.get(user.role, set())


async def ensure_certificate(folder: Path, app_uri: str, host: str) -> tuple[Path, Path]:
    """The server's certificate and key, made on the first start (the key for its owner only)."""
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "server_key.pem", folder / "server_cert.der"
    if not (key.exists() and cert.exists()):
        usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        subject = {"commonName": f"inspection station {host}", "organizationName": "inspection-station"}
        await setup_self_signed_certificate(key, cert, app_uri, host, usage, subject)
        log.info("OPC UA: made the server certificate %s", cert)
    os.chmod(key, 0o600)
    return cert, key


class OpcUaOutput(Output):
    name = "opcua"
    separable = True

    def __init__(self, context: OutputContext, settings: OpcUaSettings) -> None:
        self._context = context
        self._settings = settings
        self._login = read_login(settings)
        parsed = urlparse(settings.endpoint)
        if parsed.scheme != "opc.tcp" or not parsed.hostname:
            raise ConfigError(f"outputs.opcua.endpoint {settings.endpoint!r}: give opc.tcp://HOST:PORT/PATH")
        config = context.config
        self._certificates = settings.certificate_dir or config.storage.data_dir / "opcua"
        self._products = {index: load_recipe(path).name for index, path in config.recipes.items()}
        first = load_recipe(config.recipe)
        self._current = (first.name, first.version)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._updates: asyncio.Queue[tuple[str, Any] | None] | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self.counters = {"results": 0, "commands": 0, "failures": 0}
        self._faults: dict[str, str] = {}

    # ------------------------------------------------------------ the station's side (never blocks)
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="opcua-server", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_S):
            self._report(f"the OPC UA server did not start within {START_TIMEOUT_S:g} s")
        self._unsubscribe = self._context.bus.subscribe(self._on_event)

    def record(self, record: InspectionRecord) -> None:
        self._post("result", record)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._post("state", ("stopped", ""))
        if self._loop is not None and self._updates is not None:
            self._loop.call_soon_threadsafe(self._updates.put_nowait, None)
        if self._thread is not None:
            self._thread.join(10)

    def status(self) -> dict[str, int]:
        return dict(self.counters)

    def _post(self, kind: str, value: Any) -> None:
        loop, updates = self._loop, self._updates
        if loop is None or updates is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(updates.put_nowait, (kind, value))
        except RuntimeError:  # the loop has just closed
            return

    def _on_event(self, event: Event) -> None:
        match event:
            case StateChanged(state=state, detail=detail):
                self._post("state", (state, detail))
            case ProductChange(phase="ready", product=product, version=version):
                self._post("product", (product, version))
                self._post("state", ("running", ""))
            case ProductChange(phase="refused"):
                self._post("state", ("running", ""))
            case ProductChange(phase="started", product=product):
                self._post("state", ("running", f"changing product to {product}"))
            case CameraFault(counters=counters, message=message):
                self._fault("camera", message if counters.lost is not None else None)
            case CameraBack():
                self._fault("camera", None)
            case StatsUpdate(status=status):
                self._fault("camera", status.camera.lost)
                counts = status.counts
                self._post("counters", (counts.parts, counts.passed, counts.failed))
            case LineLink(source=source, up=up, message=message) if source != self.name:
                self._fault(source, None if up else message)
            case _:
                pass

    def _fault(self, source: str, message: str | None) -> None:
        before = dict(self._faults)
        if message is None:
            self._faults.pop(source, None)
        else:
            self._faults[source] = message
        if self._faults != before:
            self._post("faults", dict(self._faults))

    def _report(self, message: str) -> None:
        self.counters["failures"] += 1
        log.warning("OPC UA: %s", message)
        self._context.fault_reporter(self.name)(message, dict(self.counters))
        self._context.link_reporter(self.name)(False, message)

    # ------------------------------------------------------------ the server's thread
    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except (OSError, ValidationError, UaError, RuntimeError, ValueError) as exc:
            self._report(f"the OPC UA server stopped: {exc}")
        finally:
            self._started.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._updates = asyncio.Queue()
        server = await self._server()
        command = run_blocking(self._command)

        async def call(request: dict[str, object]) -> str:
            # A client that selected a product reads CurrentProduct next: it is written before the method
            # answers, not only when the station's ProductChange event comes round through the bus.
            answer = await command(request)
            if request.get("command") == "recipe" and not answer.startswith("refused"):
                await self._write_product(nodes, self._selected(request))
            return answer

        nodes = await build_model(server, self._settings.namespace, self._products, call)
        await self._write_product(nodes, self._current)
        async with server:
            log.info("OPC UA server on %s", self._settings.endpoint)
            self._started.set()
            await self._apply_updates(nodes)

    async def _server(self) -> Server:
        settings = self._settings
        server = Server(user_manager=StationUsers(self._login, settings.anonymous_read))
        await server.init()
        server.set_endpoint(settings.endpoint)
        server.set_server_name(f"inspection station {self._context.config.station}")
        host = socket.gethostname()
        app_uri = f"urn:{host}:inspection-station:{self._context.config.station}"
        await server.set_application_uri(app_uri)
        policy = ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt  # the only endpoint: no unencrypted one
        server.set_security_policy([policy], permission_ruleset=StationRules())
        tokens: list[type] = [ua.UserNameIdentityToken]
        if settings.anonymous_read:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        cert, key = await ensure_certificate(self._certificates, app_uri, host)
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        return server

    async def _apply_updates(self, nodes: VisionNodes) -> None:
        assert self._updates is not None
        while (update := await self._updates.get()) is not None:
            kind, value = update
            if kind == "result":
                self.counters["results"] += 1
                await write_result(nodes, value, self.counters["results"])
            elif kind == "state":
                state, detail = value
                await nodes.write("SystemState", STATES.get(state, "Operational"))
                await nodes.write("SystemStateDetail", f"{state}: {detail}" if detail else state)
            elif kind == "product":
                await self._write_product(nodes, value)
            elif kind == "counters":
                await write_counters(nodes, *value)
            elif kind == "faults":
                await nodes.write("FaultActive", bool(value))
                await nodes.write("FaultMessage", "; ".join(f"{k}: {v}" for k, v in value.items()))

    async def _write_product(self, nodes: VisionNodes, product: tuple[str, str]) -> None:
        await nodes.write("CurrentProduct", product[0])
        await nodes.write("CurrentProductVersion", product[1])

    def _selected(self, command: dict[str, object]) -> tuple[str, str]:
        """The product a recipe command switched to, as its file says now (a rule edit bumps its version)."""
        recipe = load_recipe(self._context.config.recipes[int(str(command["index"]))])
        return recipe.name, recipe.version

    def _command(self, command: dict[str, object]) -> str:
        """A method call of a logged-in client (anonymous ones never get here); a product switch audited."""
        self.counters["commands"] += 1
        answer = self._context.on_command(command)
        if command.get("command") == "trigger":
            return answer  # a part's trigger, as a PLC's: the record is its trace
        try:
            action = f"opcua_{command.get('command')}"
            record_action(self._context.engine, "opcua", action, {**command, "answer": answer})
        except SQLAlchemyError as exc:
            log.error("audit entry of an OPC UA command not written: %s", exc)
        return answer


def opcua_output(context: OutputContext) -> Output | None:
    raw = context.settings("opcua")
    if raw is None:
        return None
    try:
        settings = OpcUaSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"outputs.opcua: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})") from None
    return OpcUaOutput(context, settings)
