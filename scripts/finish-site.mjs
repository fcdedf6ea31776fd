// Prepares the built site for long-lived caching and compressed delivery; run after `cargo leptos build`
// (scripts/env.sh: build_release).
//
// For the bundle's script, WASM and stylesheet under <site>/pkg: a copy whose name carries a hash of its
// content (berth.<hash>.wasm), so the server can tell browsers to keep it for a year (a new build is a new
// name), and a brotli (.br) and a gzip (.gz) copy of every file the server sends as is, so it never compresses
// them per request. Writes <site>/pkg/hash.txt in the format Leptos reads (`js: <hash>` per line), from
// which the server learns the names. Node's own zlib: nothing to install.
//
//   node scripts/finish-site.mjs target/site
import { createHash } from "node:crypto";
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const site = process.argv[2];
if (!site) {
  console.error("usage: node scripts/finish-site.mjs SITE_ROOT");
  process.exit(2);
}
const pkg = join(site, "pkg");
const bundle = "berth";
const hashed = ["js", "wasm", "css"];

// What an earlier run left: hashed copies and compressed files.
for (const name of readdirSync(pkg)) {
  if (/\.(br|gz)$/.test(name) || new RegExp(`^${bundle}\\.[0-9a-f]{16}\\.`).test(name) || name === "hash.txt") {
    rmSync(join(pkg, name));
  }
}

const lines = [];
for (const ext of hashed) {
  const file = join(pkg, `${bundle}.${ext}`);
  const hash = createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
  copyFileSync(file, join(pkg, `${bundle}.${hash}.${ext}`));
  lines.push(`${ext}: ${hash}`);
}
writeFileSync(join(pkg, "hash.txt"), `${lines.join("\n")}\n`);

// Every text-like or WASM file of the site, hashed or not (the favicon, the unhashed names some pages use).
const compressible = /\.(js|wasm|css|svg|html|txt|json)$/;
function compressTree(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      compressTree(path);
    } else if (compressible.test(name) && name !== "hash.txt") {
      const body = readFileSync(path);
      writeFileSync(`${path}.br`, brotliCompressSync(body, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
      }));
      writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
    }
  }
}
compressTree(site);
console.log(`finish-site: ${lines.join(", ")}`);
