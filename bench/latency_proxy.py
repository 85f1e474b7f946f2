#!/usr/bin/env python3
"""A loopback HTTP/1.1 proxy that makes a local index answer like a remote one.

    latency_proxy.py --upstream 127.0.0.1:PORT [--hold-ms 300] [--get-hold-ms 30]
                     [--rate-mb 0] [--log requests.jsonl]

It prints `listening on PORT` once it accepts connections, then forwards every request to the
upstream index (pypiserver) and delays the answer:

- an upload (any request with a body, i.e. the POST) is answered no earlier than `--hold-ms`
  after its body has arrived: PyPI spends a few hundred milliseconds on each upload (metadata
  checks, storage, database), independently for concurrent uploads;
- any other request (the simple-index GETs) no earlier than `--get-hold-ms` (a tenth of the
  upload hold unless given) after its head arrived.

The hold is measured from the request, not added to the local index's own time, so the
answer times do not depend on how busy this machine's CPU is (the bench machine is shared).

`--rate-mb` limits the bytes read from all clients together (one shared link, MB/s), with a
small socket receive buffer so the client feels the back-pressure as on a slow uplink.

Requests are handled concurrently (asyncio: one task per client connection, each with its
own upstream connection, kept alive both ways). With `--log`, one JSON line per request
(method, path, start, body_done, end in seconds since the proxy started, bytes, status), so
the benchmark can tell how many uploads a tool had in flight at once.
"""
import argparse
import asyncio
import json
import socket
import sys
import time

HEAD_LIMIT = 256 * 1024
CHUNK = 64 * 1024
T0 = time.monotonic()


def now():
    return time.monotonic() - T0


class Link:
    """One shared uplink of `rate` bytes/s: each chunk reserves its time slot in turn."""

    def __init__(self, rate):
        self.rate = rate
        self.next_free = 0.0

    async def take(self, size):
        if not self.rate:
            return
        start = max(now(), self.next_free)
        self.next_free = start + size / self.rate
        delay = self.next_free - now()
        if delay > 0:
            await asyncio.sleep(delay)


def parse_head(raw):
    lines = raw.decode("latin-1").split("\r\n")
    first = lines[0]
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return first, headers


def header(headers, name):
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def build_head(first, headers):
    return (first + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")


async def relay_body(reader, writer, headers, link=None, until_close=False):
    """Copy one message body (Content-Length, chunked, or up to EOF); returns its size."""
    total = 0
    length = header(headers, "content-length")
    chunked = (header(headers, "transfer-encoding") or "").lower() == "chunked"
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            writer.write(size_line)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = await reader.readuntil(b"\r\n")
                    writer.write(line)
                    if line == b"\r\n":
                        return total
            remaining = size + 2
            while remaining:
                piece = min(CHUNK, remaining)
                data = await reader.readexactly(piece)
                if link:
                    await link.take(piece)
                writer.write(data)
                await writer.drain()
                remaining -= piece
                total += piece
    elif length is not None:
        remaining = int(length)
        while remaining:
            data = await reader.read(min(CHUNK, remaining))
            if not data:
                raise ConnectionError("body cut short")
            if link:
                await link.take(len(data))
            writer.write(data)
            await writer.drain()
            remaining -= len(data)
            total += len(data)
    elif until_close:
        while data := await reader.read(CHUNK):
            writer.write(data)
            total += len(data)
    return total


class Buffer:
    """A writer that keeps the bytes (the upstream answer is held before it is sent on)."""

    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(data)

    async def drain(self):
        pass

    def value(self):
        return b"".join(self.parts)


class Proxy:
    def __init__(self, args):
        host, _, port = args.upstream.rpartition(":")
        self.upstream = (host or "127.0.0.1", int(port))
        self.hold = args.hold_ms / 1000
        self.get_hold = (args.get_hold_ms if args.get_hold_ms is not None else args.hold_ms / 10) / 1000
        self.link = Link(args.rate_mb * 1_000_000)
        self.rcvbuf = args.rcvbuf_kb * 1024 if args.rate_mb else 0
        self.log = open(args.log, "a", buffering=1) if args.log else None

    async def handle(self, client_reader, client_writer):
        upstream = None
        try:
            while True:
                try:
                    raw = await client_reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                start = now()
                first, headers = parse_head(raw[:-4])
                method = first.split(" ", 1)[0]
                path = first.split(" ")[1] if " " in first else ""
                if (header(headers, "expect") or "").lower() == "100-continue":
                    headers = [(k, v) for k, v in headers if k.lower() != "expect"]
                    client_writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await client_writer.drain()
                has_body = header(headers, "content-length") not in (None, "0") or header(
                    headers, "transfer-encoding") is not None
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream)
                up_reader, up_writer = upstream
                up_writer.write(build_head(first, headers))
                size = await relay_body(client_reader, up_writer, headers, self.link)
                await up_writer.drain()
                body_done = now()
                raw_answer = await up_reader.readuntil(b"\r\n\r\n")
                status_line, answer_headers = parse_head(raw_answer[:-4])
                status = int(status_line.split(" ")[1])
                answer = Buffer()
                answer.write(raw_answer)
                upstream_closes = (header(answer_headers, "connection") or "").lower() == "close"
                if method != "HEAD" and status >= 200 and status not in (204, 304):
                    await relay_body(up_reader, answer, answer_headers, until_close=upstream_closes)
                if upstream_closes:
                    up_writer.close()
                    upstream = None
                ready = body_done + self.hold if has_body else start + self.get_hold
                if ready > now():
                    await asyncio.sleep(ready - now())
                client_writer.write(answer.value())
                await client_writer.drain()
                end = now()
                if self.log:
                    self.log.write(json.dumps({"method": method, "path": path, "start": round(start, 4),
                                               "body_done": round(body_done, 4), "end": round(end, 4),
                                               "bytes": size, "status": status}) + "\n")
                if upstream_closes or (header(headers, "connection") or "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            print(f"latency proxy: connection ended: {error!r}", file=sys.stderr)
        finally:
            if upstream is not None:
                upstream[1].close()
            client_writer.close()

    async def serve(self, port):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.rcvbuf:
            # Set on the listener so accepted sockets inherit it before the window opens.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.bind(("127.0.0.1", port))
        server = await asyncio.start_server(self.handle, sock=sock, limit=HEAD_LIMIT)
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the index")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hold-ms", type=float, default=300.0)
    parser.add_argument("--get-hold-ms", type=float, default=None)
    parser.add_argument("--rate-mb", type=float, default=0.0, help="shared upload bandwidth in MB/s (0: unlimited)")
    parser.add_argument("--rcvbuf-kb", type=int, default=256)
    parser.add_argument("--log")
    args = parser.parse_args()
    try:
        asyncio.run(Proxy(args).serve(args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
