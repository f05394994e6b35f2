"""Many TAK clients held for a while: memory of the server over time.

  python tak_soak.py HOST PORT PID [--clients N] [--seconds S] [--every E]

N clients connect (at most 100 at once), each sends its position every E seconds and reads
whatever the server relays, for S seconds. The server's resident memory (VmRSS of PID) is
sampled every 10 s. Prints one line: clients held, messages sent, the RSS samples in MiB, and
the growth from the first sample after everyone connected to the last.
"""

import argparse
import asyncio
import time

EVENT = (
    '<event version="2.0" uid="soak-{i}" type="a-f-G-U-C" how="m-g" time="{t}" start="{t}" '
    'stale="{stale}"><point lat="40.2" lon="46.6" hae="900" ce="5" le="9"/><detail>'
    '<contact callsign="soak-{i}" endpoint="*:-1:stcp"/><takv platform="bench" version="1"/>'
    "</detail></event>"
)


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def client(host, port, i, every, until, sent, held, gate):
    async with gate:
        reader, writer = await asyncio.open_connection(host, port)
    held[0] += 1

    async def drain():
        try:
            while await reader.read(65536):
                pass
        except (ConnectionError, asyncio.CancelledError):
            pass

    task = asyncio.create_task(drain())
    await asyncio.sleep((i % 100) * every / 100)
    while time.perf_counter() < until:
        now = time.time()
        writer.write(EVENT.format(i=i, t=stamp(now), stale=stamp(now + 3 * every)).encode())
        await writer.drain()
        sent[0] += 1
        await asyncio.sleep(every)
    task.cancel()
    writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("pid", type=int)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--every", type=float, default=10)
    a = p.parse_args()
    sent, held = [0], [0]
    gate = asyncio.Semaphore(100)
    until = time.perf_counter() + a.seconds
    tasks = [
        asyncio.create_task(client(a.host, a.port, i, a.every, until, sent, held, gate))
        for i in range(a.clients)
    ]
    samples = []
    while time.perf_counter() < until:
        await asyncio.sleep(10)
        samples.append(round(rss_mib(a.pid), 1))
    await asyncio.gather(*tasks, return_exceptions=True)
    growth = samples[-1] - samples[1] if len(samples) > 2 else float("nan")
    print(
        f"clients={held[0]} sent={sent[0]} rss_mib={','.join(map(str, samples))} "
        f"growth_mib={round(growth, 1)}"
    )


if __name__ == "__main__":
    asyncio.run(main())
