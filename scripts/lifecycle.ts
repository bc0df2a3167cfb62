// The dvc.yaml stages without DVC: `import` converts every params.yaml variant's HDF5 into a complete
// model directory (model, card, README, upstream LICENSE), `evaluate` runs the fixture scenes through
// it, `register` copies it into the registry's DVC-tracked directory, adds it and pushes its objects.
// Usage: tsx scripts/lifecycle.ts import|evaluate|register [variant...]   (default: all in params.yaml)
import { copyFile, cp, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { projectRoot } from '../shared/config/project-root.js';
import { readSceneManifest } from '../shared/lifecycle/eval-scenes.js';
import { evaluateModel, formatConfusionTable } from '../shared/lifecycle/evaluate.js';
import { importKerasModel } from '../shared/lifecycle/keras-import/index.js';
import { readLifecycleParams } from '../shared/lifecycle/lifecycle-params.js';
import { loadModelFromDir } from '../shared/model/load.js';
import { addOutput, pushOutputs } from '../shared/registry/index.js';

const STAGES = ['import', 'evaluate', 'register'] as const;

const root = projectRoot();
const [stage, ...only] = process.argv.slice(2);
if (!(STAGES as readonly (string | undefined)[]).includes(stage)) {
  process.stderr.write(`usage: tsx scripts/lifecycle.ts ${STAGES.join('|')} [variant...]\n`);
  process.exit(2);
}
const params = await readLifecycleParams(join(root, 'params.yaml'));
const at = (p: string) => resolve(root, p);

if (stage === 'import') {
  for (const key of only.length > 0 ? only : Object.keys(params.variants)) {
    const variant = params.variants[key];
    if (!variant) throw new Error(`no variant ${key} in params.yaml`);
    await rm(at(variant.out), { recursive: true, force: true });
    const imported = await importKerasModel(at(variant.hdf5), { outDir: at(variant.out), identity: variant, params });
    // The licence travels with the weights; the README says where they came from.
    await copyFile(join(dirname(at(variant.hdf5)), 'LICENSE.upstream'), join(at(variant.out), 'LICENSE'));
    await copyFile(at(variant.readme), join(at(variant.out), 'README.md'));
    process.stdout.write(`import ${key}: ${variant.hdf5} -> ${variant.out} (${imported.parameters} parameters, source md5 ${imported.sourceMd5})\n`);
  }
} else if (stage === 'register') {
  for (const key of only.length > 0 ? only : Object.keys(params.variants)) {
    const variant = params.variants[key];
    if (!variant) throw new Error(`no variant ${key} in params.yaml`);
    // The registered directory is exactly the imported one (DVC tracks it through <registry>.dvc).
    await rm(at(variant.registry), { recursive: true, force: true });
    await cp(at(variant.out), at(variant.registry), { recursive: true });
    const added = await addOutput(root, variant.registry);
    const pushed = await pushOutputs(root, { paths: [variant.registry] });
    process.stdout.write(`register ${key}: ${variant.registry} md5 ${added.md5} (${added.nfiles} files) -> remote ${pushed.remote}: ${pushed.uploaded} uploaded, ${pushed.present} present\n`);
  }
} else {
  const evaluate = params.evaluate;
  if (!evaluate) throw new Error('params.yaml has no evaluate section');
  const scenes = await readSceneManifest(at(evaluate.manifest), process.env.CLOUDSEG_FIXTURES ? { root: process.env.CLOUDSEG_FIXTURES } : {});
  for (const key of only.length > 0 ? only : evaluate.variants) {
    const variant = params.variants[key];
    if (!variant) throw new Error(`no variant ${key} in params.yaml`);
    const model = await loadModelFromDir(at(variant.out), { backend: 'auto', batchTiles: 1 });
    try {
      // Threshold and tiling come from params.yaml, so changing them re-runs evaluation without a re-import.
      const report = await evaluateModel(model, scenes, {
        outDir: at(join(evaluate.out, key)),
        threshold: params.model.threshold,
        tileSize: params.model.tile,
        overlap: params.model.overlap,
      });
      process.stdout.write(`evaluate ${key} -> ${join(evaluate.out, key)}\n${formatConfusionTable(report)}\n`);
    } finally {
      model.dispose();
    }
  }
}
