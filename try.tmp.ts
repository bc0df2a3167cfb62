import { readModelArtifacts } from './shared/model/layers-artifacts.js';
import { exportLayersModel } from './shared/engines/onnxruntime/export-layers-model.js';
import { SessionPool } from './shared/engines/onnxruntime/session-pool.js';
console.log(process.execArgv);
const dir = '/work/shared/fixtures/models/ipluv-dl-l8s2-uv/tfjs/landsatbiomeRGBI6';
const a = await readModelArtifacts(dir, 'model.json');
const e = exportLayersModel(a, { output: { activation: 'sigmoid', cloudChannel: 0 } });
const x = new Float32Array(512 * 512 * 4).map(() => Math.random() * 0.4);
for (const [sessions, intra] of [[1, 1], [1, 2], [2, 1]] as const) {
  const pool = await SessionPool.start({ onnx: e.onnx, sessions, intraOpThreads: intra, inputName: 'input', outputName: 'probability' });
  await Promise.all([pool.run(x, 1, 512, 512, 4), pool.run(x, 1, 512, 512, 4)]);
  const n = 12;
  let ticks = 0; const iv = setInterval(() => ticks++, 10);
  const t = performance.now(); const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: n }, () => pool.run(x, 1, 512, 512, 4)));
  const ms = (performance.now() - t) / n;
  clearInterval(iv); const cu = process.cpuUsage(c0); console.log("cpu s", (cu.user + cu.system) / 1e6, "wall s", (performance.now() - t) / 1000);
  console.log(`sessions ${sessions} x intra ${intra}: ${ms.toFixed(1)} ms/tile, ${(0.262144 / ms * 1000).toFixed(2)} Mpx/s, event-loop ticks ${ticks}`);
  await pool.close();
}
