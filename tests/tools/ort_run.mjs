#!/usr/bin/env node
// ort_run.mjs: run an ONNX model with ONNX Runtime (npm `onnxruntime-node`, CPU execution provider) on
// .npy inputs, write its outputs as .npy, compare them with reference .npy files, time it.
// The independent oracle and speed baseline of the tests (docs: `node ort_run.mjs --help`).
//
// Exit codes: 0 ok; 1 an output differs from its reference (--check-against); 2 bad command line;
// 3 error (model does not load, unreadable or unsupported .npy, inputs that do not fit, ORT run
// failure); 77 onnxruntime-node is not installed (CTest's SKIP_RETURN_CODE). Every error is one line
// on stderr: "ort_run: error: ...".
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: node ort_run.mjs MODEL.onnx [--input [NAME=]FILE.npy]... [options]

Runs MODEL.onnx with ONNX Runtime (onnxruntime-node, CPU) and writes its outputs as .npy.

inputs:
  --input [NAME=]FILE.npy   an input tensor; NAME= binds it to the model input NAME, without it the
                            files fill the model's remaining inputs in order (repeatable)
  --inputs A.npy,B.npy      several positional inputs at once
outputs:
  --output-dir DIR          write every output as DIR/<output name>.npy (DIR is created)
  --outputs A.npy,B.npy     write the outputs, in order, to these files ([NAME=]FILE binds by name)
  --fetch NAME,NAME         compute only these outputs, in this order (default: all, model order)
  (with neither --output-dir nor --outputs, a summary of each output is printed)
checking:
  --check-against R1.npy,R2.npy  compare the outputs, in order, with these reference tensors
  --rtol R  (default 1e-4)  --atol A  (default 1e-5)
      per output: max_abs = max|out-ref|, scale = max|ref| (finite elements),
      max_rel = max_abs / max(scale, 1e-30); it passes iff max_abs <= atol + rtol * scale.
      The shape must be equal; a NaN matches only a NaN. Exit 1 if any output fails.
