#!/usr/bin/env bash
# The library as an adopter gets it: `npm pack`, then the tarball installed into a fresh project under
# .tmp/consumer. First with no client library at all (the memory adapters' declarations must compile
# with `skipLibCheck: false`), then next to the NEWEST major of every peer dependency, where the cache
# conformance suites run on Redis and one saga runs on SQLite. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=.tmp/consumer
npm_install() { npm install --no-audit --no-fund --loglevel=error "$@"; }

rm -rf "$dir" .tmp/pack
mkdir -p "$dir" .tmp/pack
npm pack --silent --pack-destination .tmp/pack >/dev/null
tarball=$(ls "$root"/.tmp/pack/*.tgz)
cp scripts/consumer/*.ts scripts/consumer/*.json "$dir"/
cd "$dir"
echo '{ "name": "bulwark-consumer", "private": true, "type": "module" }' >package.json

echo "--- the tarball alone: memory adapters compile without any client library's types"
npm_install "$tarball" typescript@5 @types/node
for client in ioredis pg better-sqlite3 mongodb prom-client; do
  if [ -e "node_modules/$client" ]; then echo "$client was installed with the tarball alone" >&2; exit 1; fi
done
npx tsc -p tsconfig.memory.json

echo "--- the newest major of every peer"
# On Node 20 the newest majors that run are vitest 4 and better-sqlite3 12: vitest 5 wants Node 22.12
# (its reporter calls Map.groupBy, so a failing test crashes the run) and better-sqlite3 13 wants Node 22.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -ge 22 ]; then vitest=5; else vitest=4; fi
# Install scripts are skipped: the only one that matters is better-sqlite3's native build, done below.
npm_install --ignore-scripts ioredis@6 "vitest@$vitest" mongodb@7 pg@8 prom-client@15 better-sqlite3@12 \
  @types/pg @types/better-sqlite3
node -p '["ioredis","vitest","mongodb","pg","prom-client","better-sqlite3"].map((p) => `${p}@${require(`./node_modules/${p}/package.json`).version}`).join(" ")'
# Compiling better-sqlite3 takes minutes on a small machine: reuse the binary `npm ci` built for the
# project when it is the same version (same Node, so same ABI), else build it.
ours="$root/node_modules/better-sqlite3"
if [ -f "$ours/build/Release/better_sqlite3.node" ] &&
  [ "$(node -p "require('$ours/package.json').version")" = "$(node -p "require('./node_modules/better-sqlite3/package.json').version")" ]; then
  mkdir -p node_modules/better-sqlite3/build/Release
  cp "$ours/build/Release/better_sqlite3.node" node_modules/better-sqlite3/build/Release/
else
  npm rebuild better-sqlite3
fi
npx tsc -p tsconfig.json
npx vitest run
