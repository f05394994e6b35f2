// The truce dashboard: a live map of the agreement's zones and the center's incidents, the
// reports behind the selected one, and what the signed-in member may do (assess, regroup,
// report). Everything comes from truce's own API; the map needs no tile server.
import maplibregl from "maplibre-gl";
import { forward as toMgrs, toPoint } from "mgrs";
import { i18n, Lang } from "./i18n";
import * as outbox from "./outbox";

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const state = {
  token: localStorage.getItem("truce.token") ?? "",
  lang: (localStorage.getItem("truce.lang") as Lang) ?? "en",
  me: null as null | { user: string; monitor: string; role: string },
  incidents: new Map<number, Json>(),
  selected: null as null | number,
  agreedSize: 0,
  clickedAt: null as null | { lat: number; lon: number },
  source: null as null | EventSource,
  /** Signed in and loaded: the agreement, the incidents and the live stream. */
  ready: false,
  clauses: [] as string[][],
  sides: [] as string[][],
  /** Devices whose tracks the map shows. */
  trackCount: 0,
};

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const t = (key: string) => i18n[state.lang][key] ?? key;
const esc = (s: unknown) =>
  String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

async function api(path: string, init: RequestInit = {}): Promise<Json> {
  const headers = new Headers(init.headers);
  if (state.token) headers.set("authorization", `Bearer ${state.token}`);
  if (init.body) headers.set("content-type", "application/json");
  const r = await fetch(path, { ...init, headers });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body?.error?.message ?? `${r.status}`);
  return body;
}

// ---------- map ----------

const empty = { type: "FeatureCollection", features: [] } as GeoJSON.FeatureCollection;
const map = new maplibregl.Map({
  container: "map",
  style: {
    version: 8,
    sources: {},
    layers: [{ id: "bg", type: "background", paint: { "background-color": "#dfe9f2" } }],
  },
  center: [46.7, 40.0],
  zoom: 8,
  attributionControl: false,
});
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
(window as Json).__truce = { map, state, select: (id: number) => select(id), outbox, loadTracks: () => loadTracks(), coverage: 0 };

const SIDE_COLORS: Json = ["match", ["get", "side"], "a", "#2b6cb0", "b", "#c05621", "#666"];
const STATUS_COLORS: Json = [
  "match", ["get", "status"],
  "jointly_confirmed", "#1b7f3b", "disputed", "#b3261e", "under_review", "#b26a00",
  "undetermined", "#6b6b6b", "#1d2330",
];

