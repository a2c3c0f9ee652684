"""A small RFC 6455 WebSocket client over a raw socket (Python's stdlib only), for tests that
need to see the wire: the handshake's status, frame sizes, close codes."""

import base64
import hashlib
import os
import socket
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeRefused(Exception):
    def __init__(self, status, headers, body):
        super().__init__(f"handshake answered {status}: {body!r}")
        self.status = status
        self.headers = headers
        self.body = body


class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


class WebSocket:
    def __init__(self, port, path="/", headers=None, timeout=30, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        head = self._read_until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split(" ")[1])
        self.headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                self.headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            length = int(self.headers.get("content-length", "0"))
            body = self._read_exact(length) if length else b""
            self.sock.close()
            raise HandshakeRefused(self.status, self.headers, body)
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert self.headers.get("sec-websocket-accept") == accept, self.headers

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buffer += chunk

    def _read_until(self, marker):
        while marker not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _read_exact(self, n):
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send_frame(self, opcode, payload, fin=True):
        header = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text, fragment=None):
        """Sends a text message (bytes: binary), in frames of `fragment` bytes if given."""
        payload = text.encode() if isinstance(text, str) else text
        opcode = 1 if isinstance(text, str) else 2
        if not fragment or len(payload) <= fragment:
            self.send_frame(opcode, payload)
            return
        pieces = [payload[i : i + fragment] for i in range(0, len(payload), fragment)]
        for i, piece in enumerate(pieces):
            self.send_frame(opcode if i == 0 else 0, piece, fin=i == len(pieces) - 1)

    def recv_frame(self):
        b0, b1 = self._read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read_exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read_exact(8))
        return b0 & 0x80, b0 & 0x0F, self._read_exact(n)

    def recv(self):
        """The next message (str for text, bytes for binary); raises Closed on a close frame."""
        parts = []
        kind = None
        while True:
            fin, opcode, payload = self.recv_frame()
            if opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise Closed(code, payload[2:].decode(errors="replace"))
            if opcode == 9:  # ping
                self.send_frame(10, payload)
                continue
            if opcode == 10:
                continue
            if opcode in (1, 2):
                kind = opcode
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode() if kind == 1 else data

    def close(self, code=1000, reason=""):
        try:
            self.send_frame(8, struct.pack("!H", code) + reason.encode())
            while True:
                self.recv()
        except (Closed, ConnectionError, OSError):
            pass
        finally:
            self.sock.close()

    def abort(self):
        self.sock.close()
