#!/usr/bin/env bash
# The registry round trip: Quiver installed the way a user meets it.
#
#   pnpm build -> pack every package (pnpm rewrites workspace:* to versions) -> check the tarballs
#   -> start verdaccio 6.8.0 on a free 127.0.0.1 port (installed into a temp folder, never into the
#   workspace) -> publish every tarball to it -> in a scratch project OUTSIDE the workspace:
#   `npm i @quiver/ivf` alone (its internal dependencies must come from the registry), then the
#   install lines and the program of the root README's "Use Quiver in your project" section, run
#   with plain `node` (no tsx), a worker-thread check, a strict tsc over the published types,
#   `npx quiver conformance`, the installed `quiver main`, then each package README's example.
#
# The README section is the single source of what the user runs: this script extracts the
# block after `<!-- roundtrip:install -->` (shell lines) and after `<!-- roundtrip:program -->`
# (quickstart.mjs) from README.md, so the two cannot drift apart.
#
# Usage: scripts/registry-roundtrip.sh        (CI: .ci/run, after pnpm test)
# Env:   QUIVER_ROUNDTRIP_KEEP=1    keep the temp folder (its path is printed); by default it is
#                                   removed whatever happens (a failure prints the step's log tail)
#        QUIVER_VERDACCIO_DIR=<dir> reuse a folder where verdaccio@6.8.0 is already installed
#        QUIVER_ROUNDTRIP_SKIP_BUILD=1  use the existing dist/ (hand runs right after pnpm build)
# Needs: Node 20 + npm, pnpm (for build and pack), network access to the npm registry for the
#        third-party dependencies (only @quiver/* is served by the private registry).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
VERDACCIO_VERSION="6.8.0"
work="$(mktemp -d "${TMPDIR:-/tmp}/quiver-roundtrip.XXXXXX")"
case "$work/" in "$repo"/*) echo "registry round trip: temp folder $work is inside the workspace; set TMPDIR elsewhere" >&2; exit 2 ;; esac
mkdir -p "$work/logs" "$work/tmp"
# everything below (npm, the examples' mkdtemp folders) writes its temp files inside $work
export TMPDIR="$work/tmp"
# the summary goes to the script's own stdout/stderr even when a signal lands inside a step
# (whose output is redirected to its log file)
exec 3>&1 4>&2
verdaccio_pid=""
current="setup"
timings=""
t_start=$(date +%s%N)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$verdaccio_pid" ] && kill -0 "$verdaccio_pid" 2>/dev/null; then
    kill "$verdaccio_pid" 2>/dev/null || true
    # verdaccio exits on SIGTERM within a second; do not leave it behind
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$verdaccio_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$verdaccio_pid" 2>/dev/null || true
    wait "$verdaccio_pid" 2>/dev/null || true
  fi
  local total=$(( ($(date +%s%N) - t_start) / 1000000 ))
  cd /
  if [ "$rc" -eq 0 ]; then
    echo "registry round trip: PASS in $((total / 1000)).$(( (total % 1000) / 100 ))s ($timings)" >&3
  else
    echo "registry round trip: FAIL at step '$current' (exit $rc) after $((total / 1000))s" >&4
    if [ -f "$work/logs/$current.log" ]; then tail -n 40 "$work/logs/$current.log" >&4; fi
  fi
  if [ "${QUIVER_ROUNDTRIP_KEEP:-}" = "1" ]; then
    echo "registry round trip: kept $work" >&4
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step <name> <command...>: run with output to logs/<name>.log, record the wall time
step() {
  current="$1"
  shift
  local t0=$(date +%s%N)
  "$@" >"$work/logs/$current.log" 2>&1
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  timings="${timings:+$timings, }$current $((ms / 1000)).$(( (ms % 1000) / 100 ))s"
  echo "  ok  $current ($((ms / 1000)).$(( (ms % 1000) / 100 ))s)"
}

build() {
  if [ "${QUIVER_ROUNDTRIP_SKIP_BUILD:-}" = "1" ]; then echo "skipped (QUIVER_ROUNDTRIP_SKIP_BUILD=1)"; return; fi
  (cd "$repo" && pnpm build)
}

pack_all() {
  mkdir -p "$work/tarballs"
  # pnpm (not npm) packs: it rewrites workspace:* to the released versions and applies publishConfig
  (cd "$repo" && pnpm -r --filter './packages/*' pack --pack-destination "$work/tarballs")
  # what a user downloads: contents and sizes of every tarball
  node "$repo/scripts/registry-roundtrip/check-tarballs.mjs" "$repo" "$work/tarballs"
}

install_verdaccio() {
  if [ -n "${QUIVER_VERDACCIO_DIR:-}" ] && [ -x "$QUIVER_VERDACCIO_DIR/node_modules/.bin/verdaccio" ]; then
    ln -s "$QUIVER_VERDACCIO_DIR" "$work/verdaccio"
    return
  fi
  mkdir -p "$work/verdaccio"
  # 6.10.x needs Node 22; 6.8.0 runs on Node 20 once node-fetch is pinned to 2.7.0
  cat >"$work/verdaccio/package.json" <<'EOF'
{ "name": "quiver-roundtrip-verdaccio", "version": "0.0.0", "private": true, "overrides": { "node-fetch": "2.7.0" } }
EOF
  (cd "$work/verdaccio" && npm install "verdaccio@$VERDACCIO_VERSION" --ignore-scripts --no-audit --no-fund --loglevel=error)
}

start_verdaccio() {
  mkdir -p "$work/storage"
  local attempt i
  # a free port is probed, then bound by verdaccio: another process may take it in between, so a
  # verdaccio that exits at start is retried on a new port
  for attempt in 1 2 3; do
    port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
    registry="http://127.0.0.1:$port"
    # no uplinks: the registry serves only what is published here (third-party packages come from
    # the usual registry through the consumer's scoped registry line)
    cat >"$work/verdaccio.yaml" <<EOF
storage: $work/storage
uplinks: {}
packages:
  '@quiver/*':
    access: \$all
    publish: \$all
  '**':
    access: \$all
    publish: \$all
max_body_size: 100mb
web:
  enable: false
log: { type: stdout, format: pretty, level: warn }
EOF
    "$work/verdaccio/node_modules/.bin/verdaccio" --config "$work/verdaccio.yaml" --listen "127.0.0.1:$port" >"$work/logs/verdaccio-server.log" 2>&1 &
    verdaccio_pid=$!
    for i in $(seq 1 120); do
      if ! kill -0 "$verdaccio_pid" 2>/dev/null; then
        echo "verdaccio exited at start (attempt $attempt, port $port):"
        cat "$work/logs/verdaccio-server.log"
        verdaccio_pid=""
        continue 2
      fi
      if node -e "fetch('$registry/-/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
        echo "verdaccio $VERDACCIO_VERSION on $registry (pid $verdaccio_pid)"
        return
      fi
      sleep 0.5
    done
    echo "verdaccio did not answer /-/ping within 60 s"
    cat "$work/logs/verdaccio-server.log"
    return 1
  done
  return 1
}

publish_all() {
  # npm refuses to publish without a token even when the registry allows anonymous publishes
  printf '//127.0.0.1:%s/:_authToken=quiver-roundtrip-dummy-token\n' "$port" >"$work/publish.npmrc"
  cd "$work"
  local t pids=() rc=0
  for t in "$work"/tarballs/*.tgz; do
    npm publish "$t" --registry "$registry" --userconfig "$work/publish.npmrc" --access public --loglevel=warn &
    pids+=("$!")
  done
  for t in "${pids[@]}"; do wait "$t" || rc=1; done
  [ "$rc" -eq 0 ]
  npm view @quiver/ivf version --registry "$registry" --userconfig "$work/publish.npmrc"
}

scratch_project() {
  mkdir -p "$work/app"
  cd "$work/app"
  printf '{ "name": "quiver-roundtrip-app", "version": "0.0.0", "private": true, "type": "module" }\n' >package.json
  # only the @quiver scope comes from the private registry; everything else from the usual one
  printf '@quiver:registry=%s\n' "$registry" >.npmrc
}

# installing ONE package must pull its internal dependencies from the registry
install_one() {
  cd "$work/app"
  npm install @quiver/ivf --no-audit --no-fund --loglevel=error
  node "$repo/scripts/registry-roundtrip/check-install.mjs" "$work/app" "$registry" "$work/tarballs" @quiver/ivf
}

# the README's install lines, as written
install_readme() {
  cd "$work/app"
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" install >"$work/install.sh"
  cat "$work/install.sh"
  grep -q '^npm i' "$work/install.sh"
  bash -euo pipefail "$work/install.sh"
  node "$repo/scripts/registry-roundtrip/check-install.mjs" "$work/app" "$registry" "$work/tarballs" @quiver/ivf @quiver/cli
}

run_program() {
  cd "$work/app"
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" program >quickstart.mjs
  node quickstart.mjs
}

# step 2 of the README: the CLI lines, as written (over the quickstart's vectors.npy)
run_cli_lines() {
  cd "$work/app"
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" cli >"$work/cli.sh"
  cat "$work/cli.sh"
  bash -euo pipefail "$work/cli.sh"
}

# step 3: an engine writes an artifact; it validates (exit 0), a corrupted copy exits 1
run_artifact_validate() {
  cd "$work/app"
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" engine >engine.mjs
  node engine.mjs
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" validate >"$work/validate.sh"
  cat "$work/validate.sh"
  bash -euo pipefail "$work/validate.sh"
  rm -rf engine-artifact-broken && cp -r engine-artifact engine-artifact-broken
  local bucket rc=0
  bucket="$(find engine-artifact-broken -type f -name '*.arrow' | sort | head -n 1)"
  [ -n "$bucket" ]
  node -e 'const fs=require("fs");const f=process.argv[1];const b=fs.readFileSync(f);b[b.length>>1]^=0xff;fs.writeFileSync(f,b)' "$bucket"
  npx --no-install quiver artifact validate engine-artifact-broken || rc=$?
  [ "$rc" -eq 1 ]
}

# step 4: the README's cache backend, under the backend conformance suite in the user's vitest
run_backend_suite() {
  cd "$work/app"
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" backend >kv-backend.mjs
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" backend-test >kv-backend.test.mjs
  npx --no-install vitest run kv-backend.test.mjs
}

# the installed package's worker bootstrap and WASM kernels, on real worker threads
run_workers() {
  cd "$work/app"
  cp "$repo/scripts/registry-roundtrip/check-workers.mjs" check-workers.mjs
  node check-workers.mjs
}

# the installed CLI's main job: its reopen runs in a fresh process from compiled JavaScript
run_cli_main() {
  cd "$work/app"
  npx --no-install quiver main --rows 5000 --queries 100 --partitions 16
}

# the published .d.ts files: a strict TypeScript project compiles against them (and the quickstart)
run_types() {
  cd "$work/app"
  # the workspace's compiler (nothing more to download); types resolve from the scratch project
  # (@types/node comes with apache-arrow)
  [ -f node_modules/@types/node/package.json ] || npm install -D @types/node@20 --no-audit --no-fund --loglevel=error
  cp "$repo/scripts/registry-roundtrip/types-check.ts" types-check.ts
  cat >tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2022"], "module": "NodeNext", "moduleResolution": "NodeNext", "types": ["node"],
    "strict": true, "exactOptionalPropertyTypes": true, "noEmit": true, "skipLibCheck": false,
    "allowJs": true, "checkJs": true
  },
  "files": ["types-check.ts", "quickstart.mjs"]
}
EOF
  # skipLibCheck off so our .d.ts files are checked too (~7 s of CPU over 400 declaration files).
  # Errors inside third-party declarations are not ours to fix; any other error fails
  local out rc=0
  out="$(node "$repo/node_modules/typescript/bin/tsc" -p tsconfig.json 2>&1)" || rc=$?
  printf '%s\n' "$out"
  if printf '%s\n' "$out" | grep -E '^(node_modules/@quiver/|types-check\.ts|quickstart\.mjs)' >/dev/null; then return 1; fi
  if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -E '^node_modules/' >/dev/null; then return 1; fi
  echo "types: no tsc error in @quiver/* declarations, types-check.ts or quickstart.mjs (strict, skipLibCheck off; the published types are real, not any)"
}

run_conformance() {
  cd "$work/app"
  node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$repo/README.md" conformance >"$work/conformance.sh"
  cat "$work/conformance.sh"
  bash -euo pipefail "$work/conformance.sh"
  # an installed CLI pointed at a folder without a catalog: one line, exit 2, no stack trace
  local rc=0
  npx --no-install quiver conformance --root "$work/nowhere" 2>"$work/noroot.err" || rc=$?
  cat "$work/noroot.err"
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$work/noroot.err")" -eq 1 ] && grep -q CONFORMANCE_ROOT_NOT_FOUND "$work/noroot.err"
}

run_package_examples() {
  cd "$work/app"
  local readme name
  for readme in "$repo"/packages/*/README.md; do
    name="$(basename "$(dirname "$readme")")"
    if [ -f "$repo/packages/$name/test/readme-example.test.ts" ]; then
      # its example needs a server (e.g. redis-server); the package's own test runs it
      echo "== @quiver/$name: example run by packages/$name/test/readme-example.test.ts"
      continue
    fi
    echo "== @quiver/$name"
    case "$(node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$readme" example --lang)" in
      js)
        node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$readme" example >"example-$name.mjs"
        node "example-$name.mjs" ;;
      sh)
        node "$repo/scripts/registry-roundtrip/readme-blocks.mjs" "$readme" example >"example-$name.sh"
        bash -euo pipefail "example-$name.sh" ;;
      *) echo "packages/$name/README.md: the example block must be js or sh"; return 1 ;;
    esac
  done
}

echo "registry round trip (work folder $work)"
step build build
step pack pack_all
step verdaccio-install install_verdaccio
step verdaccio-start start_verdaccio
step publish publish_all
step scratch-project scratch_project
step install-one install_one
step install-readme install_readme
step program run_program
step cli-lines run_cli_lines
step artifact-validate run_artifact_validate
step backend-suite run_backend_suite
step workers run_workers
step types run_types
step conformance run_conformance
step cli-main run_cli_main
step package-examples run_package_examples
current="done"
