// Reports an observer made that wait for the network: kept in the browser (localStorage) with
// the client id each got when made, sent oldest first when the center answers, and never
// recorded twice (the center returns the original ids for a client id it already holds).

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A report waiting to be sent. */
export interface Pending { client_id: string; observation: Json; queued_at: string }
/** A report the center answered: recorded (its observation id) or refused (why). */
export interface Answered { client_id: string; id?: number; error?: string; at: string }

const PENDING = "truce.outbox";
const ANSWERED = "truce.outbox.answered";

function read<T>(key: string): T[] {
  try { return JSON.parse(localStorage.getItem(key) ?? "[]"); } catch { return []; }
}
function write(key: string, value: unknown) {
  localStorage.setItem(key, JSON.stringify(value));
}

export function pending(): Pending[] { return read<Pending>(PENDING); }
export function answered(): Answered[] { return read<Answered>(ANSWERED); }

/** Keeps `observation` to be sent, with a fresh client id. */
export function enqueue(observation: Json): Pending {
  const client_id = crypto.randomUUID();
  const p = { client_id, observation: { ...observation, client_id }, queued_at: new Date().toISOString() };
  write(PENDING, [...pending(), p]);
  return p;
}

let flushing = false;

/** Sends what waits, oldest first, until the network or the center fails; what the center
 * answers (recorded or refused) leaves the queue. Safe to call often. */
export async function flush(token: string): Promise<void> {
  if (flushing || !token) return;
  flushing = true;
  try {
    for (const p of pending()) {
      let r: Response;
      try {
        r = await fetch("/api/observations", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(p.observation),
        });
      } catch {
        return; // no network: later
      }
      // The center's trouble, or the sign-in's: keep it and try later.
      if (r.status >= 500 || r.status === 401 || r.status === 429) return;
      const body = await r.json().catch(() => ({}));
      const at = new Date().toISOString();
      const entry: Answered = r.ok
        ? { client_id: p.client_id, id: body?.accepted?.[0]?.id, at }
        : { client_id: p.client_id, error: body?.error?.message ?? String(r.status), at };
      write(PENDING, pending().filter((x) => x.client_id !== p.client_id));
      write(ANSWERED, [entry, ...answered()].slice(0, 20));
    }
  } finally {
    flushing = false;
  }
}
