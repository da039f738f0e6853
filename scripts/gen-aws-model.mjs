// Generates the compact runtime model (operations, shapes, constraints, serialization traits; no documentation)
// and a TypeScript type for every shape from a public botocore model (`<service>.service-2.json`).
//
// Run: node scripts/gen-aws-model.mjs [--models DIR] [service...]      (default: every service in SERVICES)
//   -> libs/aws-model/src/gen/<service>-model.ts   export const <SERVICE>_MODEL: ServiceModel<...>
//      libs/aws-model/src/gen/<service>-types.ts   a type per shape, <Prefix>OperationTypes, ...Name unions
// The default model directory is ../shared/reference/aws-api-models/ from the repo root. The output is committed
// (the models are outside the repo and nothing reads them at run time); do not edit it.
//
// scripts/gen-ecs-model.mjs calls generate() with the `ecs` flavour: the ECS files of @berth/ecs-model, kept
// exactly as they were before this generator existed (no patterns, no member traits, no error codes).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_MODELS_DIR = join(ROOT, '..', 'shared', 'reference', 'aws-api-models');

/** Services this generator knows: the type-name prefix and the exported constant. */
export const SERVICES = {
  elbv2: { prefix: 'Elbv2', constant: 'ELBV2_MODEL' },
  servicediscovery: { prefix: 'ServiceDiscovery', constant: 'SERVICEDISCOVERY_MODEL' },
};

