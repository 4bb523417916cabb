#!/usr/bin/env node
// KaTeX oracle: reads one JSON string (a LaTeX formula) per line on stdin and writes one JSON
// object per line on stdout: {"valid": bool, "error": str|null}. The verdict is KaTeX's
// renderToString(src, {throwOnError: true, strict: "error"}), the ground truth for
// docintel.latex. Install with `npm install --prefix tools/katex`.
"use strict";
const readline = require("readline");
const katex = require("katex");

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let src;
  let display = false;
  try {
    const msg = JSON.parse(line);
    if (typeof msg === "string") src = msg;
    else {
      src = msg.latex;
      display = Boolean(msg.display);
    }
  } catch (e) {
    process.stdout.write(JSON.stringify({ valid: false, error: "bad request: " + e.message }) + "\n");
    return;
  }
  let out;
  try {
    katex.renderToString(src, { throwOnError: true, strict: "error", displayMode: display });
    out = { valid: true, error: null };
  } catch (e) {
    out = { valid: false, error: String(e.message || e) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
});