map.on("load", async () => {
  const countries = await (await fetch("/countries.json")).json();
  map.addSource("countries", { type: "geojson", data: countries });
  map.addLayer({ id: "land", type: "fill", source: "countries", paint: { "fill-color": "#f4f1ea" } });
  map.addLayer({ id: "borders", type: "line", source: "countries", paint: { "line-color": "#9a9a9a", "line-width": 0.8 } });
  for (const id of ["zones", "coverage", "tracks", "track-heads", "ellipses", "incidents", "rays", "sensors", "clicked"]) {
    map.addSource(id, { type: "geojson", data: empty });
  }
  map.addLayer({ id: "zone-areas", type: "fill", source: "zones", filter: ["in", ["get", "kind"], ["literal", ["controlled_by", "buffer", "corridor", "exclusion", "area_of_responsibility"]]],
    paint: { "fill-color": ["match", ["get", "kind"], "controlled_by", SIDE_COLORS, "corridor", "#2f855a", "exclusion", "#9b2c2c", "buffer", "#d69e2e", "#a0aec0"],
      "fill-opacity": ["match", ["get", "kind"], "controlled_by", 0.12, "area_of_responsibility", 0.0, 0.18] } });
  map.addLayer({ id: "zone-edges", type: "line", source: "zones", filter: ["!=", ["get", "kind"], "area_of_responsibility"],
    paint: { "line-color": ["match", ["get", "kind"], "line_of_contact", "#111", "exclusion", "#9b2c2c", "corridor", "#2f855a", SIDE_COLORS],
      "line-width": ["match", ["get", "kind"], "line_of_contact", 2.5, 1] } });
  map.addLayer({ id: "aor-edges", type: "line", source: "zones", filter: ["==", ["get", "kind"], "area_of_responsibility"],
    paint: { "line-color": "#6b46c1", "line-width": 1, "line-dasharray": [2, 2] } });
  // Coverage: the 10 km hearing range of every place a monitor was present in the last 24 h.
  map.addLayer({ id: "coverage", type: "fill", source: "coverage",
    paint: { "fill-color": "#38a169", "fill-opacity": 0.06, "fill-outline-color": "#2f855a" } });
  // The monitors' own patrols and UAVs: where they went, and where each was last.
  map.addLayer({ id: "track-lines", type: "line", source: "tracks",
    paint: { "line-color": "#0f766e", "line-width": 2, "line-opacity": 0.8 } });
  map.addLayer({ id: "track-heads", type: "circle", source: "track-heads",
    paint: { "circle-radius": 4, "circle-color": "#0f766e", "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
  map.addLayer({ id: "ellipse-fill", type: "fill", source: "ellipses", paint: { "fill-color": STATUS_COLORS, "fill-opacity": 0.12 } });
  map.addLayer({ id: "ellipse-line", type: "line", source: "ellipses", paint: { "line-color": STATUS_COLORS, "line-width": 1 } });
  map.addLayer({ id: "rays", type: "line", source: "rays", paint: { "line-color": "#553c9a", "line-width": 1.5, "line-dasharray": [3, 2] } });
  map.addLayer({ id: "sensors", type: "circle", source: "sensors", paint: { "circle-radius": 5, "circle-color": "#553c9a", "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
  map.addLayer({ id: "incidents", type: "circle", source: "incidents",
    paint: { "circle-radius": ["match", ["get", "kind"], "explosion", 7, "access_denial", 7, 5],
      "circle-color": STATUS_COLORS, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
  map.addLayer({ id: "clicked", type: "circle", source: "clicked", paint: { "circle-radius": 6, "circle-color": "#000" } });
  map.on("click", "incidents", (e) => {
    const id = e.features?.[0]?.properties?.id;
    if (id) select(Number(id));
  });
  map.on("click", (e) => {
    state.clickedAt = { lat: e.lngLat.lat, lon: e.lngLat.lng };
    (map.getSource("clicked") as maplibregl.GeoJSONSource).setData(point(e.lngLat.lng, e.lngLat.lat, {}));
    renderActions();
  });
  map.on("mousemove", (e) => {
    let mgrs = "";
    try { mgrs = toMgrs([e.lngLat.lng, e.lngLat.lat], 5); } catch { /* outside MGRS */ }
    $("cursor").textContent = `${e.lngLat.lat.toFixed(5)}, ${e.lngLat.lng.toFixed(5)}  ${mgrs}`;
  });
  // A first-look link (`truce demo` prints one) carries a token in the fragment, which never
  // reaches a server: sign in with it and take it out of the address bar.
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromLink) {
    history.replaceState(null, "", location.pathname + location.search);
    state.token = fromLink;
  }
  if (state.token) await signIn(state.token);
});

/** Today's report's query: the period ends at the next whole minute, so what came in this
 *  minute is in it. */
function todaysReport(): string {
  const now = new Date(Date.now() + 60_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())}`;
  const cutoff = `${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}`;
  return `/api/reports/daily?date=${date}&cutoff=${cutoff}&lang=${state.lang}`;
}

/** Issues today's report as the signed-in officer: its hash goes on the record. */
async function issueReport() {
  try {
    const r = await api(todaysReport(), { method: "POST" });
    status(`${t("issued")} ${r.entry} (sha256 ${String(r.sha256).slice(0, 16)}…)`);
  } catch (e) {
    status(`${t("issue_report")}: ${e}`);
  }
}

/** Opens today's daily report (period ending now) in a new tab, fetched with the token. */
async function openReport() {
  const tab = window.open("", "_blank");
  try {
    const r = await fetch(todaysReport(),
      { headers: { authorization: `Bearer ${state.token}` } });
    const html = await r.text();
    const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
    if (tab) tab.location.href = url; else location.href = url;
  } catch (e) {
    tab?.close();
    status(`${t("report")}: ${e}`);
  }
}
(window as Json).__truce.openReport = openReport;
(window as Json).__truce.issueReport = issueReport;

function point(lon: number, lat: number, props: Json): GeoJSON.FeatureCollection {
  return { type: "FeatureCollection", features: [{ type: "Feature", properties: props, geometry: { type: "Point", coordinates: [lon, lat] } }] };
}

/** The 95% ellipse as a polygon: semi-axes in metres, major axis azimuth from north. */
function ellipse(lat: number, lon: number, e: Json): number[][] {
  const mPerLat = 111_132, mPerLon = 111_320 * Math.cos((lat * Math.PI) / 180);
  const az = (e.azimuth_deg * Math.PI) / 180;
  const ring: number[][] = [];
  for (let k = 0; k <= 48; k++) {
    const a = (2 * Math.PI * k) / 48;
    const along = e.semi_major_m * Math.cos(a), across = e.semi_minor_m * Math.sin(a);
    const east = along * Math.sin(az) + across * Math.cos(az);
    const north = along * Math.cos(az) - across * Math.sin(az);
    ring.push([lon + east / mPerLon, lat + north / mPerLat]);
  }
  return ring;
}

/** The point `d` metres from (lat, lon) along `azDeg` (flat-earth: fine for rays of a few km). */
function along(lat: number, lon: number, azDeg: number, d: number): number[] {
  const az = (azDeg * Math.PI) / 180;
  return [lon + (d * Math.sin(az)) / (111_320 * Math.cos((lat * Math.PI) / 180)), lat + (d * Math.cos(az)) / 111_132];
}

// ---------- incidents ----------

function cutoff(): number {
  const times = [...state.incidents.values()].map((i) => Date.parse(i.first_seen));
  if (times.length === 0) return Infinity;
  const lo = Math.min(...times), hi = Math.max(...times);
  const v = Number(($("f-time") as HTMLInputElement).value);
  const at = v >= 1000 ? Infinity : lo + ((hi - lo) * v) / 1000;
  $("f-time-label").textContent = at === Infinity ? t("live") : new Date(at).toISOString().slice(0, 16).replace("T", " ");
  return at;
}

function visible(): Json[] {
  const value = (id: string) => ($(id) as HTMLSelectElement).value;
  const [kind, status, clause, side] = ["f-kind", "f-status", "f-clause", "f-side"].map(value);
  const until = cutoff();
  return [...state.incidents.values()].filter((i) =>
    i.status !== "merged" && (!kind || i.kind === kind) && (!status || i.status === status)
    && (!clause || (i.findings ?? []).some((f: Json) => f.clause_id === clause))
    && (!side || i.attribution?.side === side)
    && Date.parse(i.first_seen) <= until);
}

function renderIncidents() {
  if (!map.getSource("incidents")) return;
  const shown = visible();
  const located = shown.filter((i) => i.position);
  (map.getSource("incidents") as maplibregl.GeoJSONSource).setData({
    type: "FeatureCollection",
    features: located.map((i) => ({ type: "Feature", properties: { id: i.id, kind: i.kind, status: i.status, label: `#${i.id}` },
      geometry: { type: "Point", coordinates: [i.position.lon, i.position.lat] } })),
  });
  (map.getSource("ellipses") as maplibregl.GeoJSONSource).setData({
    type: "FeatureCollection",
    features: located.filter((i) => i.ellipse_95).map((i) => ({ type: "Feature", properties: { id: i.id, status: i.status },
      geometry: { type: "Polygon", coordinates: [ellipse(i.position.lat, i.position.lon, i.ellipse_95)] } })),
  });
  const feed = $("feed-list");
  feed.innerHTML = shown.sort((a, b) => Date.parse(b.last_seen) - Date.parse(a.last_seen)).slice(0, 60).map((i) =>
    `<li data-id="${i.id}"><span class="status-${esc(i.status)}">#${i.id}</span> ${esc(t("kind_" + i.kind))} · ${esc(t("status_" + i.status))} · ${esc(i.last_seen.slice(11, 19))}</li>`).join("");
}

async function loadIncidents() {
  const list = await api("/api/incidents?limit=2000");
  for (const i of list.incidents) state.incidents.set(i.id, i);
  renderIncidents();
}

function listen() {
  state.source?.close();
  const source = new EventSource(`/api/events?access_token=${encodeURIComponent(state.token)}`);
  source.addEventListener("incident", async (e) => {
    const ev = JSON.parse((e as MessageEvent).data);
    const known = state.incidents.get(ev.id);
    state.incidents.set(ev.id, { ...(known ?? { assessments: [], annotations: [], observation_ids: [] }), ...ev, id: ev.id });
    renderIncidents();
    if (state.selected === ev.id) await select(ev.id);
  });
  state.source = source;
}

async function select(id: number) {
  state.selected = id;
  const i = await api(`/api/incidents/${id}`);
  state.incidents.set(id, i);
  const obs = await Promise.all(i.observation_ids.slice(0, 50).map((o: number) => api(`/api/observations/${o}`)));
  const rays: GeoJSON.Feature[] = [], sensors: GeoJSON.Feature[] = [];
  for (const o of obs) {
    const g = o.geometry;
    if (g.type === "bearing") {
      const reach = g.distance_max_m ?? 15_000;
      rays.push({ type: "Feature", properties: {}, geometry: { type: "LineString",
        coordinates: [[g.observer.lon, g.observer.lat], along(g.observer.lat, g.observer.lon, g.bearing_deg, reach)] } });
      sensors.push({ type: "Feature", properties: { what: "observer" }, geometry: { type: "Point", coordinates: [g.observer.lon, g.observer.lat] } });
    } else if (g.type === "arrival") {
      sensors.push({ type: "Feature", properties: { what: "sensor" }, geometry: { type: "Point", coordinates: [g.sensor.lon, g.sensor.lat] } });
    } else if (g.type === "uav") {
      sensors.push({ type: "Feature", properties: { what: "uav" }, geometry: { type: "Point", coordinates: [g.aircraft.lon, g.aircraft.lat] } });
      if (i.position) rays.push({ type: "Feature", properties: {}, geometry: { type: "LineString",
        coordinates: [[g.aircraft.lon, g.aircraft.lat], [i.position.lon, i.position.lat]] } });
    }
  }
  (map.getSource("rays") as maplibregl.GeoJSONSource).setData({ type: "FeatureCollection", features: rays });
  (map.getSource("sensors") as maplibregl.GeoJSONSource).setData({ type: "FeatureCollection", features: sensors });
  (window as Json).__truce.selectedRays = rays.length;
  // Show what produced the estimate: the incident and every observer, sensor and aircraft.
  const points = [...sensors.map((f) => (f.geometry as GeoJSON.Point).coordinates)];
  if (i.position) points.push([i.position.lon, i.position.lat]);
  if (points.length > 0) {
    const lons = points.map((p) => p[0]), lats = points.map((p) => p[1]);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
      { padding: 80, maxZoom: 13, duration: 0 });
  }
  renderIncident(i, obs);
  renderActions();
  renderIncidents();
  await renderEvidence(obs);
}

/** Each file the observations cite, beside them: its chain of custody as the record tells it
 * (who handed it in, when the center received it) and, apart, what the device claimed. */
async function renderEvidence(obs: Json[]) {
  const cited = obs.flatMap((o) => (o.evidence ?? []).map((e: Json) => ({ o: o.id, ...e })));
  const box = document.getElementById("evidence");
  if (!box) return;
  if (cited.length === 0) { box.innerHTML = t("none"); return; }
  const items = await Promise.all(cited.slice(0, 20).map(async (e: Json) => {
    // A 404 means the center holds no such file; any other failure is only that: a failure.
    const custody = await api(`/api/evidence/${e.sha256}/custody`).catch((err: Error) =>
      ({ custody: [], failed: !/no evidence/.test(err.message) }));
    const links = (custody.custody ?? []).map((c: Json) => {
      const claimed = c.claimed && Object.keys(c.claimed).length > 0
        ? ` · <i>${esc(t("claimed"))}: ${esc([c.claimed.captured_at, c.claimed.lat !== undefined ? `${c.claimed.lat}, ${c.claimed.lon}` : "", c.claimed.device].filter(Boolean).join(" · "))}</i>` : "";
      return `<div class="custody">${esc(t("handed_in"))} ${esc(c.by)} (${esc(c.monitor)}) · ${esc(String(c.received_at).slice(0, 19))} · ${esc(t("entry"))} ${c.entry}${claimed}</div>`;
    }).join("");
    return `<li>#${e.o} · <a href="#" data-evidence="${esc(e.sha256)}" data-type="${esc(e.media_type)}">${esc(e.name ?? e.sha256.slice(0, 12))}</a> (${esc(e.media_type)}) <code>${esc(e.sha256.slice(0, 16))}…</code>${links || `<div class="custody">${esc(t(custody.failed ? "custody_unreadable" : "not_held"))}</div>`}</li>`;
  }));
  box.innerHTML = `<ul>${items.join("")}</ul>`;
  box.querySelectorAll<HTMLAnchorElement>("a[data-evidence]").forEach((a) => a.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const r = await fetch(`/api/evidence/${a.dataset.evidence}`, { headers: { authorization: `Bearer ${state.token}` } });
    if (!r.ok) return;
    const url = URL.createObjectURL(await r.blob());
    const link = document.createElement("a");
    link.href = url; link.download = a.textContent ?? "evidence"; link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }));
}

