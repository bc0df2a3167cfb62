// What 1000 images cost on Cloud Functions at the worker size the Terraform deploys: measured
// seconds per image on this machine, scaled to the instance's vCPUs, priced per vCPU-second and
// GiB-second while a batch runs (request-based billing), plus one request per work batch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { projectRoot } from '../shared/config/index.js';
import { CLOUD_RUN_PRICES } from './prices.js';

export interface WorkerSize {
  vcpu: number;
  memoryGib: number;
  batchItems: number;
}

/** worker_cpu, worker_memory and flush_max_batch_items defaults from infra/gcp/variables.tf. */
export async function terraformWorkerSize(): Promise<WorkerSize> {
  const file = join(projectRoot(), 'infra', 'gcp', 'variables.tf');
  const json = (await parse('variables.tf', readFileSync(file, 'utf8'))) as { variable: Record<string, { default?: unknown }[]> };
  const value = (name: string) => {
    const v = json.variable[name]?.[0]?.default;
    if (v === undefined) throw new Error(`${file}: variable ${name} has no default`);
    return String(v);
  };
  const memory = value('worker_memory');
  const match = /^(\d+)(Mi|Gi)$/.exec(memory);
  if (!match) throw new Error(`${file}: worker_memory ${memory} is not like 4Gi or 4096Mi`);
  const memoryGib = match[2] === 'Gi' ? Number(match[1]) : Number(match[1]) / 1024;
  return { vcpu: Number(value('worker_cpu')), memoryGib, batchItems: Number(value('flush_max_batch_items')) };
}

/**
 * USD for `images` images given the seconds one image takes on `measuredCores` cores here. The
 * instance's vCPUs are assumed to scale throughput linearly from what was measured (an estimate:
 * say so wherever it is printed).
 */
export function costOf(images: number, secondsPerImageHere: number, measuredCores: number, size: WorkerSize): number {
  const secondsPerImage = (secondsPerImageHere * measuredCores) / size.vcpu;
  const batches = Math.ceil(images / size.batchItems);
  const billedSeconds = images * secondsPerImage;
  const p = CLOUD_RUN_PRICES;
  return billedSeconds * (size.vcpu * p.perVcpuSecond + size.memoryGib * p.perGibSecond) + (batches * p.perMillionRequests) / 1e6;
}
