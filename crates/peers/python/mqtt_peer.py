"""paho-mqtt (PyPI, Eclipse) as the sensors' side of truce's MQTT tests.

  python mqtt_peer.py publish HOST PORT TOPIC FILE...
      Publishes each FILE's bytes to TOPIC with QoS 1 and waits for each PUBACK.
  python mqtt_peer.py listen HOST PORT FILTER COUNT SECONDS
      Subscribes to FILTER (QoS 1), prints "ready" once subscribed, then each message as a
      JSON line {"topic", "payload"} until COUNT arrived or SECONDS passed.
"""

import json
import sys
import threading
import time

import paho.mqtt.client as mqtt


def client(name: str) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{time.time_ns()}")


def publish(host: str, port: int, topic: str, files) -> None:
    c = client("sensor")
    c.connect(host, port)
    c.loop_start()
    for path in files:
        with open(path, "rb") as f:
            info = c.publish(topic, f.read(), qos=1)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            sys.exit(f"no PUBACK for {path}")
    c.loop_stop()
    c.disconnect()


def listen(host: str, port: int, topic_filter: str, count: int, seconds: float) -> None:
    got = []
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(_c, _u, message):
        got.append(message)
        print(json.dumps({"topic": message.topic, "payload": message.payload.decode()}), flush=True)
        if len(got) >= count:
            done.set()

    c = client("listener")
    c.on_message = on_message
    c.on_subscribe = lambda *_args: subscribed.set()
    c.connect(host, port)
    c.loop_start()
    c.subscribe(topic_filter, qos=1)
    subscribed.wait(10)
    print("ready", flush=True)
    done.wait(seconds)
    c.loop_stop()
    c.disconnect()


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "publish":
        publish(host, port, sys.argv[4], sys.argv[5:])
    elif mode == "listen":
        listen(host, port, sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    else:
        sys.exit(f"unknown mode {mode}")
