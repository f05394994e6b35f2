"""Relay load on a TAK server's XML stream port, the same for truce and FreeTAKServer.

  python tak_relay_load.py HOST PORT [--senders N] [--listeners L] [--rate R] [--seconds S]
                                     [--overload K] [--drop-one]

N senders each send situational-awareness events (a-f-G-U-C, as ATAK does) at R events per
second for S seconds; L listeners read everything the server relays. Each event carries its
send time (ns) and a sequence number in its uid, so a listener measures delivery latency and
counts what it missed. With --overload K the senders try K times R. With --drop-one one
listener disconnects halfway through, and the others' delivery rate before and after is
compared.

Both servers are met as a TAK client meets them: a sender first announces itself (an event
not counted) and waits for the server's first bytes (truce's protocol offer, FreeTAKServer's
welcome chat; at most HELLO_WAIT) before streaming. FreeTAKServer parses a new connection's
first read alone and drops a sender whose stream already holds more than one event. Listeners
keep reading until nothing has arrived for QUIET seconds after the load (at most TAIL more
seconds), so a server that delivers late is credited with what it delivers, and the sustained
rate is what was delivered divided by the time from the first send to the last delivery.
FreeTAKServer rewrites <remarks>text</remarks> as <detail remarks="text">: both are read.
Prints one line of key=value figures:

  delivered_per_s  events delivered to all listeners together, per second, sustained
  expected         events sent x listeners (what a perfect relay delivers)
  loss             1 - delivered/expected
  p50_ms, p99_ms   delivery latency
  after_drop       delivered per second after one listener left / before (1.0 = unaffected)
"""

import argparse
import asyncio
import statistics
import time

HELLO_WAIT = 15.0
QUIET = 5.0
TAIL = 60.0

EVENT = (
    '<event version="2.0" uid="{uid}" type="a-f-G-U-C" how="m-g" time="{t}" start="{t}" '
    'stale="{stale}"><point lat="40.2" lon="46.6" hae="900" ce="5" le="9"/><detail>'
    '<contact callsign="{callsign}" endpoint="*:-1:stcp"/><takv platform="bench" version="1"/>'
    "<remarks>sent_ns={ns}</remarks></detail></event>"
)


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


async def sender(host, port, index, rate, seconds, sent, errors, starts):
    try:
        await send_for(host, port, index, rate, seconds, sent, starts)
    except (ConnectionError, OSError):
        errors[0] += 1


async def send_for(host, port, index, rate, seconds, sent, starts):
    reader, writer = await asyncio.open_connection(host, port)
    wall = time.time()
    writer.write(
        EVENT.format(
            uid=f"bench-sender-{index}", t=stamp(wall), stale=stamp(wall + 60),
            callsign=f"S{index}", ns="hello",
        ).encode()
    )
    await writer.drain()
    try:
        await asyncio.wait_for(reader.read(65536), timeout=HELLO_WAIT)
    except asyncio.TimeoutError:
        pass
    drain = asyncio.create_task(discard(reader))
    interval = 1.0 / rate
    start = time.perf_counter()
    starts[index] = start
    n = 0
    while True:
        now = time.perf_counter()
        if now - start >= seconds:
            break
        due = start + n * interval
        if due > now:
            await asyncio.sleep(due - now)
        wall = time.time()
        # One device per sender: its position updates keep its uid, as ATAK's do.
        sent[index] = n
        writer.write(
            EVENT.format(
                uid=f"bench-sender-{index}",
                t=stamp(wall),
                stale=stamp(wall + 60),
                callsign=f"S{index}",
                ns=time.time_ns(),
            ).encode()
        )
        n += 1
        if n % 50 == 0:
            await writer.drain()
    await writer.drain()
    sent[index] = n
    await asyncio.sleep(2)  # let the relay finish before leaving (leaving triggers deletions)
    drain.cancel()
    writer.close()


async def discard(reader):
    try:
        while await reader.read(65536):
            pass
    except (asyncio.CancelledError, ConnectionError):
        pass


async def listener(host, port, index, stats, stop_at, until):
    try:
        await listen_for(host, port, index, stats, stop_at, until)
    except (ConnectionError, OSError):
        stats["errors"] += 1


