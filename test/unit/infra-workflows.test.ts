// Checks the GitHub workflows without running them: they parse, CI runs .ci/run, deploy uses
// Workload Identity Federation, Terraform with remote state and one deploy at a time, and every
// `npm run X` they (or the scripts they call) use exists in package.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../shared/config/index.js';

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; ['working-directory']?: string }
interface Workflow {
  on: Record<string, unknown>;
  concurrency?: { group: string; ['cancel-in-progress']: boolean };
  permissions?: Record<string, string>;
  jobs: Record<string, { steps: Step[]; env?: Record<string, string> }>;
}

const ROOT = projectRoot();
const load = (name: string) => parse(readFileSync(join(ROOT, '.github', 'workflows', name), 'utf8')) as Workflow;
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((job) => job.steps);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
const scripts = pkg.scripts;
/** The Node major the project runs on: the pinned `node` devDependency. */
const nodeMajor = Number(pkg.devDependencies.node!.split('.')[0]);

/** `npm run X` (and `npm test`) in the run steps and in the shell files they start with `bash FILE`. */
function npmScriptsUsed(wf: Workflow): string[] {
  const texts = steps(wf).flatMap((s) => (s.run ? [s.run] : []));
  for (const text of [...texts]) {
    for (const [, file] of text.matchAll(/\bbash\s+([\w./-]+)/g)) {
      assert.ok(existsSync(join(ROOT, file!)), `${file} exists`);
      texts.push(readFileSync(join(ROOT, file!), 'utf8'));
    }
  }
  return texts.flatMap((t) => [...t.matchAll(/\bnpm (?:run\s+([\w:-]+)|(test|start)\b)/g)].map((m) => (m[1] ?? m[2])!));
}

test('ci and deploy set up the Node the project pins (the node devDependency), on actions that run on Node 24', () => {
  assert.equal(nodeMajor, 24);
  for (const wf of [load('ci.yml'), load('deploy.yml')]) {
    const setup = steps(wf).find((s) => s.uses?.startsWith('actions/setup-node'));
    assert.equal(setup?.with?.['node-version'], nodeMajor);
    // GitHub retires the node20 action runtime: checkout/setup-node/setup-java run on node24 from v5 on.
    for (const step of steps(wf).filter((s) => /^actions\/(checkout|setup-node|setup-java)@/.test(s.uses ?? ''))) {
      assert.ok(Number(/@v(\d+)/.exec(step.uses!)?.[1]) >= 5, `${step.uses} runs on the node24 action runtime`);
    }
  }
});

test('ci: on pull requests and pushes, the emulator installed, then .ci/run, which prints the Node the tests use', () => {
  const ci = load('ci.yml');
  assert.ok('pull_request' in ci.on && 'push' in ci.on);
  const all = steps(ci);
  assert.ok(all.some((s) => /google-cloud-cli-pubsub-emulator|pubsub-emulator/.test(s.run ?? '')), 'installs the emulator');
  assert.ok(all.some((s) => s.run?.trim() === 'bash .ci/run'));
  assert.deepEqual(npmScriptsUsed(ci).sort(), ['lint', 'test', 'typecheck']);
  // The version .ci/run reports is the one npm scripts run on (node_modules/.bin/node), not the system's.
  assert.match(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /npm exec -c 'node --version'/);
});

test('deploy: on push to main, one at a time, WIF auth without keys, terraform init/plan/apply with GCS state', () => {
  const deploy = load('deploy.yml');
  assert.deepEqual((deploy.on.push as { branches: string[] }).branches, ['main']);
  assert.deepEqual(deploy.concurrency, { group: 'deploy-${{ github.ref }}', 'cancel-in-progress': false });
  assert.equal(deploy.permissions?.['id-token'], 'write');
  const all = steps(deploy);
  const auth = all.find((s) => s.uses?.startsWith('google-github-actions/auth'));
  assert.ok(auth?.with?.workload_identity_provider && auth.with.service_account, 'WIF provider and service account');
  assert.doesNotMatch(readFileSync(join(ROOT, '.github', 'workflows', 'deploy.yml'), 'utf8'), /credentials_json|GOOGLE_APPLICATION_CREDENTIALS/);
  const runs = all.map((s) => s.run ?? '').join('\n');
  assert.match(runs, /terraform init[^\n]*-backend-config="bucket=/);
  assert.match(runs, /terraform plan -out=tfplan/);
  assert.match(runs, /terraform apply tfplan/);
  assert.match(runs, /scripts\/package-functions\.sh/);
  assert.ok(all.filter((s) => /^terraform /.test(s.run ?? '')).every((s) => s['working-directory'] === 'infra/gcp'));
  // Auth comes before the first terraform step.
  assert.ok(all.indexOf(auth!) < all.findIndex((s) => /terraform init/.test(s.run ?? '')));
});

test('every npm script the workflows use exists, and Cloud Build finds gcp-build', () => {
  for (const name of [...npmScriptsUsed(load('ci.yml')), ...npmScriptsUsed(load('deploy.yml'))]) {
    assert.ok(scripts[name], `package.json has script ${name}`);
  }
  // Cloud Build's Node.js buildpack runs `npm run gcp-build` after `npm ci`: it must compile dist/.
  assert.match(scripts['gcp-build'] ?? '', /npm run build/, 'package.json needs "gcp-build": "npm run build"');
});
