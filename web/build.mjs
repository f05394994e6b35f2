// Builds the dashboard into one folder (argument 1, default dist/): app.js (TypeScript bundled
// by esbuild), sw.js (the service worker that keeps the page for offline use), app.css
// (MapLibre's and ours), index.html, and countries.json (Natural Earth 1:50m country outlines
// from world-atlas, as GeoJSON). No network and no tile server at run time.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { feature } from "topojson-client";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "dist");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, "src/main.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: join(out, "app.js"),
  logLevel: "warning",
});

await build({
  entryPoints: [join(here, "src/sw.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: join(out, "sw.js"),
  logLevel: "warning",
});

const css =
  readFileSync(join(here, "node_modules/maplibre-gl/dist/maplibre-gl.css"), "utf8") +
  "\n" +
  readFileSync(join(here, "src/app.css"), "utf8");
writeFileSync(join(out, "app.css"), css);
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));

const topo = JSON.parse(readFileSync(join(here, "node_modules/world-atlas/countries-50m.json"), "utf8"));
writeFileSync(join(out, "countries.json"), JSON.stringify(feature(topo, topo.objects.countries)));
