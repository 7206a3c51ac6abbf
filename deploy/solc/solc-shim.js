#!/usr/bin/env node
// The part of solc's command line that py-solc-x 2.0.5 uses, backed by npm `solc` (solc-js).
//
// Why not the `solcjs` CLI: in --standard-json mode it prints an SMT notice to stdout and
// has no import callback without --base-path, so py-solc-x cannot parse its output
// (see /work/shared/notes/kafka-and-solc.md, section 5). Here we call the JS API ourselves
// and print only the compiler's result.
//
// Supported:  --version
//             --standard-json [--base-path DIR] [--allow-paths DIR[,DIR...]]
// Imports are looked up as <base>/<name>, <base>/node_modules/<name>, then in
// deploy/node/node_modules/<name>, so "@openzeppelin/contracts/..." keeps its source name.
'use strict';

const fs = require('fs');
const path = require('path');

const NODE_MODULES = path.resolve(__dirname, '..', 'node', 'node_modules');

function fail(message, code = 1) {
  process.stderr.write(message + '\n');
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const takeValue = () => {
      if (value !== null) return value;
      if (i + 1 >= argv.length) fail(`the required argument for option '${arg}' is missing`);
      return argv[++i];
    };
    switch (arg) {
      case '--version':
        opts.version = true;
        break;
      case '--standard-json':
        opts.standardJson = true;
        break;
      case '--base-path':
        opts.basePath = takeValue();
        break;
      case '--allow-paths':
        opts.allowPaths.push(...takeValue().split(',').filter(Boolean));
        break;
      default:
        // Same wording as solc, so py-solc-x raises its UnknownOption.
        fail(`unrecognised option '${arg}'`);
    }
  }
  return opts;
}

function loadSolc() {
  // console.log goes to stderr while soljson loads and compiles: stdout carries only JSON.
  console.log = console.error;
  try {
    return require(path.join(NODE_MODULES, 'solc'));
  } catch (err) {
    return fail(`solc-js not found under ${NODE_MODULES} (run npm ci in deploy/node, ` +
      `or \`flexmarket stack install\`): ${err.message}`);
  }
}

function realOrNull(p) {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

function importCallback(base, allowPaths) {
  const roots = [base, NODE_MODULES, ...allowPaths].map(realOrNull).filter(Boolean);
  const inside = (file) => roots.some((r) => file === r || file.startsWith(r + path.sep));
  const candidates = (name) => [
    path.resolve(base, name),
    path.resolve(base, 'node_modules', name),
    path.resolve(NODE_MODULES, name),
  ];
  return (name) => {
    for (const candidate of candidates(name)) {
      const real = realOrNull(candidate);
      if (real === null || !fs.statSync(real).isFile()) continue;
      if (!inside(real)) {
        return { error: `${name}: ${real} is outside the allowed paths (${roots.join(', ')})` };
      }
      return { contents: fs.readFileSync(real, 'utf8') };
    }
    return { error: `File not found: ${name} (looked in ${candidates(name).join(', ')})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    const solc = loadSolc();
    process.stdout.write(
      `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!opts.standardJson) fail('usage: solc --version | solc --standard-json ' +
    '[--base-path DIR] [--allow-paths DIR,...] < input.json');
  const input = fs.readFileSync(0, 'utf8');
  const base = path.resolve(opts.basePath ?? process.cwd());
  const allow = opts.allowPaths.map((p) => path.resolve(p));
  const solc = loadSolc();
  // compile() reports bad input and compile errors inside the result JSON, like solc does.
  const output = solc.compile(input, { import: importCallback(base, allow) });
  process.stdout.write(output + '\n');
}

main();
