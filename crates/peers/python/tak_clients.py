"""TAK clients for truce's listener tests, built on takproto (PyPI), a TAK protocol
implementation truce shares no code with.

  python tak_clients.py negotiate HOST PORT FILE...
      Connects over TCP, reads the server's t-x-takp-v offer, asks for version 1 with
      t-x-takp-q (the offer's uid), reads the t-x-takp-r answer; if accepted, sends each FILE's
      CoT event as stream-framed protobuf, then a ping, and reads protobuf until the pong.
      Prints one JSON object: offer uid, answer status, pong type.
  python tak_clients.py refuse-version HOST PORT
      As above but asks for version 2; prints the answer status and then sends an XML ping
      and prints the XML answer's type (the stream stayed XML).
  python tak_clients.py mesh HOST PORT FILE
      Sends FILE's CoT event as one `bf 01 bf` mesh datagram over UDP.
  python tak_clients.py tls-no-cert HOST PORT CAFILE FILE
      Opens TLS trusting CAFILE but presents no client certificate, sends FILE's event and
      reads. Prints one JSON object: "refused" is the TLS error the server's alert raised
      (null when the server sent data instead), "received" what was read before it.
"""

import json
import re
import socket
import sys
import time

import takproto

PING = (
    '<event version="2.0" uid="peer-ping" type="t-x-c-t" how="m-g" time="{t}" start="{t}" '
    'stale="{t}"><point lat="0" lon="0" hae="0" ce="999999" le="999999"/><detail/></event>'
)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def read_xml_event(sock, buffer: bytearray) -> bytes:
    while b"</event>" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the stream")
        buffer.extend(chunk)
    end = buffer.index(b"</event>") + len(b"</event>")
    event = bytes(buffer[:end])
    del buffer[:end]
    return event


def read_varint(data: bytes, at: int):
    value, shift = 0, 0
    while at < len(data):
        b = data[at]
        value |= (b & 0x7F) << shift
        at += 1
        if not b & 0x80:
            return value, at
        shift += 7
    return None, at


def read_proto_message(sock, buffer: bytearray):
    while True:
        if buffer:
            if buffer[0] != 0xBF:
                raise SystemExit(f"expected 0xbf, got {buffer[0]:#x}")
            length, at = read_varint(buffer, 1)
            if length is not None and len(buffer) >= at + length:
                framed = bytes(buffer[: at + length])
                del buffer[: at + length]
                return takproto.parse_proto(bytearray(framed))
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the stream")
        buffer.extend(chunk)


def attribute(event: bytes, name: str) -> str:
    found = re.search(rf'\b{name}="([^"]*)"', event.decode())
    return found.group(1) if found else ""


def negotiate(host: str, port: int, files, version: int):
    sock = socket.create_connection((host, port), timeout=10)
    buffer = bytearray()
    offer = read_xml_event(sock, buffer)
    assert attribute(offer, "type") == "t-x-takp-v", offer
    uid = attribute(offer, "uid")
    t = now()
    request = (
        f'<event version="2.0" uid="{uid}" type="t-x-takp-q" how="m-g" time="{t}" start="{t}" '
        f'stale="{t}"><point lat="0" lon="0" hae="0" ce="999999" le="999999"/><detail>'
        f'<TakControl><TakRequest version="{version}"/></TakControl></detail></event>'
    )
    sock.sendall(request.encode())
    answer = read_xml_event(sock, buffer)
    status = re.search(r'status="(\w+)"', answer.decode()).group(1)
    result = {"offer_uid": uid, "answer_type": attribute(answer, "type"), "status": status}
    if status == "true":
        for path in files:
            with open(path, encoding="utf-8") as f:
                sock.sendall(bytes(takproto.xml2proto(f.read(), takproto.TAKProtoVer.STREAM)))
        sock.sendall(bytes(takproto.xml2proto(PING.format(t=now()), takproto.TAKProtoVer.STREAM)))
        others = []
        while True:
            message = read_proto_message(sock, buffer)
            if message.cotEvent.type == "t-x-c-t-r":
                break
            others.append(message.cotEvent.type)
        result["pong_type"] = message.cotEvent.type
        result["also_received"] = others
    else:
        sock.sendall(PING.format(t=now()).encode())
        while True:
            kind = attribute(read_xml_event(sock, buffer), "type")
            if kind == "t-x-c-t-r":
                break
        result["pong_type"] = kind
    sock.close()
    print(json.dumps(result))


def mesh(host: str, port: int, path: str):
    with open(path, encoding="utf-8") as f:
        datagram = bytes(takproto.xml2proto(f.read(), takproto.TAKProtoVer.MESH))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(datagram, (host, port))


def tls_no_cert(host: str, port: int, cafile: str, path: str):
    import ssl

    context = ssl.create_default_context(cafile=cafile)
    result = {"refused": None, "received": ""}
    with open(path, "rb") as f:
        event = f.read()
    with socket.create_connection((host, port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host) as sock:
                sock.sendall(event)
                data = sock.recv(65536)
                result["received"] = data.decode("utf-8", "replace")
                if not data:
                    result["refused"] = "the server closed the stream"
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
            result["refused"] = str(e)
    print(json.dumps(result))


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "negotiate":
        negotiate(host, port, sys.argv[4:], 1)
    elif mode == "refuse-version":
        negotiate(host, port, [], 2)
    elif mode == "mesh":
        mesh(host, port, sys.argv[4])
    elif mode == "tls-no-cert":
        tls_no_cert(host, port, sys.argv[4], sys.argv[5])
    else:
        raise SystemExit(f"unknown mode {mode}")
