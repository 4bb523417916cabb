#!/usr/bin/env node
// Regenerates docintel/data/katex_macros.txt from KaTeX's own function, symbol, macro and
// environment tables (the installed `katex` package), so that docintel.latex needs no node at
// runtime.  Usage: npm install --prefix tools/katex && node tools/katex/gen_macros.js
//
// Output lines (tab-separated, sorted, '#' lines are comments):
//   cs     NAME  FLAGS  NARGS  NOPT  ARGTYPES  KIND
//   sym    CHAR  FLAGS                (single characters KaTeX knows, e.g. "+", "α")
//   env    NAME  NARGS  FLAGS
//   delim  NAME                       (what may follow \left, \middle, \right, \big...)
// FLAGS: "m" usable in math mode, "t" usable in text mode, "a" allowed as a bare argument
// (x^\hspace{1em} is not), "i" infix (\over), "p" primitive (bare arguments are groups),
// "o" (macro) takes \limits like an operator, "d" (env) display mode only.  ARGTYPES:
// comma-separated KaTeX argument types ("-" when unknown).  KIND: symbol | macro |
// implicit, or for functions KaTeX's node type (op, genfrac, ...).
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const katexPath = require.resolve("katex/dist/katex.js");
const version = require("katex/package.json").version;
let code = fs.readFileSync(katexPath, "utf8");
const anchor = "/* harmony default export */ var katex = ({";
if (!code.includes(anchor)) throw new Error("KaTeX layout changed: export anchor not found");
code = code.replace(
  anchor,
  "globalThis.__katexTables = {functions: _functions, symbols, environments: _environments," +
    " macros: _macros, implicitCommands, delimiters};\n" + anchor,
);
const quiet = { log() {}, warn() {}, error() {}, info() {} }; // \show etc. print
const sandbox = { module: { exports: {} }, exports: {}, globalThis: null, console: quiet };
sandbox.globalThis = sandbox;
sandbox.self = sandbox;
vm.createContext(sandbox);
vm.runInContext(code, sandbox, { filename: katexPath });
const T = sandbox.__katexTables;
const katex = sandbox.module.exports.default || sandbox.module.exports;

// Empirical mode check for macros: does KaTeX accept the name (with enough brace args) here?
function accepts(src) {
  try {
    katex.renderToString(src, { throwOnError: true, strict: "error" });
    return true;
  } catch (e) {
    return !/Undefined control sequence|Can't use function|in text mode|in math mode/.test(
      String(e.message),
    );
  }
}

function renders(src) {
  try {
    katex.renderToString(src, { throwOnError: true, strict: "error" });
    return true;
  } catch (e) {
    return false;
  }
}

const rows = new Map();
const chars = new Map();
function add(name, modes, nargs, nopt, argTypes, kind) {
  if (!name.startsWith("\\")) {
    if ([...name].length === 1) chars.set(name, [...new Set((chars.get(name) || "") + modes)].sort().join(""));
    return;
  }
  const prev = rows.get(name);
  if (prev) {
    for (const m of modes) if (!prev.modes.includes(m)) prev.modes += m;
    prev.modes = [...prev.modes].sort().join("");
    return;
  }
  rows.set(name, { modes: [...modes].sort().join(""), nargs, nopt, argTypes, kind });
}

for (const [name, f] of Object.entries(T.functions)) {
  let modes = "";
  if (f.allowedInMath) modes += "m";
  if (f.allowedInText) modes += "t";
  if (f.allowedInArgument) modes += "a";
  if (f.infix) modes += "i";
  if (f.primitive) modes += "p";
  const at = f.argTypes ? f.argTypes.map((a) => a || "-").join(",") : "-";
  add(name, modes, f.numArgs, f.numOptionalArgs, at, f.type || "function");
}
for (const mode of ["math", "text"]) {
  for (const name of Object.keys(T.symbols[mode])) {
    if (!rows.has(name) || rows.get(name).kind === "symbol") add(name, mode[0] + "a", 0, 0, "-", "symbol");
  }
}
for (const [name, body] of Object.entries(T.macros)) {
  if (rows.has(name)) continue;
  let nargs = 0;
  if (typeof body === "string") for (const m of body.matchAll(/(?<!#)#(\d)/g)) nargs = Math.max(nargs, +m[1]);
  else if (body && typeof body === "object" && body.numArgs) nargs = body.numArgs;
  // Macros that expand to a function (\operatorname -> \operatorname@{...}, \hspace ->
  // \@hspace{...}) take arguments too: find the fewest that KaTeX accepts.
  let args = "{x}".repeat(nargs);
  let argType = "-";
  if (nargs === 0 && !renders(name)) {
    for (let n = 1; n <= 3; n++) {
      if (renders(name + "{x}".repeat(n))) {
        nargs = n;
        args = "{x}".repeat(n);
        break;
      }
      if (renders(name + "{1em}".repeat(n))) {
        nargs = n;
        args = "{1em}".repeat(n);
        argType = Array(n).fill("size").join(",");
        break;
      }
    }
  }
  let modes = "";
  const inMath = renders(name + args);
  if (accepts(name + args)) modes += "m";
  if (accepts("\\text{" + name + args + "}")) modes += "t";
  if (!modes) modes = "m"; // needs special arguments (e.g. \char`x); assume math
  // "a": usable as a bare superscript/argument (x^\, is not: \, expands to \mskip).
  if (!inMath || renders("x^" + name + args)) modes += "a";
  // "o": behaves as an operator that takes \limits (\argmax, \operatorname*...).
  if (inMath && renders(name + args + "\\limits")) modes += "o";
  modes = [...modes].sort().join("");
  add(name, modes, nargs, 0, argType, "macro");
}
for (const name of Object.keys(T.implicitCommands)) add(name, "amt", 0, 0, "-", "implicit");

const lines = [
  `# Generated by tools/katex/gen_macros.js from KaTeX ${version}; do not edit by hand.`,
  "# See tools/katex/gen_macros.js for the format.",
];
for (const name of [...rows.keys()].sort()) {
  const r = rows.get(name);
  lines.push(["cs", name, r.modes || "-", r.nargs, r.nopt, r.argTypes, r.kind].join("\t"));
}
for (const ch of [...chars.keys()].sort()) lines.push(["sym", ch, chars.get(ch)].join("\t"));
function displayOnly(env) {
  const n = T.environments[env].numArgs;
  const src = `\\begin{${env}}${n ? (env.startsWith("align") ? "{1}" : "{c}") : ""}a\\end{${env}}`;
  try {
    katex.renderToString(src, { throwOnError: true, strict: "error" });
    return false;
  } catch (e) {
    return /only in display mode/.test(String(e.message));
  }
}
for (const name of Object.keys(T.environments).sort()) {
  const flags = displayOnly(name) ? "d" : "-";
  lines.push(["env", name, T.environments[name].numArgs, flags].join("\t"));
}
for (const d of T.delimiters) lines.push(["delim", d].join("\t"));
const out = process.argv[2] ||
  path.join(__dirname, "..", "..", "docintel", "data", "katex_macros.txt");
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, lines.join("\n") + "\n");
console.log(`wrote ${rows.size} control sequences, ${Object.keys(T.environments).length} environments to ${out}`);