session:
  --threads N               intra-op threads (default 1; 0 = ONNX Runtime's default, one per core)
  --opt LEVEL               graph optimisations: disabled|basic|extended|layout|all (default all)
  --save-optimized FILE     write the model as optimised by ONNX Runtime
  --log-level LEVEL         ONNX Runtime's log: verbose|info|warning|error|fatal (default error)
timing:
  --repeat N                N timed runs after the warm-up; prints one line of JSON with
                            median_ms, mean_ms, min_ms, max_ms, runs_ms, load_ms, first_run_ms, ...
  --warmup W                warm-up runs before the timed ones (default 1)
  --timing-json FILE        also write that JSON to FILE
other:
  --ort-dir DIR             where onnxruntime-node is installed: an npm prefix (DIR/node_modules/
                            onnxruntime-node) or the package folder itself. Default: $SURGERY_ORT_DIR,
                            else <repository>/.deps/ort (scripts/deps.sh ort), else node's resolution
  --quiet                   print only the timing JSON and errors
  --version                 load onnxruntime-node, print "onnxruntime-node VERSION DIR" and exit
  -h, --help                this text

.npy: version 1.0, 2.0 or 3.0 headers, C order, little-endian; element types float32, float64,
float16, int8, uint8, int16, uint16, int32, uint32, int64, uint64, bool. Outputs are written with
the element type ONNX Runtime returns (version 1.0 header).
exit codes: 0 ok, 1 mismatch with --check-against, 2 bad command line, 3 error, 77 ORT not installed`;

class UsageError extends Error {}
class RunError extends Error {}
class MissingOrt extends Error {}

const oneLine = (s) => String(s).replace(/\s*\n\s*/g, ' | ').trim();

// ---- command line ------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = {
    model: null, inputs: [], outputDir: null, outputs: null, fetch: null, check: null,
    rtol: 1e-4, atol: 1e-5, threads: 1, opt: 'all', repeat: 0, warmup: 1, timingJson: null,
    ortDir: null, saveOptimized: null, logLevel: 'error', quiet: false, help: false, version: false,
  };
  const list = (s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const num = (name, s, { int = false, min = -Infinity, max = Infinity } = {}) => {
    const v = Number(s);
    if (s === undefined || s === '' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min || v > max) {
      const what = int ? 'an integer' : 'a number';
      throw new UsageError(`option '${name}' must be ${what} between ${min} and ${max}, got '${s ?? ''}'`);
    }
    return v;
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    let name = a, inline;
    if (a.startsWith('--') && a.includes('=')) {
      const k = a.indexOf('=');
      name = a.slice(0, k);
      inline = a.slice(k + 1);
    }
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`option '${name}' needs a value`);
      return argv[++i];
    };
    switch (name) {
      case '-h': case '--help': o.help = true; break;
      case '--version': o.version = true; break;
      case '--input': o.inputs.push(value()); break;
      case '--inputs': o.inputs.push(...list(value())); break;
      case '--output-dir': o.outputDir = value(); break;
      case '--outputs': o.outputs = list(value()); break;
      case '--fetch': o.fetch = list(value()); break;
      case '--check-against': o.check = list(value()); break;
      case '--rtol': o.rtol = num(name, value(), { min: 0 }); break;
      case '--atol': o.atol = num(name, value(), { min: 0 }); break;
      case '--threads': o.threads = num(name, value(), { int: true, min: 0, max: 1024 }); break;
      case '--opt': {
        o.opt = value();
        if (!['disabled', 'basic', 'extended', 'layout', 'all'].includes(o.opt)) {
          throw new UsageError(`option '--opt' must be disabled, basic, extended, layout or all, got '${o.opt}'`);
        }
        break;
      }
      case '--repeat': o.repeat = num(name, value(), { int: true, min: 1, max: 1000000 }); break;
      case '--warmup': o.warmup = num(name, value(), { int: true, min: 0, max: 1000000 }); break;
      case '--timing-json': o.timingJson = value(); break;
      case '--ort-dir': o.ortDir = value(); break;
      case '--save-optimized': o.saveOptimized = value(); break;
      case '--log-level': {
        o.logLevel = value();
        if (!['verbose', 'info', 'warning', 'error', 'fatal'].includes(o.logLevel)) {
          throw new UsageError(`option '--log-level' must be verbose, info, warning, error or fatal, got '${o.logLevel}'`);
        }
        break;
      }
      case '--quiet': o.quiet = true; break;
      default:
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}' (see --help)`);
        if (o.model !== null) throw new UsageError(`unexpected argument '${a}' (the model is '${o.model}')`);
        o.model = a;
    }
  }
  if (o.help || o.version) return o;
  if (o.model === null) throw new UsageError('missing argument MODEL.onnx (see --help)');
  if (o.outputDir !== null && o.outputs !== null) throw new UsageError('give --output-dir or --outputs, not both');
  if (o.timingJson !== null && o.repeat === 0) throw new UsageError('--timing-json needs --repeat N');
  return o;
}

// ---- finding and loading onnxruntime-node -----------------------------------------------------
const scriptDir = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function packageIn(dir) {
  for (const cand of [path.join(dir, 'node_modules', 'onnxruntime-node'), dir]) {
    const pj = path.join(cand, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'onnxruntime-node') return cand;
      } catch { /* not a package.json we can read: keep looking */ }
    }
  }
  return null;
}

function loadOrt(ortDir) {
  const explicit = ortDir ?? (process.env.SURGERY_ORT_DIR || null);
  let where;
  if (explicit !== null) {
    where = packageIn(path.resolve(explicit));
    if (where === null) {
      throw new MissingOrt(`onnxruntime-node is not installed in '${explicit}' (install it with: scripts/deps.sh ort)`);
    }
  } else {
    where = packageIn(path.resolve(scriptDir, '..', '..', '.deps', 'ort'));
    if (where === null) {
      try {
        where = path.dirname(require.resolve('onnxruntime-node/package.json'));
      } catch {
        throw new MissingOrt('onnxruntime-node is not installed (install it with: scripts/deps.sh ort, or pass --ort-dir)');
      }
    }
  }
  try {
    return { ort: require(where), where };
  } catch (e) {
    throw new RunError(`onnxruntime-node in '${where}' does not load: ${oneLine(e.message)}`);
  }
}