function renderIncident(i: Json, obs: Json[]) {
  const box = $("incident");
  box.hidden = false;
  const pos = i.position
    ? `${i.position.lat.toFixed(5)}, ${i.position.lon.toFixed(5)}<br>${esc(i.position.mgrs)}`
    : t("no_position");
  const ell = i.ellipse_95 ? `${Math.round(i.ellipse_95.semi_major_m)} × ${Math.round(i.ellipse_95.semi_minor_m)} m, ${Math.round(i.ellipse_95.azimuth_deg)}°` : "—";
  const findings = (i.findings ?? []).map((f: Json) => `<li>${esc(t("clause"))} ${esc(f.clause_id)}: ${esc(f.reason)}</li>`).join("") || `<li>${t("none")}</li>`;
  const assessments = (i.assessments ?? []).map((a: Json) =>
    `<div class="assessment ${a.current ? "" : "old"}"><b>${esc(a.monitor)}</b> ${esc(t("verdict_" + a.verdict))} — ${esc(a.reason)} <small>(${esc(a.user)}${a.current ? "" : ", " + t("superseded")})</small></div>`).join("") || t("none");
  // Observations the estimate left out (echoes, longer paths, misread bearings), with why.
  const setAside = new Map<number, string>((i.excluded ?? []).map((x: Json) => [x.observation_id, x.reason]));
  const entries = obs.map((o) => {
    const why = setAside.get(o.id);
    const aside = why === undefined ? "" : ` · <i class="set-aside">${esc(t("set_aside"))}: ${esc(why)}</i>`;
    return `<li>#${o.id} ${esc(t("geom_" + o.geometry.type))} · ${esc(o.reporter)} · ${esc(String(o.observed_at).slice(11, 19))} · ${esc(t("entry"))} ${o.entry_index} · ${o.entry_index < state.agreedSize ? t("agreed") : t("not_yet_agreed")}${aside}</li>`;
  }).join("");
  box.innerHTML = `<h3>${t("incident")} #${i.id} · ${esc(t("kind_" + i.kind))}</h3>
    <table class="kv">
      <tr><td>${t("status")}</td><td class="status-${esc(i.status)}" id="incident-status">${esc(t("status_" + i.status))}</td></tr>
      <tr><td>${t("position")}</td><td>${pos}</td></tr>
      <tr><td>${t("ellipse")}</td><td>${ell}</td></tr>
      <tr><td>${t("method")}</td><td>${i.unresolved ? esc(t("unresolved")) : i.saturated ? `${esc(t("saturated"))} ${esc(String(i.saturated))}` : esc(i.method ?? "—")}</td></tr>
      <tr><td>${t("time")}</td><td>${esc(i.first_seen)} – ${esc(i.last_seen)}</td></tr>
      <tr><td>${t("attribution")}</td><td>${esc(i.attribution.side === "undetermined" ? t("undetermined") : i.attribution.side)}: ${esc(i.attribution.reason)}</td></tr>
    </table>
    <h3>${t("findings")}</h3><ul>${findings}</ul>
    <h3>${t("assessments")}</h3><div id="assessments">${assessments}</div>
    <h3>${t("observations")}</h3><ul>${entries}</ul>
    <h3>${t("evidence")}</h3><div id="evidence">…</div>`;
}

