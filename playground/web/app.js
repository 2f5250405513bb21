// The page's logic: read both editors, ask the engine, show the answer.
// Everything runs here; nothing is sent anywhere.
"use strict";

const engine = wasm_bindgen;
const $ = (id) => document.getElementById(id);

function start() {
  const bytes = Uint8Array.from(atob(globalThis.ENGINE_WASM), (c) => c.charCodeAt(0));
  engine.initSync({ module: bytes });
  for (const name of Object.keys(EXAMPLES)) $("example").add(new Option(name, name));
  $("example").addEventListener("change", () => load($("example").value));
  $("settings").addEventListener("input", update);
  $("manifest").addEventListener("input", update);
  load(Object.keys(EXAMPLES)[0]);
  $("status").textContent = "ready";
}

function load(name) {
  $("settings").value = EXAMPLES[name].settings;
  $("manifest").value = EXAMPLES[name].manifest;
  update();
}

function update() {
  const answer = JSON.parse(engine.rewriteManifest($("settings").value, $("manifest").value));
  showErrors(answer.errors || []);
  $("manifest-error").textContent = answer.manifestError || "";
  const objects = answer.objects || [];
  showContainers(objects);
  showList($("warnings"), objects.flatMap((o) => (o.warnings || []).map((w) => `${o.kind}/${o.name}: ${w}`)));
  $("patch").textContent = objects.filter((o) => o.patch).map((o) => `# ${o.kind}/${o.name}\n${JSON.stringify(o.patch, null, 2)}`).join("\n");
  $("k3s").textContent = answer.export ? answer.export.k3s || "" : "";
  $("containerd").textContent = answer.export ? answer.export.containerd || "" : "";
  $("registries-conf").textContent = answer.export ? answer.export.registriesConf || "" : "";
  $("kairos").textContent = answer.export ? answer.export.kairos || "" : "";
  $("talos").textContent = answer.export ? answer.export.talos || "" : "";
  $("openshift").textContent = answer.export ? answer.export.openshift || "" : "";
}

function showErrors(errors) {
  const list = $("settings-errors");
  list.replaceChildren(...errors.map((e) => {
    const item = document.createElement("li");
    item.dataset.field = e.field;
    if (e.field) {
      const field = document.createElement("code");
      field.textContent = e.field;
      item.append(field, `: ${e.message}`);
    } else {
      item.textContent = e.message;
    }
    return item;
  }));
}

function showContainers(objects) {
  const rows = objects.flatMap((o) => (o.containers || []).map((c) => {
    const row = document.createElement("tr");
    row.className = c.rule ? "moved" : "kept";
    const cells = [`${o.kind}/${o.name}`, c.container, c.before, c.after];
    for (const [i, text] of cells.entries()) {
      const cell = row.insertCell();
      cell.className = ["object", "container", "before", "after"][i];
      cell.textContent = text;
    }
    const rule = row.insertCell();
    rule.className = "rule";
    if (c.rule) {
      const mark = document.createElement("mark");
      mark.textContent = c.rule;
      rule.append(mark);
    } else {
      rule.textContent = "unchanged";
    }
    return row;
  }));
  $("containers").tBodies[0].replaceChildren(...rows);
}

function showList(list, lines) {
  list.replaceChildren(...lines.map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
}

try {
  start();
} catch (error) {
  $("status").textContent = `the engine did not start: ${error}`;
  $("status").className = "error";
}