// Fail on anything this generator does not understand, rather than emit a model that is quietly wrong.
const SHAPE_KEYS = new Set(['type', 'members', 'documentation', 'enum', 'member', 'exception', 'fault', 'max', 'min', 'pattern', 'required', 'box', 'key', 'value', 'sensitive', 'document', 'deprecated', 'deprecatedMessage', 'deprecatedSince', 'error', 'locationName', 'flattened', 'xmlNamespace', 'wrapper']);
const MEMBER_KEYS = new Set(['shape', 'documentation', 'box', 'deprecated', 'deprecatedMessage', 'deprecatedSince', 'idempotencyToken', 'locationName', 'flattened', 'xmlNamespace']);
const OPERATION_KEYS = new Set(['name', 'http', 'input', 'output', 'errors', 'documentation', 'idempotent', 'readonly', 'deprecated', 'deprecatedMessage', 'endpoint', 'authtype', 'auth']);
const TYPES = new Set(['structure', 'list', 'map', 'string', 'integer', 'long', 'double', 'float', 'boolean', 'timestamp', 'blob']);
const GLOBAL_NAMES = new Set(['String', 'Boolean', 'Number', 'Object', 'Array', 'Date', 'Error', 'Function', 'Symbol', 'Map', 'Set', 'Promise', 'RegExp', 'Record', 'Partial', 'Required', 'Readonly', 'Pick', 'Omit', 'Exclude', 'Extract', 'Blob', 'Buffer', 'Request', 'Response', 'Headers', 'URL', 'Event', 'Console']);
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const quote = (v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Builds the two files for one botocore model. Returns { files: [[name, text]], summary } or throws with every
 * problem found. `flavour` is 'aws' (libs/aws-model) or 'ecs' (the legacy @berth/ecs-model files).
 */
export function generate(model, { file, prefix, constant, flavour = 'aws', script = 'scripts/gen-aws-model.mjs', baseName }) {
  const full = flavour === 'aws';
  const problems = [];
  const check = (cond, what) => { if (!cond) problems.push(what); };
  const { metadata } = model;
  const json = metadata.protocol === 'json';
  check((json && metadata.jsonVersion === '1.1') || (full && metadata.protocol === 'query'),
    `protocol is ${metadata.protocol} ${metadata.jsonVersion ?? ''}, expected ${full ? 'json 1.1 or query' : 'json 1.1'}`);
  const shapeNames = Object.keys(model.shapes).sort(byName);
  const operationNames = Object.keys(model.operations).sort(byName);

  const shapes = {};
  for (const name of shapeNames) {
    const s = model.shapes[name];
    for (const k of Object.keys(s)) check(SHAPE_KEYS.has(k), `shape ${name}: unknown key ${k}`);
    check(TYPES.has(s.type), `shape ${name}: unknown type ${s.type}`);
    check(!s.timestampFormat, `shape ${name}: timestampFormat ${s.timestampFormat} (only the protocol default is handled)`);
    check(!s.wrapper, `shape ${name}: wrapper (not handled)`);
    // JSON bodies would use locationName as the key; validateInput/toWire work on member names.
    if (json) check(!s.locationName && !s.flattened && !s.xmlNamespace, `shape ${name}: XML traits in a JSON model`);
    if (!full) check(!s.locationName && !s.flattened && !s.xmlNamespace, `shape ${name}: XML traits (not kept by the ecs flavour)`);
    const out = { type: s.type };
    if (s.type === 'structure') {
      out.members = {};
      const traits = {};
      for (const [m, def] of Object.entries(s.members ?? {})) {
        for (const k of Object.keys(def)) check(MEMBER_KEYS.has(k), `member ${name}.${m}: unknown key ${k}`);
        check(def.shape in model.shapes, `member ${name}.${m}: no shape ${def.shape}`);
        check(m !== '__proto__', `member ${name}.${m}: reserved name`);
        if (json || !full) check(!def.locationName && !def.flattened && !def.xmlNamespace, `member ${name}.${m}: XML traits in a JSON model`);
        out.members[m] = def.shape;
        const t = {};
        if (def.locationName) t.locationName = def.locationName;
        if (def.flattened) t.flattened = true;
        if (def.xmlNamespace) t.xmlNamespace = def.xmlNamespace.uri ?? def.xmlNamespace;
        if (def.idempotencyToken) t.idempotencyToken = true;
        if (Object.keys(t).length) traits[m] = t;
      }
      if (s.required?.length) {
        for (const r of s.required) check(r in out.members, `shape ${name}: required ${r} is not a member`);
        out.required = s.required;
      }
      if (full && Object.keys(traits).length) out.memberTraits = traits;
    }
    if (s.type === 'list') {
      check(s.member?.shape in model.shapes, `list ${name}: bad member`);
      out.member = s.member.shape;
      if (full && s.member.locationName) out.memberLocationName = s.member.locationName;
      if (!full || json) check(!s.member.locationName, `list ${name}: member locationName`);
    }
    if (s.type === 'map') {
      check(s.key?.shape in model.shapes && s.value?.shape in model.shapes, `map ${name}: bad key/value`);
      out.key = s.key.shape; out.value = s.value.shape;
      if (full && s.key.locationName) out.keyLocationName = s.key.locationName;
      if (full && s.value.locationName) out.valueLocationName = s.value.locationName;
    }
    if (s.enum) { check(s.type === 'string', `shape ${name}: enum on ${s.type}`); out.enum = s.enum; }
    if (s.min !== undefined) out.min = s.min;
    if (s.max !== undefined) out.max = s.max;
    if (full && s.pattern !== undefined) {
      check(s.type === 'string', `shape ${name}: pattern on ${s.type}`);
      try { new RegExp(s.pattern, 'u'); } catch (e) { problems.push(`shape ${name}: pattern ${s.pattern} is not a JavaScript regular expression (${e.message})`); }
      out.pattern = s.pattern;
    }
    if (full && s.flattened) out.flattened = true;
    if (full && s.locationName) out.locationName = s.locationName;
    if (full && s.xmlNamespace) out.xmlNamespace = s.xmlNamespace.uri ?? s.xmlNamespace;
    if (s.exception) out.exception = true;
    if (s.fault) out.fault = true;
    if (full && s.error) {
      check(s.exception, `shape ${name}: error without exception`);
      const e = {};
      if (s.error.code !== undefined) e.code = s.error.code;
      if (s.error.httpStatusCode !== undefined) e.httpStatusCode = s.error.httpStatusCode;
      if (s.error.senderFault) e.senderFault = true;
      out.error = e;
    }
    if (s.document) { check(s.type === 'structure' && Object.keys(s.members ?? {}).length === 0, `shape ${name}: document with members`); out.document = true; }
    if (s.sensitive) out.sensitive = true;
    if (s.deprecated) out.deprecated = true;
    shapes[name] = out;
  }
  for (const name of shapeNames) {
    const s = shapes[name];
    if (s.type === 'map') check(shapes[s.key].type === 'string', `map ${name}: key is not a string`);
  }

  const operations = {};
  for (const name of operationNames) {
    const o = model.operations[name];
    for (const k of Object.keys(o)) check(OPERATION_KEYS.has(k), `operation ${name}: unknown key ${k}`);
    check(o.http?.method === 'POST' && o.http?.requestUri === '/', `operation ${name}: not POST /`);
    const out = {};
    if (o.input) {
      check(shapes[o.input.shape]?.type === 'structure', `operation ${name}: input is not a structure`);
      check(Object.keys(o.input).every((k) => k === 'shape'), `operation ${name}: input traits`);
      out.input = o.input.shape;
    }
    if (o.output) {
      check(shapes[o.output.shape]?.type === 'structure', `operation ${name}: output is not a structure`);
      check(Object.keys(o.output).every((k) => k === 'shape' || (full && k === 'resultWrapper')), `operation ${name}: output traits`);
      out.output = o.output.shape;
      if (o.output.resultWrapper) out.resultWrapper = o.output.resultWrapper;
    }
    out.errors = (o.errors ?? []).map((e) => e.shape);
    for (const e of out.errors) check(shapes[e]?.exception, `operation ${name}: error ${e} is not an exception shape`);
    if (o.readonly) out.readonly = true;
    if (o.idempotent) out.idempotent = true;
    if (o.deprecated) out.deprecated = true;
    if (full && o.endpoint?.hostPrefix) out.hostPrefix = o.endpoint.hostPrefix;
    else check(!o.endpoint, `operation ${name}: endpoint traits`);
    operations[name] = out;
  }
  if (problems.length) throw new Error(`${script}: ${file} has things this generator does not handle:\n  ${problems.join('\n  ')}`);

  const header = (what) => `// Generated by ${script} from ${file} (${metadata.uid}): ${what}. Do not edit.\n`;
  const T = { doc: `${prefix}Document`, shapeTypes: `${prefix}ShapeTypes`, shapeName: `${prefix}ShapeName`, opTypes: `${prefix}OperationTypes`, opName: `${prefix}OperationName` };

  // ---- <base>-model.ts: the runtime model.
  let model_ts = header('operations and shapes, no documentation');
  if (full) {
    const meta = {};
    for (const k of ['apiVersion', 'protocol', 'jsonVersion', 'targetPrefix', 'xmlNamespace', 'endpointPrefix', 'signingName', 'serviceId', 'serviceFullName', 'uid']) if (metadata[k] !== undefined) meta[k] = metadata[k];
    model_ts += `import type { ServiceModel } from '../model-types.js';\nimport type { ${T.opName}, ${T.shapeName} } from './${baseName}-types.js';\n\n`;
    model_ts += `export const ${constant}: ServiceModel<${T.opName}, ${T.shapeName}> = {\n`;
    model_ts += `metadata: ${JSON.stringify(meta)},\n`;
    model_ts += `operations: {\n`;
    for (const name of operationNames) model_ts += `${name}:${JSON.stringify(operations[name])},\n`;
    model_ts += `},\nshapes: {\n`;
    for (const name of shapeNames) model_ts += `${name}:${JSON.stringify(shapes[name])},\n`;
    model_ts += `},\n};\n`;
  } else {
    const meta = {
      apiVersion: metadata.apiVersion, targetPrefix: metadata.targetPrefix, signingName: metadata.signingName,
      endpointPrefix: metadata.endpointPrefix, jsonVersion: metadata.jsonVersion, protocol: metadata.protocol,
      serviceId: metadata.serviceId, serviceFullName: metadata.serviceFullName, uid: metadata.uid,
    };
    model_ts += `import type { OperationDef, ShapeDef } from '../model-types.js';\nimport type { ${T.opName}, ${T.shapeName} } from './${baseName}-types.js';\n\n`;
    model_ts += `export const ${constant} = ${JSON.stringify(meta)} as const;\n\n`;
    model_ts += `export const OPERATIONS: Readonly<Record<${T.opName}, OperationDef>> = {\n`;
    for (const name of operationNames) model_ts += `${name}:${JSON.stringify(operations[name])},\n`;
    model_ts += `};\n\nexport const SHAPES: Readonly<Record<${T.shapeName}, ShapeDef>> = {\n`;
    for (const name of shapeNames) model_ts += `${name}:${JSON.stringify(shapes[name])},\n`;
    model_ts += `};\n`;
  }

  // ---- <base>-types.ts: TypeScript types.
  // Plain scalar shapes are inlined as string / number / boolean in member positions; their aliases are still
  // exported except where the shape name is a global (String, Boolean), which <Prefix>ShapeTypes covers instead.
  function scalarType(s) {
    switch (s.type) {
      case 'string': return s.enum ? s.enum.map(quote).join(' | ') : 'string';
      case 'integer': case 'long': case 'double': case 'float': return 'number';
      case 'boolean': return 'boolean';
      case 'timestamp': return 'Date | number';
      case 'blob': return 'string';
      default: return undefined;
    }
  }
  const ref = (name) => {
    const s = shapes[name];
    if (s.type === 'structure' || s.type === 'list' || s.type === 'map' || s.enum) return name;
    return scalarType(s);
  };
  const refInList = (name) => (ref(name).includes('|') ? `(${ref(name)})` : ref(name));
  let types_ts = header('a TypeScript type for every shape');
  types_ts += `\n/** A JSON value: the type of document shapes (free-form JSON). */\nexport type ${T.doc} = null | boolean | number | string | ${T.doc}[] | { [key: string]: ${T.doc} };\n`;
  for (const name of shapeNames) {
    const s = shapes[name];
    const dep = s.deprecated ? '/** @deprecated */\n' : '';
    if (s.type === 'structure') {
      if (s.document) { types_ts += `\n${dep}export type ${name} = ${T.doc};\n`; continue; }
      const members = Object.entries(s.members);
      if (members.length === 0) { types_ts += `\n${dep}export type ${name} = Record<string, never>;\n`; continue; }
      const required = new Set(s.required ?? []);
      const depMembers = new Set(Object.entries(model.shapes[name].members ?? {}).filter(([, d]) => d.deprecated).map(([m]) => m));
      types_ts += `\n${dep}export interface ${name} {\n`;
      for (const [m, target] of members) types_ts += `${depMembers.has(m) ? '  /** @deprecated */\n' : ''}  ${m}${required.has(m) ? '' : '?'}: ${ref(target)};\n`;
      types_ts += `}\n`;
    } else if (s.type === 'list') {
      types_ts += `\n${dep}export type ${name} = ${refInList(s.member)}[];\n`;
    } else if (s.type === 'map') {
      types_ts += `\n${dep}export type ${name} = Record<string, ${ref(s.value)}>;\n`;
    } else if (!GLOBAL_NAMES.has(name)) {
      types_ts += `\n${dep}export type ${name} = ${scalarType(s)};\n`;
    }
  }
  types_ts += `\n/** Every shape name mapped to its type (scalar shapes included, whatever their name). */\nexport interface ${T.shapeTypes} {\n`;
  for (const name of shapeNames) types_ts += `  ${name}: ${GLOBAL_NAMES.has(name) ? scalarType(shapes[name]) : name};\n`;
  types_ts += `}\n\nexport type ${T.shapeName} = keyof ${T.shapeTypes};\n`;
  types_ts += `\n/** Every operation with its request and response types. */\nexport interface ${T.opTypes} {\n`;
  for (const name of operationNames) {
    const o = operations[name];
    types_ts += `  ${name}: { input: ${o.input ?? 'Record<string, never>'}; output: ${o.output ?? 'Record<string, never>'} };\n`;
  }
  types_ts += `}\n\nexport type ${T.opName} = keyof ${T.opTypes};\n`;

  return { files: [[`${baseName}-model.ts`, model_ts], [`${baseName}-types.ts`, types_ts]], summary: `${operationNames.length} operations, ${shapeNames.length} shapes` };
}

export function writeFiles(outDir, files) {
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of files) {
    const p = join(outDir, name);
    writeFileSync(p, text);
    console.log(`wrote ${p} (${text.length} bytes)`);
  }
}

function main(argv) {
  let modelsDir = DEFAULT_MODELS_DIR;
  const services = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--models') modelsDir = resolve(argv[++i]);
    else services.push(argv[i]);
  }
  if (services.length === 0) services.push(...Object.keys(SERVICES));
  const outDir = join(ROOT, 'libs', 'aws-model', 'src', 'gen');
  for (const service of services) {
    const conf = SERVICES[service];
    if (!conf) {
      console.error(`gen-aws-model: unknown service ${service} (known: ${Object.keys(SERVICES).join(', ')}); add it to SERVICES`);
      process.exit(1);
    }
    const file = `${service}.service-2.json`;
    const model = JSON.parse(readFileSync(join(modelsDir, file), 'utf8'));
    try {
      const { files, summary } = generate(model, { file, baseName: service, ...conf });
      writeFiles(outDir, files);
      console.log(`${service}: ${summary}`);
    } catch (e) {
      console.error(e.message);
      process.exit(1);
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