// ---------- what the member may do ----------

function renderActions() {
  // Re-rendering (a revision arriving, the language switching) must not lose what was typed.
  const typed = (document.getElementById("reason") as HTMLTextAreaElement | null)?.value ?? "";
  renderActionsFor(state.me?.role);
  const reason = document.getElementById("reason") as HTMLTextAreaElement | null;
  if (reason) reason.value = typed;
}

function renderActionsFor(role: string | undefined) {
  const box = $("actions");
  box.hidden = !role;
  if (!role) return;
  if (role === "officer" && state.selected) {
    box.innerHTML = `<h3>${t("assess_for")} ${esc(state.me!.monitor)}</h3>
      <textarea id="reason" rows="2" placeholder="${t("reason")}"></textarea>
      <button data-verdict="confirm">${t("verdict_confirm")}</button>
      <button data-verdict="dispute">${t("verdict_dispute")}</button>
      <button data-verdict="undetermined">${t("verdict_undetermined")}</button>`;
    box.querySelectorAll("button[data-verdict]").forEach((b) => b.addEventListener("click", async () => {
      const reason = ($("reason") as HTMLTextAreaElement).value;
      try {
        await api(`/api/incidents/${state.selected}/assessments`, { method: "POST", body: JSON.stringify({ verdict: (b as HTMLElement).dataset.verdict, reason }) });
        await select(state.selected!);
      } catch (e) { status(String(e)); }
    }));
  } else if (role === "analyst" && state.selected) {
    box.innerHTML = `<h3>${t("regroup")}</h3>
      <input id="merge-into" placeholder="${t("merge_into")}"> <button id="merge">${t("merge")}</button><br>
      <input id="split-ids" placeholder="${t("split_ids")}"> <button id="split">${t("split")}</button><br>
      <textarea id="reason" rows="2" placeholder="${t("reason")}"></textarea>`;
    $("merge").addEventListener("click", () => act(`/api/incidents/${state.selected}/merge`, { into: Number(($("merge-into") as HTMLInputElement).value) }));
    $("split").addEventListener("click", () => act(`/api/incidents/${state.selected}/split`, {
      observation_ids: ($("split-ids") as HTMLInputElement).value.split(/[ ,]+/).filter(Boolean).map(Number) }));
  } else if (role === "observer") {
    const at = state.clickedAt;
    box.innerHTML = `<h3>${t("report")}</h3>
      <p>${at ? `${at.lat.toFixed(5)}, ${at.lon.toFixed(5)}` : t("click_map")}</p>
      <input id="r-mgrs" placeholder="MGRS" size="18"> <button id="r-mgrs-set">${t("use_mgrs")}</button><br>
      <select id="r-kind">${KINDS.map((k) => `<option value="${k}">${esc(t("kind_" + k))}</option>`).join("")}</select>
      <select id="r-geom"><option value="position">${t("position")}</option><option value="bearing">${t("bearing")}</option></select>
      <input id="r-bearing" placeholder="${t("bearing_deg")}" size="6"> <input id="r-dmin" placeholder="${t("dmin")}" size="6"> <input id="r-dmax" placeholder="${t("dmax")}" size="6">
      <input id="r-count" value="1" size="3"> <input id="r-weapon" placeholder="${t("weapon")}" size="10">
      <button id="r-send">${t("send")}</button>
      <div id="outbox"></div>`;
    $("r-send").addEventListener("click", () => report());
    renderOutbox();
    $("r-mgrs-set").addEventListener("click", () => {
      try {
        const [lon, lat] = toPoint(($("r-mgrs") as HTMLInputElement).value.replace(/\s+/g, ""));
        state.clickedAt = { lat, lon };
        (map.getSource("clicked") as maplibregl.GeoJSONSource).setData(point(lon, lat, {}));
        renderActions();
      } catch (e) { status(`MGRS: ${e}`); }
    });
  } else {
    box.hidden = true;
  }
}