async def listen_for(host, port, index, stats, stop_at, until):
    """Reads until `stop_at`, or until the load is over (`until[0]` set) and nothing came for
    QUIET seconds, or TAIL seconds after it."""
    reader, writer = await asyncio.open_connection(host, port)
    # A TAK client announces itself with its own position first (FreeTAKServer relays only to
    # clients it has seen one from).
    wall = time.time()
    writer.write(
        EVENT.format(
            uid=f"bench-listener-{index}", t=stamp(wall), stale=stamp(wall + 600),
            callsign=f"L{index}", ns="none",
        ).encode()
    )
    await writer.drain()
    buffer = b""
    latencies = stats["latencies"]
    times = stats["times"][index]
    last = time.perf_counter()
    while True:
        now = time.perf_counter()
        if stop_at is not None and now >= stop_at:
            break
        if until[0] is not None and (now - last >= QUIET or now >= until[0] + TAIL):
            break
        try:
            chunk = await asyncio.wait_for(reader.read(1 << 16), timeout=0.5)
        except asyncio.TimeoutError:
            continue
        if not chunk:
            break
        buffer += chunk
        now_ns = time.time_ns()
        now = time.perf_counter()
        start = 0
        while True:
            end = buffer.find(b"</event>", start)
            if end < 0:
                break
            open_tag = buffer.find(b"<event", start, end)
            tag_end = buffer.find(b">", open_tag)
            own_type = buffer.find(b'type="a-f-G-U-C"', open_tag, tag_end) if open_tag >= 0 else -1
            sent_at = buffer.find(b"sent_ns=", start, end)
            value = buffer[sent_at + 8 : buffer.find(b"<", sent_at)] if sent_at >= 0 else b""
            value = value.split(b'"', 1)[0]
            if own_type >= 0 and value.isdigit():
                ns = int(value)
                latencies.append((now_ns - ns) / 1e6)
                times.append(now)
                stats["seen"][index] += 1
                last = now
            start = end + 8
        buffer = buffer[start:]
    writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--senders", type=int, default=5)
    p.add_argument("--listeners", type=int, default=50)
    p.add_argument("--rate", type=float, default=40.0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--overload", type=float, default=1.0)
    p.add_argument("--drop-one", action="store_true")
    a = p.parse_args()
    stats = {
        "latencies": [],
        "times": [[] for _ in range(a.listeners)],
        "seen": [0] * a.listeners,
        "errors": 0,
    }
    start = time.perf_counter()
    until = [None]  # set when the senders are done
    listeners = []
    for i in range(a.listeners):
        stop_at = start + 1 + a.seconds / 2 if a.drop_one and i == 0 else None
        listeners.append(asyncio.create_task(listener(a.host, a.port, i, stats, stop_at, until)))
    await asyncio.sleep(1)  # every listener connected before the load starts
    sent = [0] * a.senders
    errors = [0]
    starts = [None] * a.senders
    await asyncio.gather(
        *(
            sender(a.host, a.port, i, a.rate * a.overload, a.seconds, sent, errors, starts)
            for i in range(a.senders)
        )
    )
    # The load starts when the first sender streams (after the server's first answer).
    load_start = min((t for t in starts if t is not None), default=time.perf_counter())
    until[0] = time.perf_counter()
    await asyncio.gather(*listeners)
    delivered = sum(stats["seen"])
    last_delivery = max((t for ts in stats["times"] for t in ts), default=load_start)
    span = max(a.seconds, last_delivery - load_start)
    # Each listener should see every sender's events (a relay does not echo to the sender,
    # and the senders are not listeners). The dropped listener is expected to see half.
    full = a.listeners - (1 if a.drop_one else 0)
    expected = sum(sent) * full + (sum(sent) / 2 if a.drop_one else 0)
    lat = sorted(stats["latencies"]) or [float("nan")]
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    figures = {
        "senders": a.senders,
        "listeners": a.listeners,
        "offered_per_s": round(a.senders * a.rate * a.overload, 1),
        "sent": sum(sent),
        "delivered": delivered,
        "delivered_per_s": round(delivered / span, 1),
        "last_delivery_s": round(last_delivery - load_start, 1),
        "expected": int(expected),
        "loss": round(1 - delivered / expected, 4) if expected else float("nan"),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "connections_lost": errors[0] + stats["errors"],
    }
    if a.drop_one:
        mid = load_start + a.seconds / 2
        others = [t for i in range(1, a.listeners) for t in stats["times"][i]]
        before = sum(1 for t in others if load_start + 1 <= t < mid)
        after = sum(1 for t in others if mid + 1 <= t < load_start + a.seconds)
        span_before = max(1e-9, mid - (load_start + 1))
        span_after = max(1e-9, load_start + a.seconds - (mid + 1))
        figures["after_drop"] = (
            round((after / span_after) / (before / span_before), 3) if before else float("nan")
        )
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    asyncio.run(main())
