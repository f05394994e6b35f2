"""takproto (PyPI, snstac) as an independent TAK protocol version 1 peer for truce's tests.

  python takproto_peer.py decode   < framed bytes (hex)   -> the TakMessage as JSON
  python takproto_peer.py encode   < one CoT XML event    -> {"stream": hex, "mesh": hex}
"""

import json
import sys

from google.protobuf.json_format import MessageToDict
import takproto


def decode() -> None:
    framed = bytearray.fromhex(sys.stdin.read().strip())
    message = takproto.parse_proto(framed)
    if message is None:
        sys.exit("takproto did not recognise the framing")
    print(json.dumps(MessageToDict(message, preserving_proto_field_name=True)))


def encode() -> None:
    xml = sys.stdin.read()
    stream = takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM)
    mesh = takproto.xml2proto(xml, takproto.TAKProtoVer.MESH)
    print(json.dumps({"stream": bytes(stream).hex(), "mesh": bytes(mesh).hex()}))


if __name__ == "__main__":
    {"decode": decode, "encode": encode}[sys.argv[1]]()
