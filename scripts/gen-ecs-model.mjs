// Generates libs/ecs-model/src/gen/ecs-model.ts (a compact runtime model: operations, shapes, types,
// constraints, no documentation) and libs/ecs-model/src/gen/ecs-types.ts (a TypeScript type for every
// shape, the operation map) from the public botocore ECS model, with the generator in gen-aws-model.mjs
// (the `ecs` flavour: the files exactly as @berth/ecs-model has always had them).
// Run: node scripts/gen-ecs-model.mjs [path-to-ecs.service-2.json]
// The default model path is ../shared/reference/aws-api-models/ecs.service-2.json from the repo root.
// The output is committed (the model is outside the repo and nothing reads it at run time); do not edit it.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_MODELS_DIR, ROOT, generate, writeFiles } from './gen-aws-model.mjs';

const modelPath = process.argv[2] ? resolve(process.argv[2]) : join(DEFAULT_MODELS_DIR, 'ecs.service-2.json');
const model = JSON.parse(readFileSync(modelPath, 'utf8'));
try {
  const { files, summary } = generate(model, {
    file: 'ecs.service-2.json', baseName: 'ecs', prefix: 'Ecs', constant: 'ECS_METADATA', flavour: 'ecs', script: 'scripts/gen-ecs-model.mjs',
  });
  writeFiles(join(ROOT, 'libs', 'ecs-model', 'src', 'gen'), files);
  console.log(summary);
} catch (e) {
  console.error(e.message.replace('scripts/gen-ecs-model.mjs:', 'gen-ecs-model:'));
  process.exit(1);
}