async function act(path: string, body: Json) {
  const reason = ($("reason") as HTMLTextAreaElement).value;
  try {
    await api(path, { method: "POST", body: JSON.stringify({ ...body, reason }) });
    await loadIncidents();
    if (state.selected) await select(state.selected);
  } catch (e) { status(String(e)); }
}

async function report() {
  const at = state.clickedAt;
  if (!at) return status(t("click_map"));
  const val = (id: string) => ($(id) as HTMLInputElement).value.trim();
  const geom = val("r-geom");
  const geometry = geom === "bearing"
    ? { type: "bearing", observer: { lat: at.lat, lon: at.lon, accuracy_m: 10 }, bearing_deg: Number(val("r-bearing")), bearing_sigma_deg: 3,
        ...(val("r-dmin") ? { distance_min_m: Number(val("r-dmin")) } : {}), ...(val("r-dmax") ? { distance_max_m: Number(val("r-dmax")) } : {}) }
    : { type: "position", lat: at.lat, lon: at.lon, accuracy_m: 100 };
  const obs: Json = { kind: val("r-kind"), observed_at: new Date().toISOString(), reporter: state.me!.user, count: Number(val("r-count") || 1), geometry };
  if (val("r-weapon")) obs.weapon = val("r-weapon");
  // Every report goes through the outbox: with a network it leaves at once; without, it waits
  // in the browser with its client id and leaves when the center answers again.
  outbox.enqueue(obs);
  renderOutbox();
  await outbox.flush(state.token);
  renderOutbox();
  status(outbox.pending().length ? t("queued") : t("sent"));
}

