// `cloudseg registry resolve|pull|add|push|promote`: the DVC/GTO model registry from the command line.
// Flags are a contract (scripts depend on them); errors print their stable code and exit 1.
import type { Command } from 'commander';
import { registryCacheDir } from '../../shared/config/index.js';

interface RefFlags {
  repo: string;
  path?: string;
  artifact?: string;
  rev?: string;
  stage?: string;
  stageSelection?: string;
  remote?: string;
  remoteConfig?: string[];
  cacheDir?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function withRefFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--repo <repo>', 'the registry: a git URL (https://, file://) or a local path')
    .option('--path <path>', 'path of the DVC-tracked output in the repo (e.g. models/landsatbiomeRGBI6)')
    .option('--artifact <name>', 'or an artifact name declared in dvc.yaml (also the GTO name for --stage)')
    .option('--rev <rev>', 'branch, tag or commit (default: the repo HEAD)')
    .option('--stage <stage>', 'or a GTO stage, e.g. prod')
    .option('--stage-selection <rule>', "which live assignment of --stage wins: newest (gto show, dvc artifacts get) or semver (gto's Python API)", 'newest')
    .option('--remote <name>', "the default DVC remote (an output's own remote: still wins, as in DVC)")
    .option('--remote-config <key=value>', 'remote option override, repeatable (e.g. credentialpath=key.json)', collect)
    .option('--cache-dir <dir>', 'the local object cache (default: CLOUDSEG_MODEL_CACHE_DIR, else $TMPDIR/cloudseg-registry-cache)');
}

async function openFromFlags(flags: RefFlags) {
  const { openRegistry, registryRef, STAGE_SELECTIONS } = await import('../../shared/registry/index.js');
  if (!flags.path && !flags.artifact) fail('CONFIG_INVALID', 'give --path or --artifact');
  if (flags.rev && flags.stage) fail('CONFIG_INVALID', '--rev and --stage are exclusive');
  const stageSelection = STAGE_SELECTIONS.find((s) => s === flags.stageSelection);
  if (!stageSelection) fail('CONFIG_INVALID', `--stage-selection must be one of ${STAGE_SELECTIONS.join(', ')}`);
  const remoteConfig = flags.remoteConfig ? Object.fromEntries(flags.remoteConfig.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) : undefined;
  // The same cache the worker uses (CLOUDSEG_MODEL_CACHE_DIR), so neither downloads twice.
  const registry = openRegistry({ cacheDir: flags.cacheDir ?? registryCacheDir(process.env) });
  return { registry, ref: registryRef({ ...flags, remoteConfig, stageSelection }) };
}

function fail(code: string, message: string): never {
  process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.exit(1);
}

/** Runs a command body; a CloudsegError becomes {error: {code, message}} on stderr and exit 1. */
async function guarded(body: () => Promise<unknown>): Promise<void> {
  try {
    const out = await body();
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } catch (err) {
    const { describeError } = await import('../../shared/errors.js');
    const { code, message } = describeError(err);
    fail(code, message);
  }
}

export function registerRegistry(program: Command): void {
  const registry = program.command('registry').description('the DVC model registry: resolve, pull, add, push, promote');

  withRefFlags(registry.command('resolve').description('print {rev, tag, version, md5, files} of a reference as JSON')).action((flags: RefFlags) =>
    guarded(async () => {
      const { registry: reg, ref } = await openFromFlags(flags);
      const r = await reg.resolve(ref);
      return { rev: r.commit, tag: r.tag, version: r.version, md5: r.md5, isDir: r.isDir, path: r.path, remote: r.remoteUrl, files: r.files };
    }),
  );

  withRefFlags(registry.command('pull').description('materialise the files of a reference in a directory'))
    .requiredOption('-o, --output <dir>', 'where the files go (created; existing files with the same names are replaced)')
    .action((flags: RefFlags & { output: string }) =>
      guarded(async () => {
        const { cp } = await import('node:fs/promises');
        const { registry: reg, ref } = await openFromFlags(flags);
        const started = performance.now();
        const r = await reg.resolve(ref);
        const tree = await reg.pull(r);
        await cp(tree, flags.output, { recursive: true, force: true });
        return { rev: r.commit, tag: r.tag, version: r.version, md5: r.md5, output: flags.output, files: r.files.length, ms: Math.round(performance.now() - started) };
      }),
    );

  registry
    .command('add')
    .description('track a file or directory with DVC (writes DIR.dvc as DVC 3 does, caches its objects)')
    .argument('<dir>', 'the file or directory, inside a git repository')
    .action((dir: string) =>
      guarded(async () => {
        const { addOutput } = await import('../../shared/registry/index.js');
        return addOutput(await gitRoot(dir), dir);
      }),
    );

  registry
    .command('push')
    .description("upload the cached objects of the repo's DVC outputs to a remote")
    .option('--remote <name>', 'the remote (default: core.remote)')
    .action((opts: { remote?: string }) =>
      guarded(async () => {
        const { pushOutputs } = await import('../../shared/registry/index.js');
        return pushOutputs(await gitRoot('.'), opts.remote ? { remote: opts.remote } : {});
      }),
    );

  registry
    .command('promote')
    .description('assign a GTO stage (annotated tag NAME#STAGE#N), registering NAME@VERSION first when given')
    .argument('<name>', 'the GTO artifact name')
    .requiredOption('--stage <stage>', 'the stage, e.g. prod')
    .option('--version <version>', 'register this version (vX.Y.Z) at HEAD, or promote it if registered')
    .option('--ref <rev>', 'the commit to promote (default HEAD)')
    .action((name: string, opts: { stage: string; version?: string; ref?: string }) =>
      guarded(async () => {
        const { promote } = await import('../../shared/registry/index.js');
        return promote(await gitRoot('.'), name, { stage: opts.stage, ...(opts.version ? { version: opts.version } : {}), ...(opts.ref ? { ref: opts.ref } : {}) });
      }),
    );
}

async function gitRoot(from: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { dirname, resolve } = await import('node:path');
  const { stat } = await import('node:fs/promises');
  const start = resolve(from);
  const dir = (await stat(start).then((s) => s.isDirectory(), () => false)) ? start : dirname(start);
  try {
    return (await promisify(execFile)('git', ['-C', dir, 'rev-parse', '--show-toplevel'])).stdout.trim();
  } catch {
    return fail('CONFIG_INVALID', `${from} is not inside a git repository`);
  }
}
