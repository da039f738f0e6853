// Generates libs/ecs-model/src/gen/ecs-model.ts (a compact runtime model: operations, shapes, types,
// constraints, no documentation) and libs/ecs-model/src/gen/ecs-types.ts (a TypeScript type for every
// shape, the operation map) from the public botocore ECS model.
// Run: node scripts/gen-ecs-model.mjs [path-to-ecs.service-2.json]
// The default model path is ../shared/reference/aws-api-models/ecs.service-2.json from the repo root.
// The output is committed (the model is outside the repo and nothing reads it at run time); do not edit it.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modelPath = process.argv[2] ? resolve(process.argv[2]) : join(root, '..', 'shared', 'reference', 'aws-api-models', 'ecs.service-2.json');
const model = JSON.parse(readFileSync(modelPath, 'utf8'));
const outDir = join(root, 'libs', 'ecs-model', 'src', 'gen');

// Fail on anything this generator does not understand, rather than emit a model that is quietly wrong.
const SHAPE_KEYS = new Set(['type', 'members', 'documentation', 'enum', 'member', 'exception', 'fault', 'max', 'min', 'pattern', 'required', 'box', 'key', 'value', 'sensitive', 'document', 'deprecated', 'deprecatedMessage', 'deprecatedSince', 'error']);
const MEMBER_KEYS = new Set(['shape', 'documentation', 'box', 'deprecated', 'deprecatedMessage', 'deprecatedSince', 'idempotencyToken']);
const OPERATION_KEYS = new Set(['name', 'http', 'input', 'output', 'errors', 'documentation', 'idempotent', 'readonly', 'deprecated', 'deprecatedMessage']);
const TYPES = new Set(['structure', 'list', 'map', 'string', 'integer', 'long', 'double', 'float', 'boolean', 'timestamp', 'blob']);
const problems = [];
const check = (cond, what) => { if (!cond) problems.push(what); };

const { metadata } = model;
check(metadata.protocol === 'json' && metadata.jsonVersion === '1.1', `protocol is ${metadata.protocol} ${metadata.jsonVersion}, expected json 1.1`);
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const shapeNames = Object.keys(model.shapes).sort(byName);
const operationNames = Object.keys(model.operations).sort(byName);