/** The observer's reports: waiting for the network, then what the center answered. */
function renderOutbox() {
  const box = document.getElementById("outbox");
  if (!box) return;
  const waiting = outbox.pending();
  const done = outbox.answered();
  box.innerHTML = `<p>${t("waiting")}: <span id="outbox-pending">${waiting.length}</span></p>
    <ul>${waiting.map((p) => `<li>${esc(p.observation.kind)} · ${esc(p.queued_at.slice(11, 19))}</li>`).join("")}</ul>
    <ul id="outbox-answered">${done.map((a) => `<li data-client-id="${esc(a.client_id)}">${a.id !== undefined
      ? `${t("recorded_as")} #${a.id}` : `${t("refused")}: ${esc(a.error)}`} · ${esc(a.at.slice(11, 19))}</li>`).join("")}</ul>`;
}

async function flushOutbox() {
  if (!state.token || outbox.pending().length === 0) return;
  await outbox.flush(state.token);
  renderOutbox();
}

// ---------- ledger, sign-in, language ----------

async function ledger() {
  try {
    const l = await api("/api/ledger");
    state.agreedSize = l.agreed_size ?? 0;
    const witnesses = (l.witnesses ?? []).map((w: Json) =>
      `<li>${esc(w.monitor)}: ${w.cosigned_size ?? "—"} ${w.lag > 0 ? `(${t("lags")} ${w.lag})` : "✓"}</li>`).join("");
    $("ledger").innerHTML = `<h3>${t("ledger")}</h3>
      <table class="kv"><tr><td>${t("record_size")}</td><td>${l.size}</td></tr>
      <tr><td>${t("checkpoint")}</td><td>${l.checkpoint_size ?? "—"}</td></tr>
      <tr><td>${t("agreed")}</td><td id="agreed-size">${l.agreed_size ?? "—"}</td></tr></table>
      <ul>${witnesses}</ul>`;
  } catch { /* the ledger panel retries */ }
}

