"""Dashboards, TAK clients and intake on one server at once: does any subscriber starve?

  python sse_load.py URL TOKEN PID [--subscribers N] [--stalled K] [--tak HOST:PORT]
                     [--tak-clients T] [--rate R] [--seconds S]

- N server-sent-event subscribers (GET /api/events?access_token=TOKEN) read every event and
  count the `incident` events and the events reported missed (`lagged`); K more connect and
  never read a byte (a dashboard on a dead link);
- T TAK clients (when --tak is given) each send their position every second and read what the
  server relays;
- intake: batches of 10 observations POSTed at R observations per second in all, spread over
  the demo area so they create and revise incidents;
- the server's resident memory (VmRSS of PID) is sampled every 10 s.

After S seconds intake stops; the subscribers get 5 s to drain. Prints key=value figures: the
observations acknowledged, the incident events the record produced (the most any subscriber
saw), the fewest, median and most each reading subscriber received, how many reported any
missed, the TAK messages sent and received, the RSS samples in MiB, and the growth from the
sample at 1/4 of the run to the last.
"""

import argparse
import asyncio
import json
import statistics
import time
import urllib.parse
import uuid

from tak_soak import rss_mib, stamp  # the same directory

EVENT = (
    '<event version="2.0" uid="load-{i}" type="a-f-G-U-C" how="m-g" time="{t}" start="{t}" '
    'stale="{stale}"><point lat="{lat}" lon="46.6" hae="900" ce="5" le="9"/><detail>'
    '<contact callsign="load-{i}" endpoint="*:-1:stcp"/><takv platform="bench" version="1"/>'
    "</detail></event>"
)


async def http_head(reader):
    """Reads a response head; answers the status and the headers (lower-case names)."""
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return status, headers
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()


async def subscriber(host, port, token, counts, i, ready):
    """Reads the event stream (chunked) and counts incident and lagged events."""
    reader, writer = await asyncio.open_connection(host, port)
    path = "/api/events?access_token=" + urllib.parse.quote(token)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status, _ = await http_head(reader)
    if status != 200:
        raise RuntimeError(f"subscriber {i}: HTTP {status}")
    ready.release()
    kind = None
    buffered = b""
    try:
        while True:
            # Chunked transfer: a size line, the chunk, CRLF.
            size_line = await reader.readline()
            if not size_line:
                return
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                return
            buffered += await reader.readexactly(size)
            await reader.readexactly(2)
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                if line.startswith(b"event:"):
                    kind = line[6:].strip()
                elif line.startswith(b"data:") and kind == b"incident":
                    counts[i][0] += 1
                elif line.startswith(b"data:") and kind == b"lagged":
                    counts[i][1] += int(line[5:].strip())
                elif line == b"":
                    kind = None
    except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def stalled(host, port, token, held):
    """Subscribes, then never reads."""
    reader, writer = await asyncio.open_connection(host, port)
    path = "/api/events?access_token=" + urllib.parse.quote(token)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    held.append(writer)


async def tak_client(host, port, i, until, sent, received):
    reader, writer = await asyncio.open_connection(host, port)

    async def drain():
        try:
            while chunk := await reader.read(65536):
                received[0] += chunk.count(b"</event>")
        except (ConnectionError, asyncio.CancelledError):
            pass

    task = asyncio.create_task(drain())
    await asyncio.sleep((i % 100) / 100)
    while time.perf_counter() < until:
        now = time.time()
        lat = 40.2 + (i % 50) * 0.001
        writer.write(EVENT.format(i=i, t=stamp(now), stale=stamp(now + 30), lat=lat).encode())
        await writer.drain()
        sent[0] += 1
        await asyncio.sleep(1)
    task.cancel()
    writer.close()


async def intake(host, port, token, rate, until, acked, refused):
    """POSTs batches of 10 at `rate` observations per second on one keep-alive connection."""
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    started = time.perf_counter()
    while time.perf_counter() < until:
        batch = []
        for _ in range(10):
            n += 1
            batch.append({
                "client_id": str(uuid.uuid4()),
                "kind": "explosion",
                "subkind": "impact",
                "observed_at": stamp(time.time() - 5),
                "reporter": "load",
                "geometry": {"type": "position", "lat": 39.9 + (n % 97) * 0.002,
                             "lon": 46.5 + (n % 89) * 0.003, "accuracy_m": 300.0},
            })
        body = json.dumps(batch).encode()
        writer.write(
            f"POST /api/observations HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        await writer.drain()
        status, headers = await http_head(reader)
        await reader.readexactly(int(headers.get("content-length", "0")))
        if status == 201:
            acked[0] += 10
        else:
            refused[0] += 1
        # Hold the asked rate: the next batch when its time comes.
        due = started + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("token", help="an observer's token (it reads the events too)")
    p.add_argument("pid", type=int)
    p.add_argument("--subscribers", type=int, default=200)
    p.add_argument("--stalled", type=int, default=5)
    p.add_argument("--tak", default=None, help="HOST:PORT of the CoT TCP listener")
    p.add_argument("--tak-clients", type=int, default=50)
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--seconds", type=float, default=60)
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.url)
    host, port = u.hostname, u.port

    counts = [[0, 0] for _ in range(a.subscribers)]
    ready = asyncio.Semaphore(0)
    subs = [asyncio.create_task(subscriber(host, port, a.token, counts, i, ready))
            for i in range(a.subscribers)]
    for _ in range(a.subscribers):
        await ready.acquire()
    held = []
    for _ in range(a.stalled):
        await stalled(host, port, a.token, held)

    until = time.perf_counter() + a.seconds
    acked, refused, sent, received = [0], [0], [0], [0]
    work = [asyncio.create_task(intake(host, port, a.token, a.rate, until, acked, refused))]
    if a.tak:
        tak_host, tak_port = a.tak.rsplit(":", 1)
        work += [asyncio.create_task(tak_client(tak_host, int(tak_port), i, until, sent, received))
                 for i in range(a.tak_clients)]
    samples = [round(rss_mib(a.pid), 1)]
    while time.perf_counter() < until:
        await asyncio.sleep(min(10, max(0.1, until - time.perf_counter())))
        samples.append(round(rss_mib(a.pid), 1))
    await asyncio.gather(*work)
    await asyncio.sleep(5)
    for s in subs:
        s.cancel()
    await asyncio.gather(*subs, return_exceptions=True)
    for w in held:
        w.close()

    got = sorted(c[0] for c in counts)
    quarter = samples[len(samples) // 4]
    print(
        f"seconds={a.seconds:g} observations_acked={acked[0]} batches_refused={refused[0]} "
        f"subscribers={a.subscribers} stalled={a.stalled} events_produced={got[-1]} "
        f"events_min={got[0]} events_median={statistics.median(got):g} events_max={got[-1]} "
        f"subscribers_missing_any={sum(1 for c in counts if c[0] < got[-1])} "
        f"subscribers_told_lagged={sum(1 for c in counts if c[1] > 0)} "
        f"tak_clients={a.tak_clients if a.tak else 0} tak_sent={sent[0]} tak_received={received[0]} "
        f"rss_mib={','.join(map(str, samples))} growth_mib={round(samples[-1] - quarter, 1)}"
    )


if __name__ == "__main__":
    asyncio.run(main())
