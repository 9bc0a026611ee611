"""The running station's local control channel: a Unix socket in the data folder that ``inspection
product`` talks to (switch the product, ask what runs), on by default.

The socket lies in ``<data_dir>/control/``, a folder only the station's OS user may enter, and every
connection's peer is checked (``SO_PEERCRED``): only that user (or root) is answered. One request per
connection, one JSON line each way: ``{"command": "recipe", "index": 2}`` -> ``{"answer": "..."}``;
``{"command": "status"}`` -> the product, its version and the run state. A command is the line's (the
station's command handler) and is audited under the OS user who sent it."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import socket
import struct
import threading
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from inspection.config import load_recipe
from inspection.config.files import Strict
from inspection.core.errors import ConfigError, StationError
from inspection.core.events import Event, ProductChange, StateChanged
from inspection.outputs.base import Output, OutputContext
from inspection.recorder.audit import record_action

log = logging.getLogger(__name__)
SOCKET_NAME = "station.sock"
MAX_REQUEST = 4096  # bytes: a command is a short JSON line
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with its terminating zero
ANSWER_TIMEOUT_S = 120.0  # a changeover may wait for the parts in flight (30 s) and load a model


class ControlSettings(Strict):
    enabled: bool = Field(True, description="listen for `inspection product` on a Unix socket in the data folder")


def control_socket(data_dir: Path) -> Path:
    return data_dir / "control" / SOCKET_NAME


class LocalControl(Output):
    name = "control"

    def __init__(self, context: OutputContext) -> None:
        self._context = context
        self.path = control_socket(context.config.storage.data_dir)
        first = load_recipe(context.config.recipe)
        self._product = {"product": first.name, "version": first.version}
        self._state = {"state": "starting", "detail": ""}
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._unsubscribe: Any = None
        self.counters = {"requests": 0, "refused": 0}

    def start(self) -> None:
        self._unsubscribe = self._context.bus.subscribe(self._on_event)
        if len(os.fsencode(self.path)) > SOCKET_PATH_MAX:
            self._report(f"{self.path}: the path is too long for a Unix socket; `inspection product` cannot reach it")
            return
        try:
            self._listener = _listen(self.path)
        except OSError as exc:
            self._report(f"cannot listen on {self.path}: {exc}; `inspection product` cannot reach this station")
            return
        self._thread = threading.Thread(target=self._serve, name="local-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._thread is not None:
            self._thread.join(5)
        if self._listener is not None:
            self._listener.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def status(self) -> dict[str, int]:
        return dict(self.counters)

    def _on_event(self, event: Event) -> None:
        match event:
            case ProductChange(phase="ready", product=product, version=version):
                self._product = {"product": product, "version": version}
            case StateChanged(state=state, detail=detail):
                self._state = {"state": state, "detail": detail}
            case _:
                pass

    def _report(self, message: str) -> None:
        log.warning("local control: %s", message)  # not a line fault: the line does not depend on it

    # ------------------------------------------------------------ the listener's thread
    def _serve(self) -> None:
        assert self._listener is not None
        while not self._closing.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), name="local-control-request", daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            user = _peer_user(connection)
            if user is None:
                self.counters["refused"] += 1
                _send(connection, {"refused": "only the station's own OS user may control it"})
                return
            try:
                command = _receive(connection)
            except (OSError, ValueError) as exc:
                _send(connection, {"refused": f"not a command: {exc}"})
                return
            self.counters["requests"] += 1
            connection.settimeout(ANSWER_TIMEOUT_S)
            _send(connection, self._reply(command, user))

    def _reply(self, command: dict[str, Any], user: str) -> dict[str, Any]:
        if command.get("command") == "status":
            return {**self._product, **self._state}
        answer = self._context.on_command(command)
        try:
            detail = {**command, "answer": answer}
            record_action(self._context.engine, f"os:{user}", f"cli_{command.get('command')}", detail)
        except SQLAlchemyError as exc:
            log.error("audit entry of a local command not written: %s", exc)
        return {"answer": answer, **self._product}


def _listen(path: Path) -> socket.socket:
    """The listening socket, in a folder only this OS user may enter; a socket left by a killed station is
    replaced (the data folder's lock says no other station runs here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(4)
    listener.settimeout(0.5)
    return listener


def _peer_user(connection: socket.socket) -> str | None:
    """The OS user at the other end when it is the station's own (or root); None otherwise."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    if uid not in (os.getuid(), 0):
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _read_line(connection: socket.socket, limit: int | None = None) -> bytes:
    """Bytes up to the first newline (or the peer's end); ValueError past ``limit`` bytes."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(MAX_REQUEST if limit is not None else 65536)
        if not chunk:
            break
        data += chunk
        if limit is not None and len(data) > limit:
            raise ValueError(f"longer than {limit} bytes")
    return data


def _receive(connection: socket.socket) -> dict[str, Any]:
    command = json.loads(_read_line(connection, MAX_REQUEST))
    if not isinstance(command, dict):
        raise ValueError("give a JSON object")
    return command


def _send(connection: socket.socket, reply: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the client gave up waiting: the command still ran (and is audited)
        connection.sendall(json.dumps(reply).encode() + b"\n")


def send_command(data_dir: Path, command: dict[str, Any], timeout_s: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
    """Send one command to the station running on ``data_dir``; its reply. Raises StationError when no
    station runs there or it does not answer."""
    path = control_socket(data_dir)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout_s)
    try:
        with client:
            client.connect(str(path))
            client.sendall(json.dumps(command).encode() + b"\n")
            reply = _read_line(client)
    except (FileNotFoundError, ConnectionRefusedError):
        raise StationError(
            f"no station is running on {data_dir} (no answer on {path}); start it with 'inspection run' or the app"
        ) from None
    except PermissionError:
        raise StationError(f"{path}: only the OS user running the station may control it") from None
    except TimeoutError:
        raise StationError(f"the station on {data_dir} did not answer within {timeout_s:g} s") from None
    if not reply:
        raise StationError(f"the station on {data_dir} closed the connection without an answer")
    answer: dict[str, Any] = json.loads(reply)
    return answer


def local_control(context: OutputContext) -> Output | None:
    try:
        settings = ControlSettings.model_validate(context.settings("control") or {})
    except ValidationError as exc:
        raise ConfigError(f"outputs.control: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})") from None
    return LocalControl(context) if settings.enabled else None