// ---- .npy --------------------------------------------------------------------------------------
// descr (without its byte-order character) -> ONNX Runtime type, typed array, element size
const NPY_TYPES = {
  f4: ['float32', Float32Array, 4], f8: ['float64', Float64Array, 8], f2: ['float16', Uint16Array, 2],
  i1: ['int8', Int8Array, 1], u1: ['uint8', Uint8Array, 1], i2: ['int16', Int16Array, 2],
  u2: ['uint16', Uint16Array, 2], i4: ['int32', Int32Array, 4], u4: ['uint32', Uint32Array, 4],
  i8: ['int64', BigInt64Array, 8], u8: ['uint64', BigUint64Array, 8], b1: ['bool', Uint8Array, 1],
};
const ORT_TO_NPY = Object.fromEntries(Object.entries(NPY_TYPES).map(([k, [t, , size]]) => [t, (size === 1 ? '|' : '<') + k]));

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new RunError(`'${file}': cannot read the file (${e.code ?? oneLine(e.message)})`);
  }
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new RunError(`'${file}': not a .npy file (no \\x93NUMPY magic)`);
  }
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) {
    hlen = buf.readUInt16LE(8); hstart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new RunError(`'${file}': truncated .npy header`);
    hlen = buf.readUInt32LE(8); hstart = 12;
  } else {
    throw new RunError(`'${file}': .npy format version ${major}.${buf[7]} is not supported (1.0, 2.0, 3.0 are)`);
  }
  if (hstart + hlen > buf.length) throw new RunError(`'${file}': truncated .npy header`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', hstart, hstart + hlen);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) {
    throw new RunError(`'${file}': unreadable .npy header ${JSON.stringify(header.trim())} (a structured dtype?)`);
  }
  if (fortran[1] === 'True') throw new RunError(`'${file}': Fortran-order arrays are not supported (save numpy.ascontiguousarray(a))`);
  const d = descr[1];
  const order = d[0];
  const entry = NPY_TYPES[d.slice(1)];
  if (order === '>' && !(entry && entry[2] === 1)) {
    throw new RunError(`'${file}': big-endian element type '${d}' is not supported (save a.astype(a.dtype.newbyteorder('<')))`);
  }
  if (!entry || !['<', '|', '=', '>'].includes(order)) {
    throw new RunError(`'${file}': element type '${d}' is not supported (float16/32/64, int8..int64, uint8..uint64, bool are)`);
  }
  const shape = shapeM[1].split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s.length > 0).map((s) => {
    const v = Number(s);
    if (!Number.isSafeInteger(v) || v < 0) throw new RunError(`'${file}': bad shape in the .npy header: (${shapeM[1]})`);
    return v;
  });
  const [type, Arr, size] = entry;
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = hstart + hlen;
  const nbytes = count * size;
  if (buf.length - offset < nbytes) {
    throw new RunError(`'${file}': truncated data: shape [${shape}] of ${d} needs ${nbytes} bytes, the file has ${buf.length - offset}`);
  }
  // slice() copies into a fresh, aligned ArrayBuffer
  const data = new Arr(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + nbytes));
  return { type, shape, data, descr: d };
}