async function signIn(token: string) {
  state.token = token;
  try {
    state.me = await api("/api/me");
  } catch (e) {
    // No network: an observer signed in here before may still report; the reports wait.
    const cached = JSON.parse(localStorage.getItem("truce.me") ?? "null");
    if (e instanceof TypeError && cached && localStorage.getItem("truce.token") === token) {
      state.me = cached;
      $("whoami").textContent = `${state.me!.user} · ${state.me!.monitor} · ${t("role_" + state.me!.role)}`;
      $("signout").hidden = false;
  $("report").hidden = false;
  $("issue-report").hidden = state.me?.role !== "officer";
      renderActions();
      status(t("offline"));
      state.ready = true;
      return;
    }
    state.me = null;
    return status(`${t("signin_failed")}: ${e}`);
  }
  localStorage.setItem("truce.token", token);
  localStorage.setItem("truce.me", JSON.stringify(state.me));
  $("whoami").textContent = `${state.me!.user} · ${state.me!.monitor} · ${t("role_" + state.me!.role)}`;
  $("signout").hidden = false;
  $("report").hidden = false;
  $("issue-report").hidden = state.me?.role !== "officer";
  const a = await api("/api/agreement");
  $("agreement").textContent = a.name;
  const badge = $("illustrative");
  badge.hidden = !a.illustrative;
  badge.textContent = t("illustrative");
  (map.getSource("zones") as maplibregl.GeoJSONSource)?.setData(a.zones);
  state.clauses = (a.clauses ?? []).map((c: Json) => [c.id, c.title]);
  state.sides = (a.sides ?? []).map((x: Json) => [x.id, x.name]);
  translate();
  await loadIncidents();
  await loadTracks();
  await loadCoverage();
  listen();
  renderActions();
  status("");
  state.ready = true;
}

/** Shades where the monitors could have heard explosions in the last 24 hours, and says how
 * much of each area of responsibility that covered (GET /api/coverage). */
async function loadCoverage() {
  if (!state.me) return;
  let fc: Json;
  try {
    fc = await api("/api/coverage");
  } catch {
    return;
  }
  (map.getSource("coverage") as maplibregl.GeoJSONSource)?.setData(fc);
  const line = (fc.areas ?? []).map((a: Json) =>
    `${a.name}: ${Math.round(100 * (a.covered.explosions ?? 0))}% / ${Math.round(100 * (a.covered.small_arms ?? 0))}%`).join(" · ");
  $("coverage-line").textContent = line ? `${t("coverage")}: ${line}` : "";
  (window as Json).__truce.coverage = fc.features?.length ?? 0;
}

