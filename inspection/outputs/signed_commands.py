"""Commands from the line that cannot be spoofed: each carries the time it was made, a nonce and an
HMAC-SHA256 over both and the command, with a key only the station and the plant's control system hold.
The station accepts a command once, within a short window of its time; anything else is refused.

A command message is JSON::

    {"command": {"command": "stop"}, "time": 1796189027, "nonce": "9f2c...", "signature": "hex"}

where ``time`` is Unix seconds (an integer), ``signature = HMAC-SHA256(key, canonical)`` in hex, and
``canonical`` is the compact JSON (keys sorted, no spaces, non-ASCII as \\u escapes) of
``{"command": ..., "nonce": ..., "time": ...}``. ``sign`` makes one."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from typing import Any

MIN_KEY_CHARS = 32


class CommandRefused(Exception):
    """Why a command message is not executed (one line, said back to the sender and audited)."""


def _canonical(command: dict[str, Any], moment: int, nonce: str) -> bytes:
    return json.dumps(
        {"command": command, "nonce": nonce, "time": moment}, sort_keys=True, separators=(",", ":")
    ).encode()


def sign(command: dict[str, Any], key: bytes, moment: int | None = None, nonce: str | None = None) -> dict[str, Any]:
    """The message that carries ``command``, signed with ``key`` (for the plant's side, and for tests)."""
    moment = int(time.time()) if moment is None else moment
    nonce = nonce or os.urandom(16).hex()
    signature = hmac.new(key, _canonical(command, moment, nonce), hashlib.sha256).hexdigest()
    return {"command": command, "time": moment, "nonce": nonce, "signature": signature}


class CommandVerifier:
    """Checks command messages: well formed, signed with the key, made within ``window_s`` of now, and not
    seen before (nonces are kept for twice the window, so a replay is refused as long as it could pass)."""

    def __init__(self, key: bytes, window_s: float = 30.0) -> None:
        self._key = key
        self.window_s = window_s
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, payload: bytes, now: float | None = None) -> dict[str, Any]:
        """The command a message carries; CommandRefused says why not."""
        now = time.time() if now is None else now
        command, moment, nonce, signature = _fields(payload)
        expected = hmac.new(self._key, _canonical(command, moment, nonce), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise CommandRefused("bad signature")
        age = now - moment
        if abs(age) > self.window_s:
            when = f"made {age:.0f} s ago" if age > 0 else f"dated {-age:.0f} s ahead of the station's clock"
            raise CommandRefused(f"{when}; a command is valid for {self.window_s:.0f} s (check the clocks)")
        with self._lock:
            self._seen = {n: t for n, t in self._seen.items() if now - t <= 2 * self.window_s}
            if nonce in self._seen:
                raise CommandRefused("replayed (this nonce was used already)")
            self._seen[nonce] = now
        return command


def _fields(payload: bytes) -> tuple[dict[str, Any], int, str, str]:
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise CommandRefused("not JSON") from None
    if not isinstance(message, dict) or "signature" not in message:
        raise CommandRefused("unsigned (commands must be signed: see the README's MQTT section)")
    command, moment, nonce, signature = (message.get(k) for k in ("command", "time", "nonce", "signature"))
    if not isinstance(command, dict) or type(moment) is not int or not isinstance(nonce, str):
        raise CommandRefused("a signed command needs command (an object), time (Unix seconds) and nonce (text)")
    if not isinstance(signature, str) or len(nonce) < 16:
        raise CommandRefused("a signature (hex) and a nonce of at least 16 characters are needed")
    return command, moment, nonce, signature