function npyBytes(descr, shape, data) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let major = 1, pre = 10;
  if (pre + dict.length + 1 > 65535) { major = 2; pre = 12; }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  head[0] = 0x93; head.write('NUMPY', 1, 'latin1'); head[6] = major; head[7] = 0;
  if (major === 1) head.writeUInt16LE(dict.length, 8); else head.writeUInt32LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function writeNpy(file, tensor, name) {
  const descr = ORT_TO_NPY[tensor.type];
  if (!descr) throw new RunError(`output '${name}': element type '${tensor.type}' cannot be written as .npy`);
  let data = tensor.data;
  if (tensor.type === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  try {
    fs.writeFileSync(file, npyBytes(descr, tensor.dims, data));
  } catch (e) {
    throw new RunError(`output '${name}': cannot write '${file}' (${e.code ?? oneLine(e.message)})`);
  }
}

// ---- comparison --------------------------------------------------------------------------------
const TINY = 1e-30;

function compare(name, out, ref, refFile, rtol, atol) {
  const shapeOut = Array.from(out.dims), shapeRef = ref.shape;
  if (shapeOut.length !== shapeRef.length || shapeOut.some((v, i) => v !== shapeRef[i])) {
    return { ok: false, line: `check ${name}: shape [${shapeOut}] but '${refFile}' has shape [${shapeRef}]  MISMATCH` };
  }
  const a = out.data, b = ref.data;
  const n = b.length;
  let maxAbs = 0, worst = -1, scale = 0, outside = 0;
  for (let i = 0; i < n; ++i) {
    const x = Number(a[i]), y = Number(b[i]);
    const ay = Math.abs(y);
    if (Number.isFinite(y) && ay > scale) scale = ay;
    let d;
    if (Number.isNaN(x) || Number.isNaN(y)) d = Number.isNaN(x) && Number.isNaN(y) ? 0 : Infinity;
    else if (x === y) d = 0; // equal infinities included
    else d = Math.abs(x - y); // Infinity when only one is infinite
    if (d > maxAbs || (worst < 0 && d === maxAbs)) { maxAbs = d; worst = i; }
    if (d > atol + rtol * ay) ++outside;
  }
  const maxRel = maxAbs === 0 ? 0 : maxAbs / Math.max(scale, TINY);
  const ok = maxAbs <= atol + rtol * scale;
  const g = (v) => {
    const x = Number(v);
    const t = x !== 0 && Number.isFinite(x) && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e6) ? x.toExponential(5) : x.toPrecision(6);
    return t.replace(/\.?0+(e|$)/, '$1');
  };
  let line = `check ${name}: max_abs ${g(maxAbs)}, max_rel ${g(maxRel)} (max|ref| ${g(scale)}, ${n} elements`;
  if (worst >= 0 && maxAbs > 0) line += `, worst at flat index ${worst}: got ${Number(a[worst]).toPrecision(9)}, want ${Number(b[worst]).toPrecision(9)}`;
  line += `; ${outside} outside |d| <= atol + rtol*|ref|)`;
  if (out.type !== ref.type) line += ` [output ${out.type}, reference ${ref.type}]`;
  line += ok ? '  ok' : `  MISMATCH (max_abs > atol ${atol} + rtol ${rtol} * max|ref|)`;
  return { ok, line, maxAbs, maxRel };
}

// ---- main --------------------------------------------------------------------------------------
function stats(runs) {
  const s = [...runs].sort((x, y) => x - y);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const mean = s.reduce((x, y) => x + y, 0) / n;
  const stdev = Math.sqrt(s.reduce((x, y) => x + (y - mean) ** 2, 0) / n);
  return { median_ms: median, mean_ms: mean, min_ms: s[0], max_ms: s[n - 1], stdev_ms: stdev };
}

const ms = (t0, t1) => Number(t1 - t0) / 1e6;
const r3 = (v) => Math.round(v * 1000) / 1000;
const describe = (meta) => (meta ? `${meta.type ?? '?'} [${(meta.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : `${d}`)).join(',')}]` : '');