/** Draws the last 24 hours of the monitors' teams' tracks (GET /api/tracks). */
async function loadTracks() {
  if (!state.me) return;
  let fc: Json;
  try {
    fc = await api("/api/tracks");
  } catch {
    return; // offline: the map keeps what it showed
  }
  const heads = (fc.features ?? []).map((f: Json) => {
    const c = f.geometry.type === "Point" ? f.geometry.coordinates : f.geometry.coordinates[f.geometry.coordinates.length - 1];
    return { type: "Feature", geometry: { type: "Point", coordinates: c }, properties: { callsign: f.properties.callsign, monitor: f.properties.monitor } };
  });
  (map.getSource("tracks") as maplibregl.GeoJSONSource)?.setData(fc);
  (map.getSource("track-heads") as maplibregl.GeoJSONSource)?.setData({ type: "FeatureCollection", features: heads });
  state.trackCount = heads.length;
}

function status(text: string) {
  $("status-line").textContent = text;
}

const KINDS = ["explosion", "burst", "shot", "projectile", "muzzle_flash", "flare", "uav_sighting", "movement", "damage", "casualty", "access_denial", "other"];
const STATUSES = ["reported", "under_review", "jointly_confirmed", "disputed", "undetermined"];

function translate() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll<HTMLElement>("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n!); });
  document.querySelectorAll<HTMLInputElement>("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder!); });
  $("lang").textContent = state.lang === "en" ? "RU" : "EN";
  const kind = $("f-kind") as HTMLSelectElement, st = $("f-status") as HTMLSelectElement;
  const keepK = kind.value, keepS = st.value;
  kind.innerHTML = `<option value="">${t("all_kinds")}</option>` + KINDS.map((k) => `<option value="${k}">${esc(t("kind_" + k))}</option>`).join("");
  st.innerHTML = `<option value="">${t("all_statuses")}</option>` + STATUSES.map((s) => `<option value="${s}">${esc(t("status_" + s))}</option>`).join("");
  kind.value = keepK; st.value = keepS;
  const cl = $("f-clause") as HTMLSelectElement, sd = $("f-side") as HTMLSelectElement;
  const keepC = cl.value, keepD = sd.value;
  cl.innerHTML = `<option value="">${t("all_clauses")}</option>` + state.clauses.map(([id, title]) => `<option value="${esc(id)}">${esc(id)} · ${esc(title)}</option>`).join("");
  sd.innerHTML = `<option value="">${t("all_sides")}</option>` + state.sides.map(([id, name]) => `<option value="${esc(id)}">${esc(name)}</option>`).join("");
  cl.value = keepC; sd.value = keepD;
  if (state.me) $("whoami").textContent = `${state.me.user} · ${state.me.monitor} · ${t("role_" + state.me.role)}`;
  $("illustrative").textContent = t("illustrative");
  renderIncidents();
  renderActions();
  if (state.selected) select(state.selected);
  ledger();
}

$("signin").addEventListener("click", () => signIn(($("token") as HTMLInputElement).value.trim()));
$("report").addEventListener("click", () => { openReport(); });
$("issue-report").addEventListener("click", () => { issueReport(); });
$("signout").addEventListener("click", () => {
  localStorage.removeItem("truce.token");
  state.token = ""; state.me = null; state.source?.close();
  location.reload();
});
$("lang").addEventListener("click", () => {
  state.lang = state.lang === "en" ? "ru" : "en";
  localStorage.setItem("truce.lang", state.lang);
  translate();
});
$("feed-list").addEventListener("click", (e) => {
  const li = (e.target as HTMLElement).closest("li");
  if (li?.dataset.id) select(Number(li.dataset.id));
});
for (const id of ["f-kind", "f-status", "f-clause", "f-side", "f-time"]) $(id).addEventListener("input", renderIncidents);
translate();
setInterval(ledger, 2000);
setInterval(loadTracks, 30000);
setInterval(loadCoverage, 300000);
// Reports made without a network leave when it returns.
window.addEventListener("online", () => { flushOutbox(); });
setInterval(flushOutbox, 3000);
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => { /* no offline use */ });
