"""The parent's end of the narrow channel to the worker in the student's kernel.

Requests and replies are trees of plain values and arrays in the no-pickle codec of
``wire``; nothing the worker sends is ever executed or unpickled here.
"""

from __future__ import annotations

import socket

from . import wire


class WorkerLost(RuntimeError):
    """The worker stopped answering: the student's function hung, exited or crashed."""


class Channel:
    def __init__(self, conn: socket.socket, token: str, timeout_s: float):
        self._conn = conn
        self._timeout_s = timeout_s
        conn.settimeout(timeout_s)
        try:
            hello = wire.recv_frame(conn)
        except (OSError, ValueError) as exc:
            raise WorkerLost(f"the worker did not greet the grader: {exc}") from None
        if not isinstance(hello, dict) or hello.get("token") != token:
            raise WorkerLost("the worker answered with the wrong token")

    def request(self, req: dict, timeout_s: float | None = None) -> dict:
        """Send one request and return the reply; ``WorkerLost`` if none comes in time."""
        self._conn.settimeout(timeout_s or self._timeout_s)
        try:
            wire.send_frame(self._conn, req)
            reply = wire.recv_frame(self._conn)
        except socket.timeout:
            raise WorkerLost(f"no answer within {timeout_s or self._timeout_s:.0f}s (an endless loop?)") from None
        except (OSError, ConnectionError, ValueError) as exc:
            raise WorkerLost(f"the kernel stopped while answering ({exc})") from None
        if not isinstance(reply, dict) or "status" not in reply:
            raise WorkerLost("the worker sent a malformed reply")
        return reply

    def close(self) -> None:
        try:
            self._conn.settimeout(2)
            wire.send_frame(self._conn, {"op": "stop"})
        except OSError:
            pass
        self._conn.close()