async function main() {
  const tStart = process.hrtime.bigint();
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const say = (s) => { if (!o.quiet) console.log(s); };

  const { ort, where } = loadOrt(o.ortDir);
  ort.env.logLevel = o.logLevel;
  if (o.version) {
    // the version of the package, and a check that its native binding loads
    if (typeof ort.InferenceSession?.create !== 'function') throw new RunError(`'${where}' is not a usable onnxruntime-node`);
    const pj = JSON.parse(fs.readFileSync(path.join(where, 'package.json'), 'utf8'));
    try {
      require(path.join(where, 'dist', 'binding.js'));
    } catch (e) {
      throw new RunError(`the native binding of '${where}' does not load: ${oneLine(e.message)}`);
    }
    console.log(`onnxruntime-node ${pj.version} ${where}`);
    return 0;
  }
  const tImported = process.hrtime.bigint();

  if (!fs.existsSync(o.model)) throw new RunError(`'${o.model}': no such file`);
  const opts = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.opt,
    executionMode: 'sequential',
    interOpNumThreads: 1,
    logSeverityLevel: { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 }[o.logLevel],
  };
  if (o.threads > 0) opts.intraOpNumThreads = o.threads;
  if (o.saveOptimized) opts.optimizedModelFilePath = o.saveOptimized;
  let session;
  try {
    session = await ort.InferenceSession.create(o.model, opts);
  } catch (e) {
    throw new RunError(`cannot load model '${o.model}': ${oneLine(e.message)}`);
  }
  const tLoaded = process.hrtime.bigint();

  const inNames = [...session.inputNames], outNames = [...session.outputNames];
  const inMeta = Object.fromEntries(inNames.map((n, i) => [n, session.inputMetadata?.[i]]));
  const outMeta = Object.fromEntries(outNames.map((n, i) => [n, session.outputMetadata?.[i]]));
  const quoteList = (l) => l.map((n) => `'${n}'`).join(', ');

  // bind inputs: NAME=FILE by name, the rest in order
  const bound = new Map();
  const positional = [];
  for (const spec of o.inputs) {
    const k = spec.indexOf('=');
    if (k > 0 && inNames.includes(spec.slice(0, k))) {
      const n = spec.slice(0, k);
      if (bound.has(n)) throw new UsageError(`input '${n}' is given twice`);
      bound.set(n, spec.slice(k + 1));
    } else if (k > 0 && !fs.existsSync(spec)) {
      throw new UsageError(`'${spec.slice(0, k)}' is not an input of the model (its inputs: ${quoteList(inNames)})`);
    } else {
      positional.push(spec);
    }
  }
  const free = inNames.filter((n) => !bound.has(n));
  if (positional.length > free.length) {
    throw new UsageError(`too many --input files: the model has ${inNames.length} input(s) (${quoteList(inNames)}), ${o.inputs.length} given`);
  }
  positional.forEach((f, i) => bound.set(free[i], f));
  const missing = inNames.filter((n) => !bound.has(n));
  if (missing.length) {
    throw new UsageError(`missing input(s): ${missing.map((n) => `'${n}' ${describe(inMeta[n])}`.trim()).join(', ')} (give --input NAME=FILE.npy)`);
  }
  const feeds = {};
  for (const n of inNames) {
    const file = bound.get(n);
    const t = readNpy(file);
    const meta = inMeta[n];
    if (meta && meta.isTensor !== false && meta.type && meta.type !== t.type) {
      throw new RunError(`input '${n}' is ${meta.type}, '${file}' holds ${t.type} ('${t.descr}')`);
    }
    if (meta && Array.isArray(meta.shape)) {
      const want = meta.shape;
      const bad = want.length !== t.shape.length || want.some((d, i) => typeof d === 'number' && d >= 0 && d !== t.shape[i]);
      if (bad) throw new RunError(`input '${n}' must have shape [${want.map((d) => (typeof d === 'number' && d >= 0 ? d : `${d}`)).join(',')}], '${file}' has [${t.shape}]`);
    }
    try {
      feeds[n] = new ort.Tensor(t.type, t.data, t.shape);
    } catch (e) {
      throw new RunError(`input '${n}' from '${file}': ${oneLine(e.message)}`);
    }
    say(`input ${n} <- '${file}': ${t.type} [${t.shape}]`);
  }

  // outputs to fetch and where they go
  const fetch = o.fetch ?? outNames;
  for (const n of fetch) {
    if (!outNames.includes(n)) throw new UsageError(`--fetch: '${n}' is not an output of the model (its outputs: ${quoteList(outNames)})`);
  }
  const dest = new Map();
  if (o.outputs !== null) {
    const rest = [];
    for (const spec of o.outputs) {
      const k = spec.indexOf('=');
      if (k > 0 && fetch.includes(spec.slice(0, k))) dest.set(spec.slice(0, k), spec.slice(k + 1));
      else rest.push(spec);
    }
    const freeOut = fetch.filter((n) => !dest.has(n));
    if (rest.length > freeOut.length) {
      throw new UsageError(`--outputs: ${o.outputs.length} file(s) for ${fetch.length} output(s) (${quoteList(fetch)})`);
    }
    rest.forEach((f, i) => dest.set(freeOut[i], f));
  } else if (o.outputDir !== null) {
    fs.mkdirSync(o.outputDir, { recursive: true });
    const used = new Set();
    for (const n of fetch) {
      let base = n.replace(/[^A-Za-z0-9._-]/g, '_') || 'output';
      if (used.has(base)) { let j = 1; while (used.has(`${base}_${j}`)) ++j; base = `${base}_${j}`; }
      used.add(base);
      dest.set(n, path.join(o.outputDir, `${base}.npy`));
    }
  }
  let refs = null;
  if (o.check !== null) {
    if (o.check.length !== fetch.length) {
      throw new UsageError(`--check-against: ${o.check.length} reference file(s) for ${fetch.length} output(s) (${quoteList(fetch)})`);
    }
    refs = o.check.map((f) => readNpy(f));
  }

  // run
  const runOnce = async () => {
    try {
      return await session.run(feeds, fetch);
    } catch (e) {
      throw new RunError(`running the model failed: ${oneLine(e.message)}`);
    }
  };
  const runs = [];
  let result;
  const total = o.repeat > 0 ? o.warmup + o.repeat : 1;
  for (let i = 0; i < total; ++i) {
    const t0 = process.hrtime.bigint();
    result = await runOnce();
    runs.push(ms(t0, process.hrtime.bigint()));
  }

  // outputs
  for (const n of fetch) {
    const t = result[n];
    if (dest.has(n)) {
      writeNpy(dest.get(n), t, n);
      say(`output ${n}: ${t.type} [${t.dims}] -> '${dest.get(n)}'`);
    } else if (o.check === null) {
      let extra = '';
      if (t.type !== 'string' && t.data.length > 0) {
        let lo = Infinity, hi = -Infinity, sum = 0;
        for (const v of t.data) { const x = Number(v); lo = Math.min(lo, x); hi = Math.max(hi, x); sum += x; }
        extra = ` min ${lo} max ${hi} mean ${sum / t.data.length}`;
      }
      say(`output ${n}: ${t.type} [${t.dims}]${extra}`);
    }
  }
  let failed = 0;
  if (refs !== null) {
    fetch.forEach((n, i) => {
      const c = compare(n, result[n], refs[i], o.check[i], o.rtol, o.atol);
      if (!c.ok) ++failed;
      if (!o.quiet || !c.ok) console.log(c.line);
    });
  }
  if (o.repeat > 0) {
    const timed = runs.slice(o.warmup);
    const j = {
      model: o.model, ort_version: ort.env.versions?.node ?? ort.env.versions?.common ?? '?', ort_dir: where,
      threads: o.threads, opt: o.opt, warmup: o.warmup, repeat: o.repeat,
      import_ms: r3(ms(tStart, tImported)), load_ms: r3(ms(tImported, tLoaded)), first_run_ms: r3(runs[0]),
      ...Object.fromEntries(Object.entries(stats(timed)).map(([k, v]) => [k, r3(v)])),
      runs_ms: timed.map(r3),
    };
    const text = JSON.stringify(j);
    console.log(text);
    if (o.timingJson) {
      try {
        fs.writeFileSync(o.timingJson, text + '\n');
      } catch (e) {
        throw new RunError(`cannot write '${o.timingJson}' (${e.code ?? oneLine(e.message)})`);
      }
    }
  }
  await session.release?.();
  if (failed) {
    console.error(`ort_run: ${failed} of ${fetch.length} output(s) differ from the reference by more than atol ${o.atol} + rtol ${o.rtol} * max|ref|`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (e) => {
    if (e instanceof UsageError) {
      console.error(`ort_run: ${e.message}`);
      process.exitCode = 2;
    } else if (e instanceof MissingOrt) {
      console.error(`ort_run: ${e.message}`);
      process.exitCode = 77;
    } else {
      console.error(`ort_run: error: ${e instanceof RunError ? e.message : oneLine(e.stack ?? e)}`);
      process.exitCode = 3;
    }
  },
);
