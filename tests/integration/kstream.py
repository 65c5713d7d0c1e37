"""A client of the CRI's streaming server (kubelet's cri/streaming, which
containerd serves Exec, Attach and PortForward URLs from), speaking it as
kubelet's clients do over WebSocket: RFC 6455 framing, then Kubernetes'
channel protocols on top. Python's standard library only.

Exec and attach (remotecommand over wsstream): every message starts with
its channel (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize); the binary
protocols (v4.channel.k8s.io, channel.k8s.io) send that byte as is, the
base64 ones (v4.base64.channel.k8s.io, base64.channel.k8s.io) send it as
an ASCII digit and the rest base64-encoded, in text messages. The server
first writes an empty message on the lowest output channel it has; at the
end, the error channel carries the outcome: v4, a JSON Status (Success, or
a NonZeroExitCode Failure whose ExitCode cause holds the code); before v4,
nothing on success and the error's text otherwise. Resize is a JSON
{"Width": w, "Height": h} on channel 4.

Port-forward (portforward's WebSocket handler): two channels per port
(data 2i, error 2i+1), each opened by the server with the port as a
little-endian uint16 before anything else; the data channel carries the
TCP stream both ways; the socket closes when the forwarded connection
ends.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import threading
import time
import urllib.parse

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
STDIN, STDOUT, STDERR, ERROR, RESIZE = range(5)


class WsError(Exception):
    pass


def connect_in_netns(host, port, netns, timeout):
    """A TCP connection made from inside the network namespace at path
    netns (containerd's streaming server listens on the node's loopback).
    A thread of its own enters the namespace and ends, so the caller's
    namespace never changes; the socket stays in the namespace it was made
    in."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}

    def enter_and_connect():
        try:
            fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                    raise OSError(ctypes.get_errno(), f"setns {netns}")
            finally:
                os.close(fd)
            out["sock"] = socket.create_connection((host, port), timeout=timeout)
        except Exception as e:  # noqa: BLE001 - handed to the caller
            out["error"] = e

    t = threading.Thread(target=enter_and_connect)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["sock"]


class WebSocket:
    """One client connection: the opening handshake, then whole messages."""

    def __init__(self, url, protocols, netns=None, timeout=10):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http":
            raise WsError(f"{url}: only plain http streaming URLs are handled")
        self.sock = connect_in_netns(u.hostname, u.port, netns, timeout) if netns else \
            socket.create_connection((u.hostname, u.port), timeout=timeout)
        self.buf = b""
        self.closed = False
        try:
            self._handshake(u, protocols)
        except Exception:
            self.sock.close()
            raise

    def _handshake(self, u, protocols):
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + ("?" + u.query if u.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {u.netloc}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, *fields = head.decode("latin-1").split("\r\n")
        if status.split(" ", 2)[1:2] != ["101"]:
            raise WsError(f"upgrade refused: {status!r}; {self.buf[:200]!r}")
        headers = {k.strip().lower(): v.strip() for k, v in
                   (f.split(":", 1) for f in fields if ":" in f)}
        want = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise WsError(f"bad Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
        self.protocol = headers.get("sec-websocket-protocol", "")

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, payload, opcode=OP_BINARY):
        """One frame, masked as a client's must be."""
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def _frame(self):
        b0, b1 = self._take(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        mask = self._take(4) if b1 & 0x80 else None
        payload = self._take(n)
        if mask:
            payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv(self):
        """The next data message as (opcode, payload), or None once the
        server closed (its close frame answered)."""
        parts, first = [], None
        while True:
            try:
                fin, op, payload = self._frame()
            except EOFError:
                self.closed = True
                return None
            if op == OP_PING:
                self.send(payload, OP_PONG)
            elif op == OP_CLOSE:
                if not self.closed:
                    self.closed = True
                    try:
                        self.send(payload[:2], OP_CLOSE)
                    except OSError:
                        pass
                return None
            elif op in (OP_CONT, OP_TEXT, OP_BINARY):
                first = op if first is None else first
                parts.append(payload)
                if fin:
                    return first, b"".join(parts)

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.send(struct.pack("!H", 1000), OP_CLOSE)
            except OSError:
                pass
        self.sock.close()


class Channels:
    """remotecommand's channels over one WebSocket."""

    def __init__(self, ws):
        self.ws = ws
        self.base64 = "base64" in ws.protocol
        self.out = {}

    def send(self, channel, data):
        if self.base64:
            self.ws.send(str(channel).encode() + base64.b64encode(data), OP_TEXT)
        else:
            self.ws.send(bytes([channel]) + data)

    def resize(self, width, height):
        self.send(RESIZE, json.dumps({"Width": width, "Height": height}).encode())

    def read(self):
        """The next message as (channel, data), None at the end; every
        message is also kept in self.out by channel."""
        m = self.ws.recv()
        if m is None:
            return None
        _op, payload = m
        if not payload:
            return -1, b""
        if self.base64:
            channel, data = payload[0] - ord("0"), base64.b64decode(payload[1:])
        else:
            channel, data = payload[0], payload[1:]
        self.out[channel] = self.out.get(channel, b"") + data
        return channel, data

    def read_until(self, channel, needle, timeout=10):
        """Read until channel's output holds needle (True), or the stream
        ends or time runs out (False)."""
        end = time.monotonic() + timeout
        while needle not in self.out.get(channel, b""):
            if time.monotonic() > end:
                return False
            self.ws.sock.settimeout(max(0.1, end - time.monotonic()))
            try:
                if self.read() is None:
                    return needle in self.out.get(channel, b"")
            except socket.timeout:
                return False
        return True

    def drain(self, timeout=10):
        """Everything up to the server's close."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.ws.sock.settimeout(max(0.1, end - time.monotonic()))
            if self.read() is None:
                return self.out
        raise TimeoutError(f"the stream did not end in {timeout}s: {self.out}")

    def exit_code(self):
        """The command's exit code from the error channel (v4's Status;
        before v4, 0 when the channel stayed empty)."""
        raw = self.out.get(ERROR, b"")
        if not self.ws.protocol.startswith("v4."):
            return 0 if raw == b"" else raw.decode()
        status = json.loads(raw)
        if status.get("status") == "Success":
            return 0
        if status.get("reason") == "NonZeroExitCode":
            for cause in status.get("details", {}).get("causes", []):
                if cause.get("reason") == "ExitCode":
                    return int(cause["message"])
        return status


def forward(ws, data, port, timeout=10):
    """One connection through a port-forward WebSocket: check each
    channel's port prefix, send data on the data channel, and return what
    came back on the data and error channels until the server closed."""
    ch = Channels(ws)
    end = time.monotonic() + timeout
    prefixes = {}
    while len(prefixes) < 2:
        ws.sock.settimeout(max(0.1, end - time.monotonic()))
        m = ws.recv()
        if m is None:
            raise WsError(f"closed before the port prefixes: {prefixes}")
        payload = m[1] if not ch.base64 else m[1][:1] + base64.b64decode(m[1][1:])
        channel = payload[0] - (ord("0") if ch.base64 else 0)
        prefixes[channel] = payload[1:]
    want = struct.pack("<H", port)
    if prefixes != {0: want, 1: want}:
        raise WsError(f"port prefixes {prefixes}, expected {want!r} on channels 0 and 1")
    for i in range(0, len(data), 32768):
        ch.send(0, data[i:i + 32768])
    ch.drain(max(0.1, end - time.monotonic()))
    return ch.out.get(0, b""), ch.out.get(1, b"")
