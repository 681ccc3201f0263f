// Pictor playground: plain JavaScript, no build step, no CDN. Everything
// goes to this (admin) origin: its API under /playground/api/ and
// /playground/sign, and the public routes (/upload, /t/, /srcset/, /o/)
// which the server hands to its public handler under /playground/.
"use strict";

(() => {
  // The token lives in this closure only: never in storage or a cookie,
  // so a reload logs out and no other page of the origin can read it.
  let token = "";
  let config = null;      // GET /playground/api/config
  let selected = null;    // the original being transformed: {key, format, width, height, bytes}
  let nextCursor = 0;     // the recent list's next page
  let signSeq = 0;        // drops answers to superseded sign requests
  let signTimer = 0;
  let resultURL = "";     // the blob: URL of the shown result
  let layerCount = 0;

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) e.append(c);
    return e;
  };

  function api(path, opts = {}) {
    const headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers || {});
    return fetch(path, Object.assign({}, opts, { headers, cache: "no-store" }));
  }

  async function errorText(resp) {
    try {
      const j = await resp.json();
      return j.error || resp.statusText;
    } catch (_) {
      return resp.status + " " + resp.statusText;
    }
  }

  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
    return (n / (1 << 20)).toFixed(2) + " MiB";
  }

  // Login.

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    $("token").value = "";
    $("login-error").textContent = "";
    const resp = await api("/playground/api/config");
    if (!resp.ok) {
      token = "";
      $("login-error").textContent = resp.status === 401 ? "That token is not accepted." : await errorText(resp);
      $("token").focus();
      return;
    }
    config = await resp.json();
    buildForm();
    $("public-base").value = config.public_url || location.origin;
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    $("file").focus();
    loadRecent(true);
  });

  $("logout").addEventListener("click", () => {
    token = "";
    location.reload();
  });

  // Upload. With resumable uploads on (config.tus), the tus 1.0 protocol
  // by hand, a few lines instead of a library: create with POST /files/,
  // send the file in chunks with PATCH, and after a broken chunk ask HEAD
  // where the server got to and go on from there. Else one POST /upload.
  // Both through XMLHttpRequest, whose upload events give the progress bar
  // (fetch has none for request bodies).

  const chunkBytes = 4 << 20;   // small enough that a broken chunk costs little
  const maxRetries = 5;         // broken chunks in a row before giving up

  function setProgress(done, total) {
    $("progress").value = total ? Math.round((100 * done) / total) : 100;
  }

  // send is one XMLHttpRequest: resolves with it when an answer came,
  // rejects when the connection broke.
  function send(method, url, headers, body, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Authorization", "Bearer " + token);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new Error("the connection broke"));
      xhr.send(body);
    });
  }

  const xhrError = (xhr) => {
    try { return JSON.parse(xhr.responseText).error || String(xhr.status); } catch (_) { return String(xhr.status); }
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const tus = { "Tus-Resumable": "1.0.0" };

  // tusUpload returns the stored original's key.
  async function tusUpload(file) {
    const created = await send("POST", "/playground/files/", Object.assign({ "Upload-Length": String(file.size) }, tus), null);
    const loc = created.getResponseHeader("Location") || "";
    if (created.status !== 201 || !loc.includes("/files/")) throw new Error(xhrError(created));
    const url = "/playground" + loc.slice(loc.lastIndexOf("/files/"));
    let offset = 0, retries = 0;
    for (;;) {
      const from = offset;
      let xhr = null;
      try {
        xhr = await send("PATCH", url, Object.assign({ "Upload-Offset": String(from), "Content-Type": "application/offset+octet-stream" }, tus),
          file.slice(from, Math.min(from + chunkBytes, file.size)), (n) => setProgress(from + n, file.size));
      } catch (_) { /* resumed below */ }
      if (xhr && xhr.status === 204) {
        retries = 0;
        offset = Number(xhr.getResponseHeader("Upload-Offset"));
        const key = xhr.getResponseHeader("Pictor-Key");
        if (key) return key;
        continue;
      }
      // A refusal of the file itself (type, size, pixels) is final; a
      // broken connection, a lock or a server error is resumed.
      if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.status !== 409 && xhr.status !== 423 && xhr.status !== 429) {
        throw new Error(xhrError(xhr));
      }
      if (++retries > maxRetries) throw new Error(xhr ? xhrError(xhr) : "the connection broke");
      $("upload-status").textContent = "Resuming " + file.name + "…";
      await sleep(500 * retries);
      const head = await send("HEAD", url, tus, null).catch(() => null);
      if (!head) continue;
      if (head.status !== 200) throw new Error("the upload is gone (" + head.status + ")");
      if (head.getResponseHeader("Pictor-Key")) return head.getResponseHeader("Pictor-Key");
      offset = Number(head.getResponseHeader("Upload-Offset"));
    }
  }

  // postUpload returns the upload's answer: key, format, width, height.
  async function postUpload(file) {
    const form = new FormData();
    form.append("file", file);
    const xhr = await send("POST", "/playground/upload", {}, form, (n) => setProgress(n, file.size));
    if (xhr.status !== 200 && xhr.status !== 201) throw new Error(xhrError(xhr));
    return JSON.parse(xhr.responseText);
  }

  async function upload(file) {
    if (!file) return;
    if (file.size === 0 || (config && file.size > config.max_upload_bytes)) {
      $("upload-status").textContent = file.name + " is empty or over the upload limit of " + bytes(config.max_upload_bytes) + ".";
      return;
    }
    setProgress(0, 1);
    $("upload-status").textContent = "Uploading " + file.name + "…";
    let orig;
    try {
      if (config.tus) {
        const key = await tusUpload(file);
        const page = await loadRecent(true);
        orig = (page && page.items.find((it) => it.key === key)) || { key, format: "", width: 0, height: 0, bytes: file.size };
      } else {
        orig = await postUpload(file);
        await loadRecent(true);
      }
    } catch (e) {
      setProgress(0, 1);
      $("upload-status").textContent = "Upload refused: " + e.message;
      return;
    }
    setProgress(1, 1);
    $("upload-status").textContent = "Uploaded " + file.name + ": " + orig.key + " (" + orig.width + "×" + orig.height + " " + orig.format + ", " + bytes(orig.bytes) + ")";
    select(orig);
  }

  $("file").addEventListener("change", () => upload($("file").files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    upload(e.dataTransfer.files[0]);
  });

  // Recent originals, a page at a time.

  async function loadRecent(fresh) {
    const q = fresh || !nextCursor ? "" : "?before=" + nextCursor;
    const resp = await api("/playground/api/originals" + q);
    if (!resp.ok) return;
    const page = await resp.json();
    if (fresh) $("recent").replaceChildren();
    for (const it of page.items) {
      const label = "Use " + it.key + " (" + it.width + "×" + it.height + " " + it.format + ")";
      const b = el("button", { type: "button", "aria-label": label, title: label });
      b.append(it.thumb ? el("img", { src: "/playground" + it.thumb, alt: "" }) : el("span", { text: it.key.slice(0, 12) + "…" }));
      b.addEventListener("click", () => select(it));
      $("recent").append(el("li", {}, b));
    }
    nextCursor = page.next;
    $("recent-more").hidden = !page.next;
    return page;
  }
  $("recent-more").addEventListener("click", () => loadRecent(false));
  $("recent-refresh").addEventListener("click", () => loadRecent(true));

  function select(orig) {
    selected = orig;
    $("selected").textContent = "Transforming " + orig.key + " (" + orig.width + "×" + orig.height + " " + orig.format + ", " + bytes(orig.bytes) + ")";
    $("original-img").src = "/playground/o/" + orig.key;
    $("original-meta").textContent = orig.width + "×" + orig.height + " " + orig.format + ", " + bytes(orig.bytes);
    scheduleSign(0);
  }

  // The form, built from the grammar the server describes
  // (options.Parser.Describe): one control per option, in canonical order.

  function fieldID(name, layer) { return layer === undefined ? "opt-" + name : "layer" + layer + "-" + name; }

  function control(f, layer) {
    const id = fieldID(f.name, layer);
    const help = f.help ? el("span", { id: id + "-help", class: "help", text: f.help }) : null;
    const label = el("label", { for: id, text: f.label + " (" + f.name + "_)" });
    const described = help ? id + "-help" : null;
    let input;
    switch (f.kind) {
      case "enum":
        input = el("select", { id, "data-opt": f.name, "aria-describedby": described }, el("option", { value: "", text: "(default)" }));
        for (const c of f.choices || []) input.append(el("option", { value: c, text: c }));
        break;
      case "flag":
        input = el("input", { type: "checkbox", id, "data-opt": f.name, value: "1", "aria-describedby": described, disabled: !!f.off });
        return el("div", { class: "field check" }, input, label, help || "");
      case "border": {
        const px = el("input", { type: "text", inputmode: "numeric", id, "data-opt": "bo-px", placeholder: f.min + ".." + f.max, "aria-describedby": described });
        const colour = el("input", { type: "text", id: id + "-colour", "data-opt": "bo-colour", placeholder: "rrggbb" });
        return el("div", { class: "field" }, label, px, el("label", { for: id + "-colour", text: "Border colour (rrggbb)" }), colour, help || "");
      }
      case "effects":
        return effectsControl(f);
      case "layer":
        return layerSource(f, layer);
      default: {
        const words = (f.words || []).join(", ");
        const min = f.min || 0; // JSON leaves a 0 out
        let ph = f.kind === "int" ? (f.max ? min + ".." + f.max : "≥ " + min) : f.kind === "color" ? "rrggbb" : "";
        if (words) ph += (ph ? " or " : "") + words;
        input = el("input", { type: "text", id, "data-opt": f.name, placeholder: ph, spellcheck: "false", autocomplete: "off",
          inputmode: f.kind === "int" && !words ? "numeric" : null, "aria-describedby": described });
      }
    }
    return el("div", { class: "field" }, label, input, help || "");
  }

  function effectsControl(f) {
    const fs = el("fieldset", { id: "opt-e", class: "effects" }, el("legend", { text: f.label + " (e_)" }));
    for (const e of f.effects) {
      const id = "fx-" + e.name;
      if (!e.arg) {
        fs.append(el("div", { class: "field check" },
          el("input", { type: "checkbox", id, "data-fx": e.name }),
          el("label", { for: id, text: e.name })));
      } else {
        fs.append(el("div", { class: "field" },
          el("label", { for: id, text: e.name + " (" + e.min + ".." + e.max + ")" }),
          el("input", { type: "text", id, "data-fx": e.name, inputmode: "decimal", placeholder: "off" })));
      }
    }
    return fs;
  }

  function layerSource(f, n) {
    const kind = el("select", { id: "layer" + n + "-kind", "data-layer-kind": "" },
      el("option", { value: "text", text: "Text" }),
      el("option", { value: "key", text: "Image: an original's key or an overlay name" }));
    return el("div", { class: "field" },
      el("label", { for: "layer" + n + "-kind", text: "Layer " + (n + 1) + " type" }), kind,
      el("label", { for: fieldID("l", n), text: "Layer " + (n + 1) + " text, key or name (l_)" }),
      el("input", { type: "text", id: fieldID("l", n), "data-opt": "l", spellcheck: "false", autocomplete: "off" }),
      el("span", { class: "help", text: f.help }));
  }

  function buildForm() {
    const box = $("fields");
    box.replaceChildren();
    for (const f of config.options) {
      if (f.role === "layer" || f.kind === "signature") continue;
      if (f.role === "preset" && !(f.choices || []).length) continue;
      box.append(control(f));
    }
    $("add-layer").hidden = config.presets_only;
    $("layers").hidden = config.presets_only;
  }

  $("add-layer").addEventListener("click", () => {
    if ($("layer-list").children.length >= config.max_layers) return;
    const n = layerCount++;
    const fs = el("fieldset", { class: "layer", "data-layer": n }, el("legend", { text: "Layer " + (n + 1) }));
    for (const f of config.options) {
      if (f.role === "layer") fs.append(control(f, n));
    }
    const remove = el("button", { type: "button", text: "Remove layer " + (n + 1) });
    remove.addEventListener("click", () => { fs.remove(); compose(); $("add-layer").focus(); });
    fs.append(remove);
    $("layer-list").append(fs);
    $("add-layer").hidden = $("layer-list").children.length >= config.max_layers;
    fs.querySelector("select, input").focus();
  });

  // base64url of UTF-8, unpadded: the l_text: spelling.
  function b64url(s) {
    const bin = Array.from(new TextEncoder().encode(s), (b) => String.fromCharCode(b)).join("");
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // compose writes the option string the form says into #raw.
  function compose() {
    const parts = [];
    const value = (e) => (e.type === "checkbox" ? (e.checked ? e.value : "") : e.value.trim());
    const form = $("fields");
    for (const e of form.querySelectorAll("[data-opt]")) {
      const name = e.dataset.opt;
      if (name === "bo-px" || name === "bo-colour") continue;
      const v = value(e);
      if (v) parts.push(name + "_" + v);
    }
    const px = form.querySelector('[data-opt="bo-px"]'), colour = form.querySelector('[data-opt="bo-colour"]');
    if (px && px.value.trim()) parts.push("bo_" + px.value.trim() + "_" + (colour.value.trim() || "000000"));
    const fx = [];
    for (const e of form.querySelectorAll("[data-fx]")) {
      if (e.type === "checkbox") { if (e.checked) fx.push(e.dataset.fx); } else if (e.value.trim()) fx.push(e.dataset.fx + ":" + e.value.trim());
    }
    if (fx.length) parts.push("e_" + fx.join(":"));
    for (const fs of $("layer-list").querySelectorAll("fieldset.layer")) {
      const src = fs.querySelector('[data-opt="l"]').value;
      if (!src.trim()) continue;
      const kind = fs.querySelector("[data-layer-kind]").value;
      parts.push("l_" + (kind === "text" ? "text:" + b64url(src) : src.trim()));
      for (const e of fs.querySelectorAll("[data-opt]")) {
        if (e.dataset.opt === "l") continue;
        const v = value(e);
        if (v) parts.push(e.dataset.opt + "_" + v);
      }
    }
    // The signing options last, where the canonical form has them.
    parts.sort((a, b) => signingRank(a) - signingRank(b));
    $("raw").value = parts.join(",");
    scheduleSign(150);
  }
  const signingRank = (p) => (p.startsWith("exp_") || p.startsWith("kid_") ? 1 : 0);

  $("options-form").addEventListener("input", compose);
  $("options-form").addEventListener("change", compose);
  $("options-form").addEventListener("submit", (e) => e.preventDefault());
  $("raw").addEventListener("input", () => scheduleSign(250));
  $("public-base").addEventListener("input", showURLs);

  // Signing: the server parses the options as a URL's and signs them.

  function scheduleSign(delay) {
    clearTimeout(signTimer);
    signTimer = setTimeout(sign, delay);
  }

  let signed = null; // the last good answer of /playground/sign

  async function sign() {
    if (!selected) return;
    const raw = $("raw").value.trim();
    const seq = ++signSeq;
    if (!raw) {
      $("sign-error").textContent = "Choose at least one option.";
      return;
    }
    const resp = await api("/playground/sign", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key: selected.key, options: raw }),
    });
    if (seq !== signSeq) return;
    if (!resp.ok) {
      $("sign-error").textContent = await errorText(resp);
      $("canonical").value = "";
      return;
    }
    $("sign-error").textContent = "";
    signed = await resp.json();
    $("canonical").value = signed.options;
    showURLs();
    showResult(signed.path, seq);
    showSrcset(signed, seq);
  }

  function base() { return $("public-base").value.trim().replace(/\/+$/, ""); }

  function showURLs() {
    if (!signed) return;
    $("url").value = base() + signed.path;
    if (srcsetData) $("snippet").value = snippet(srcsetData);
  }

  // The result is fetched, not just shown, so that the page can read its
  // headers, its size and its timing.
  async function showResult(path, seq) {
    const url = new URL("/playground" + path, location.href).href;
    const started = performance.now();
    let resp;
    try {
      resp = await fetch(url, { cache: "no-store" });
    } catch (e) {
      $("sign-error").textContent = "The transform failed: " + e.message;
      return;
    }
    const headersAt = performance.now();
    if (seq !== signSeq) return;
    if (!resp.ok) {
      $("sign-error").textContent = "The transform was refused: " + (await errorText(resp));
      return;
    }
    const blob = await resp.blob();
    if (seq !== signSeq) return;
    let ttfb = headersAt - started;
    const entries = performance.getEntriesByName(url);
    if (entries.length) {
      const t = entries[entries.length - 1];
      if (t.responseStart > 0) ttfb = t.responseStart - t.startTime;
    }
    performance.clearResourceTimings();
    $("m-format").textContent = resp.headers.get("Content-Type") || "";
    $("m-bytes").textContent = bytes(blob.size) + " (" + blob.size + ")";
    $("m-ttfb").textContent = ttfb.toFixed(1) + " ms";
    $("m-cache").textContent = resp.headers.get("X-Cache") || "(none)";
    $("m-size").textContent = "";
    const img = $("result-img");
    if (resultURL) URL.revokeObjectURL(resultURL);
    resultURL = URL.createObjectURL(blob);
    img.onload = () => { $("m-size").textContent = img.naturalWidth + "×" + img.naturalHeight; };
    img.onerror = () => { $("m-size").textContent = "this browser cannot show " + $("m-format").textContent; };
    img.src = resultURL;
  }

  let srcsetData = null;

  async function showSrcset(s, seq) {
    srcsetData = null;
    $("srcset-preview").replaceChildren();
    $("snippet").value = "";
    if (!s.srcset) {
      $("srcset-status").textContent = "No srcset: " + (s.srcset_error || "not available");
      return;
    }
    $("srcset-status").textContent = "Making the srcset…";
    const resp = await fetch("/playground" + s.srcset, { cache: "no-store" });
    if (seq !== signSeq) return;
    if (!resp.ok) {
      $("srcset-status").textContent = "No srcset: " + (await errorText(resp));
      return;
    }
    srcsetData = await resp.json();
    $("srcset-status").textContent = srcsetData.variants.length + " widths";
    for (const v of srcsetData.variants) {
      $("srcset-preview").append(el("figure", {},
        el("img", { src: "/playground" + v.url, alt: v.width + " pixels wide" }),
        el("figcaption", { text: v.width + "w · " + v.width + "×" + v.height + " · " + bytes(v.bytes) })));
    }
    $("snippet").value = snippet(srcsetData);
  }

  function snippet(d) {
    const b = base();
    const set = d.variants.map((v) => b + v.url + " " + v.width + "w").join(", ");
    const fallback = d.variants.length ? b + d.variants[Math.floor(d.variants.length / 2)].url : "";
    return '<img src="' + fallback + '"\n     srcset="' + set + '"\n     sizes="100vw" alt="">';
  }

  // Copying: the Clipboard API where the page is a secure context
  // (https, or localhost), else the selection.
  async function copy(id) {
    const field = $(id);
    let ok = false;
    try {
      await navigator.clipboard.writeText(field.value);
      ok = true;
    } catch (_) {
      field.select();
      ok = document.execCommand("copy");
    }
    $("copy-status").textContent = ok ? "Copied." : "Select the text and copy it.";
  }
  $("copy-url").addEventListener("click", () => copy("url"));
  $("copy-snippet").addEventListener("click", () => copy("snippet"));
})();