const shapes = {};
for (const name of shapeNames) {
  const s = model.shapes[name];
  for (const k of Object.keys(s)) check(SHAPE_KEYS.has(k), `shape ${name}: unknown key ${k}`);
  check(TYPES.has(s.type), `shape ${name}: unknown type ${s.type}`);
  check(!s.timestampFormat, `shape ${name}: timestampFormat ${s.timestampFormat} (only epoch seconds is handled)`);
  const out = { type: s.type };
  if (s.type === 'structure') {
    out.members = {};
    for (const [m, def] of Object.entries(s.members ?? {})) {
      for (const k of Object.keys(def)) check(MEMBER_KEYS.has(k), `member ${name}.${m}: unknown key ${k}`);
      check(def.shape in model.shapes, `member ${name}.${m}: no shape ${def.shape}`);
      check(m !== '__proto__', `member ${name}.${m}: reserved name`);
      out.members[m] = def.shape;
    }
    if (s.required?.length) {
      for (const r of s.required) check(r in out.members, `shape ${name}: required ${r} is not a member`);
      out.required = s.required;
    }
  }
  if (s.type === 'list') { check(s.member?.shape in model.shapes, `list ${name}: bad member`); out.member = s.member.shape; }
  if (s.type === 'map') { check(s.key?.shape in model.shapes && s.value?.shape in model.shapes, `map ${name}: bad key/value`); out.key = s.key.shape; out.value = s.value.shape; }
  if (s.enum) { check(s.type === 'string', `shape ${name}: enum on ${s.type}`); out.enum = s.enum; }
  if (s.min !== undefined) out.min = s.min;
  if (s.max !== undefined) out.max = s.max;
  if (s.exception) out.exception = true;
  if (s.fault) out.fault = true;
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
  if (o.input) { check(shapes[o.input.shape]?.type === 'structure', `operation ${name}: input is not a structure`); out.input = o.input.shape; }
  if (o.output) { check(shapes[o.output.shape]?.type === 'structure', `operation ${name}: output is not a structure`); out.output = o.output.shape; }
  out.errors = (o.errors ?? []).map((e) => e.shape);
  for (const e of out.errors) check(shapes[e]?.exception, `operation ${name}: error ${e} is not an exception shape`);
  if (o.readonly) out.readonly = true;
  if (o.idempotent) out.idempotent = true;
  if (o.deprecated) out.deprecated = true;
  operations[name] = out;
}
if (problems.length) {
  console.error(`gen-ecs-model: the model has things this generator does not handle:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

const header = (what) => `// Generated by scripts/gen-ecs-model.mjs from ecs.service-2.json (${metadata.uid}): ${what}. Do not edit.\n`;

// ---- ecs-model.ts: the runtime model.
const meta = {
  apiVersion: metadata.apiVersion, targetPrefix: metadata.targetPrefix, signingName: metadata.signingName,
  endpointPrefix: metadata.endpointPrefix, jsonVersion: metadata.jsonVersion, protocol: metadata.protocol,
  serviceId: metadata.serviceId, serviceFullName: metadata.serviceFullName, uid: metadata.uid,
};
let model_ts = header('operations and shapes, no documentation');
model_ts += `import type { OperationDef, ShapeDef } from '../model-types.js';\nimport type { EcsOperationName, EcsShapeName } from './ecs-types.js';\n\n`;
model_ts += `export const ECS_METADATA = ${JSON.stringify(meta)} as const;\n\n`;
model_ts += `export const OPERATIONS: Readonly<Record<EcsOperationName, OperationDef>> = {\n`;
for (const name of operationNames) model_ts += `${name}:${JSON.stringify(operations[name])},\n`;
model_ts += `};\n\nexport const SHAPES: Readonly<Record<EcsShapeName, ShapeDef>> = {\n`;
for (const name of shapeNames) model_ts += `${name}:${JSON.stringify(shapes[name])},\n`;
model_ts += `};\n`;

// ---- ecs-types.ts: TypeScript types.
// Plain scalar shapes are inlined as string / number / boolean in member positions; their aliases are still
// exported except where the shape name is a global (String, Boolean), which EcsShapeTypes covers instead.
const GLOBAL_NAMES = new Set(['String', 'Boolean', 'Number', 'Object', 'Array', 'Date', 'Error', 'Function', 'Symbol', 'Map', 'Set', 'Promise', 'RegExp', 'Record', 'Partial', 'Required', 'Readonly', 'Pick', 'Omit', 'Exclude', 'Extract', 'Blob', 'Buffer', 'Request', 'Response', 'Headers', 'URL', 'Event', 'Console']);
const quote = (v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
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
/** The type expression for a reference to a shape. */
function ref(name) {
  const s = shapes[name];
  if (s.type === 'structure' || s.type === 'list' || s.type === 'map' || s.enum) return name;
  return scalarType(s);
}
const refInList = (name) => (ref(name).includes('|') ? `(${ref(name)})` : ref(name));
let types_ts = header('a TypeScript type for every shape');
types_ts += `\n/** A JSON value: the type of document shapes (free-form JSON). */\nexport type EcsDocument = null | boolean | number | string | EcsDocument[] | { [key: string]: EcsDocument };\n`;
for (const name of shapeNames) {
  const s = shapes[name];
  const dep = s.deprecated ? '/** @deprecated */\n' : '';
  if (s.type === 'structure') {
    if (s.document) { types_ts += `\n${dep}export type ${name} = EcsDocument;\n`; continue; }
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
types_ts += `\n/** Every shape name mapped to its type (scalar shapes included, whatever their name). */\nexport interface EcsShapeTypes {\n`;
for (const name of shapeNames) types_ts += `  ${name}: ${GLOBAL_NAMES.has(name) ? scalarType(shapes[name]) : name};\n`;
types_ts += `}\n\nexport type EcsShapeName = keyof EcsShapeTypes;\n`;
types_ts += `\n/** Every operation with its request and response types. */\nexport interface EcsOperationTypes {\n`;
for (const name of operationNames) {
  const o = operations[name];
  types_ts += `  ${name}: { input: ${o.input ?? 'Record<string, never>'}; output: ${o.output ?? 'Record<string, never>'} };\n`;
}
types_ts += `}\n\nexport type EcsOperationName = keyof EcsOperationTypes;\n`;

mkdirSync(outDir, { recursive: true });
for (const [file, text] of [['ecs-model.ts', model_ts], ['ecs-types.ts', types_ts]]) {
  const p = join(outDir, file);
  writeFileSync(p, text);
  console.log(`wrote ${p} (${text.length} bytes)`);
}
console.log(`${operationNames.length} operations, ${shapeNames.length} shapes`);
