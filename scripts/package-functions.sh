#!/usr/bin/env bash
# Zips what Cloud Build needs to build both functions (sources, lock file, the bundled model) into
# out/function-source.zip, byte-identical for identical files, so Terraform redeploys only on change.
#   usage: scripts/package-functions.sh [output.zip]
# Cloud Build then runs `npm ci` and `npm run gcp-build` (tsc, then scripts/prune-runtime.mjs: with the
# CLOUDSEG_PRUNE_RUNTIME/CLOUDSEG_ENGINES Terraform sets, it drops the engines the deployment does not
# use and the files no engine loads), then `npm prune`. .npmrc goes along: it tells onnxruntime-node's
# install script to skip its optional CUDA download.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/function-source.zip}"
mkdir -p "$(dirname "$out")"

# Tracked files only: no node_modules, dist, test outputs or local secrets can slip in.
shipped=(package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json functions shared infra/local models scripts/prune-runtime.mjs)
git ls-files -z -- "${shipped[@]}" > "$out.list"
# gcp-build runs the prune script: a zip without it fails in Cloud Build, so fail here instead.
if ! tr '\0' '\n' < "$out.list" | grep -qx 'scripts/prune-runtime.mjs'; then
  rm -f "$out.list"
  echo "scripts/prune-runtime.mjs is not tracked by git: commit it (npm run gcp-build runs it in Cloud Build)" >&2
  exit 1
fi

python3 - "$out" "$out.list" <<'PY'
import sys, zipfile
out, listing = sys.argv[1], sys.argv[2]
names = sorted(n for n in open(listing, 'rb').read().decode().split('\0') if n)
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in names:
        # A fixed timestamp and mode: the zip's bytes depend on the file contents only.
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(name, 'rb') as f:
            z.writestr(info, f.read(), compresslevel=9)
print(f"{out}: {len(names)} files")
PY
rm -f "$out.list"
