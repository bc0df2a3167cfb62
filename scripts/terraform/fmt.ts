// `terraform fmt` without terraform. terraform fmt is hclwrite's formatter (alignment, indentation,
// spacing — @cdktf/hcl-tools runs that same Go code compiled to wasm) plus three rewrites of its own
// (internal/command/fmt.go): interpolation-only values `"${x}"` become `x`, legacy quoted or bare
// collection types in variables get their modern spelling, and block labels are re-quoted. The first
// two are reported here from the source lines; the third cannot differ in a file hcl2json parses.
//
//   npm run infra:fmt             rewrites infra/gcp/*.tf and *.tfvars* with the formatter
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from '@cdktf/hcl-tools';
import { projectRoot } from '../../shared/config/project-root.js';

export interface FmtProblem {
  file: string;
  line: number;
  message: string;
}

/** The files terraform fmt formats in a module directory. */
export function fmtFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.(tf|tfvars)$|\.tfvars\.example$/.test(f)).sort();
}

export async function fmtProblems(file: string, text: string): Promise<FmtProblem[]> {
  const problems: FmtProblem[] = [];
  const formatted = await format(text);
  if (formatted !== text) {
    const [a, b] = [text.split('\n'), formatted.split('\n')];
    const line = a.findIndex((l, i) => l !== b[i]);
    problems.push({ file, line: line + 1, message: `not formatted: "${a[line]?.trim()}" should read "${b[line]?.trim()}"` });
  }
  text.split('\n').forEach((source, i) => {
    const value = /^\s*[\w-]+\s*=\s*"\$\{(.*)\}"\s*(#.*)?$/.exec(source)?.[1];
    // Only a single interpolation with no literal text around it is unwrapped by terraform fmt.
    if (value !== undefined && !value.includes('${') && !value.includes('"')) {
      problems.push({ file, line: i + 1, message: `interpolation-only value: write ${value}, not "\${${value}}"` });
    }
    if (/^\s*type\s*=\s*("(string|list|map)"|(list|map|set))\s*(#.*)?$/.test(source)) {
      problems.push({ file, line: i + 1, message: `legacy type spelling: ${source.trim()} (string, list(string), map(any), ...)` });
    }
  });
  return problems;
}

async function main(): Promise<void> {
  const dir = join(projectRoot(), 'infra', 'gcp');
  for (const file of fmtFiles(dir)) {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const formatted = await format(text);
    if (formatted !== text) {
      writeFileSync(path, formatted);
      process.stdout.write(`${file}\n`);
    }
    for (const p of await fmtProblems(file, formatted)) process.stdout.write(`${p.file}:${p.line}: ${p.message}\n`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) await main();
