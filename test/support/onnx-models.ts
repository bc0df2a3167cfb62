// The PyTorch-exported ONNX fixtures (../shared/fixtures/onnx) as model directories the pipeline
// loads like any registry model: the .onnx file and a model card, in a temporary folder.
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, type NpyArray } from '../../shared/lifecycle/npz.js';
import { fixture } from './fixtures.js';

export const ONNX_FIXTURES = ['ipluv-rgbi-torch', 'seed-unet-3class'] as const;
export type OnnxFixture = (typeof ONNX_FIXTURES)[number];

const PRESETS = `presets:
  landsat8-l1: { scale: 0.00002, offset: -0.1 }
  sentinel2-l1c: { scale: 0.0001, offset: 0 }
  reflectance: { scale: 1, offset: 0 }
defaultPreset: { integer: sentinel2-l1c, float: reflectance }
`;

/** The card each fixture is served with: the shipped model's bands, presets and tiling. */
export const FIXTURE_CARDS: Record<OnnxFixture, string> = {
  'ipluv-rgbi-torch': `name: ipluv-rgbi-torch
version: 1.0.0
format: onnx
modelFile: model.onnx
bands: [blue, green, red, nir]
${PRESETS}tile: { size: 512, overlap: 64 }
sizeMultiple: 8
output: { activation: sigmoid }
threshold: 0.5
`,
  'seed-unet-3class': `name: seed-unet-3class
version: 0.1.0
format: onnx
modelFile: model.onnx
bands: [blue, green, red, nir]
${PRESETS}tile: { size: 256, overlap: 32 }
sizeMultiple: 4
output: { activation: linear }
classes:
  - { value: 0, name: clear, kind: clear }
  - { value: 1, name: cloud, kind: cloud, color: '#ffffff' }
  - { value: 2, name: shadow, kind: shadow }
`,
};

/** A fresh model directory holding the fixture as model.onnx and its card (or `card` instead). */
export async function onnxModelDir(name: OnnxFixture, card = FIXTURE_CARDS[name]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cloudseg-onnx-${name}-`));
  await mkdir(dir, { recursive: true });
  await copyFile(fixture('onnx', `${name}.onnx`), join(dir, 'model.onnx'));
  await writeFile(join(dir, 'model-card.yaml'), card);
  return dir;
}

/** The golden input [1, 4, 64, 64] NCHW and a fixture's golden probabilities and classes. */
export function onnxGolden(name: OnnxFixture): { input: NpyArray; probabilities: NpyArray; classes: NpyArray; margin: number | null } {
  const read = (file: string) => readNpy(readFileSync(fixture('onnx', file)), file);
  const golden = JSON.parse(readFileSync(fixture('onnx', 'golden.json'), 'utf8')) as Record<string, { smallest_top2_margin: number | null }>;
  return {
    input: read('golden-input.npy'),
    probabilities: read(`${name}.golden-probabilities.npy`),
    classes: read(`${name}.golden-classes.npy`),
    margin: golden[name]!.smallest_top2_margin,
  };
}

/** NCHW [1, c, h, w] as the pipeline's HWC scene. */
export function nchwToHwc(data: ArrayLike<number>, channels: number, height: number, width: number): Float32Array {
  const out = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c++) for (let p = 0; p < height * width; p++) out[p * channels + c] = data[c * height * width + p]!;
  return out;
}
