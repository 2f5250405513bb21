// The playground in a real browser: Debian's chromium, headless, driven by
// playwright-core. Loads the built page (playground/dist) from a static server
// on 127.0.0.1 and from file://, types settings and a manifest, and checks the
// table and the errors. Screenshots of each state go to playground/screenshots/.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { join, extname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import assert from "node:assert/strict";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist");
const shots = join(here, "..", "screenshots");
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

// A static server: what `python3 -m http.server` would do, without a second runtime.
const server = createServer(async (request, response) => {
  const path = join(dist, new URL(request.url, "http://x").pathname.replace(/\/$/, "/index.html"));
  const body = await readFile(path).catch(() => null);
  if (body === null) return response.writeHead(404).end();
  response.writeHead(200, { "content-type": types[extname(path)] || "application/octet-stream" });
  response.end(body);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run"],
});
await mkdir(shots, { recursive: true });
let failed = 0;

async function check(name, body) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  try {
    await body(page);
    assert.deepEqual(problems, [], "no script errors");
    console.log(`ok - ${name}`);
  } catch (error) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(error.message).replaceAll("\n", "\n  ")}`);
  } finally {
    await page.screenshot({ path: join(shots, `${name.replaceAll(/\W+/g, "-")}.png`), fullPage: true });
    await page.close();
  }
}

const rows = (page) => page.$$eval("#containers tbody tr", (trs) => trs.map((tr) =>
  [...tr.cells].map((td) => td.textContent).join(" | ")));

const SETTINGS = "mappings:\n  - source: docker.io\n    target: harbor.edge.local/dockerhub\n";
const MANIFEST = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
    - {name: web, image: "nginx:1.27"}
    - {name: exporter, image: "quay.io/prometheus/node-exporter:v1.8.2"}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      containers: [{name: run, image: "busybox@sha256:${"a".repeat(64)}"}]
`;

await check("typed settings and manifest fill the table", async (page) => {
  await page.goto(base);
  await page.waitForSelector("#status:text('ready')");
  await page.fill("#settings", SETTINGS);
  await page.fill("#manifest", MANIFEST);
  assert.deepEqual(await rows(page), [
    "Pod/web | web | nginx:1.27 | harbor.edge.local/dockerhub/library/nginx:1.27 | mapping docker.io",
    "Pod/web | exporter | quay.io/prometheus/node-exporter:v1.8.2 | quay.io/prometheus/node-exporter:v1.8.2 | unchanged",
    `Job/once | run | busybox@sha256:${"a".repeat(64)} | harbor.edge.local/dockerhub/library/busybox@sha256:${"a".repeat(64)} | mapping docker.io`,
  ]);
  assert.equal(await page.textContent("#containers tbody tr.moved td.rule mark"), "mapping docker.io");
  assert.deepEqual(await page.$$eval("#settings-errors li", (items) => items.length), 0);
  assert.match(await page.textContent("#patch"), /"op": "replace",\s+"path": "\/spec\/containers\/0\/image",\s+"value": "harbor.edge.local\/dockerhub\/library\/nginx:1.27"/);
  assert.match(await page.textContent("#k3s"), /\^\(\.\*\)\$: dockerhub\/\$1\n/);
  assert.match(await page.textContent("#registries-conf"), /\[\[registry\]\]\nprefix = "docker.io"\nlocation = "harbor.edge.local\/dockerhub"\n/);
  const kairos = await page.textContent("#kairos");
  assert.ok(kairos.startsWith("# image-redirect.yaml\n#cloud-config\n"), kairos);
  assert.match(kairos, /\nstages:\n  boot:\n  - name: 'image-redirect: registry mirrors'\n    files:\n    - path: \/etc\/rancher\/k3s\/registries.yaml\n      content: \|\n/);
  assert.match(kairos, /\n              \^\(\.\*\)\$: dockerhub\/\$1\n      permissions: 420\n$/);
  assert.match(await page.textContent("#talos"), /      docker.io:\n        endpoints:\n        - https:\/\/harbor.edge.local\/v2\/dockerhub\n        overridePath: true\n/);
  assert.match(await page.textContent("#openshift"), /kind: ImageDigestMirrorSet\n[^]*  - source: docker.io\n    mirrors:\n    - harbor.edge.local\/dockerhub\n/);
});

await check("bad settings are named by field", async (page) => {
  await page.goto(base);
  await page.waitForSelector("#status:text('ready')");
  await page.fill("#manifest", MANIFEST);
  await page.fill("#settings", "mappings:\n  - source: docker.io\n    target: Harbor.local/x\n  - source: quay.io\n");
  assert.deepEqual(await page.$$eval("#settings-errors li", (items) => items.map((i) => [i.dataset.field, i.textContent])), [
    ["mappings[0].target", 'mappings[0].target: "Harbor.local/x" is not a valid registry path: uppercase letters are not allowed'],
    ["mappings[1].target", "mappings[1].target: is required"],
  ]);
  assert.deepEqual(await rows(page), []);
});

await check("every Palette example redirects the nginx container", async (page) => {
  await page.goto(base);
  await page.waitForSelector("#status:text('ready')");
  const names = (await page.$$eval("#example option", (options) => options.map((o) => o.value))).slice(0, 4);
  const expected = [
    "harbor.edge.local/dockerhub/library/nginx:1.27",
    "10.10.254.254:8000/spectro-images/docker.io/library/nginx:1.27",
    "10.10.100.45:30003/docker.io/library/nginx:1.27",
    "10.10.137.220:30003/spectro-images/docker.io/library/nginx:1.27",
  ];
  for (const [i, name] of names.entries()) {
    await page.selectOption("#example", name);
    const web = (await rows(page)).find((row) => row.includes("| web | nginx:1.27 |"));
    assert.ok(web && web.includes(`| ${expected[i]} |`), `${name}: ${web}`);
    await page.screenshot({ path: join(shots, `example-${i + 1}.png`), fullPage: true });
  }
});

await check("the operator example redirects the Cluster, not the Pod it creates", async (page) => {
  await page.goto(base);
  await page.waitForSelector("#status:text('ready')");
  const names = await page.$$eval("#example option", (options) => options.map((o) => o.value));
  assert.equal(names.length, 5);
  await page.selectOption("#example", names[4]);
  assert.deepEqual(await rows(page), [
    "Cluster/pg | spec.imageName | ghcr.io/cloudnative-pg/postgresql:16.4 | harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4 | mapping ghcr.io",
    "Pod/pg-1 | postgres | harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4 | harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4 | unchanged",
  ]);
  assert.match(await page.textContent("#patch"), /"op": "replace",\s+"path": "\/spec\/imageName"/);
});

await check("the page works from file://", async (page) => {
  await page.goto(pathToFileURL(join(dist, "index.html")).href);
  await page.waitForSelector("#status:text('ready')");
  assert.ok((await rows(page)).length >= 4);
});

await browser.close();
server.close();
console.log(failed ? `${failed} browser test(s) failed` : "all browser tests passed");
process.exit(failed ? 1 : 0);
