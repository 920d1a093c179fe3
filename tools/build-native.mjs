// Builds the native addon with node-gyp from the project's own C++ sources.
// Run by `npm install`. Node's headers come from the local Node installation
// (nothing is downloaded). A failed build does not fail the install: tsvision then
// runs on its reference kernels and says so once; CI refuses that state
// (TSVISION_REQUIRE_NATIVE=1 in .ci/run).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const args = ['rebuild', `-j`, 'max'];
// Use the running Node's own headers, e.g. /usr/include/node for /usr/bin/node.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const gyp = process.env.npm_config_node_gyp;
const [cmd, cmdArgs] = gyp ? [process.execPath, [gyp, ...args]] : ['node-gyp', args];
const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('\ntsvision: the native addon could not be built (see the compiler output above).');
  console.warn('tsvision will run on its slow reference kernels. Install a C++17 compiler, make and python3, then run `npm run build:native`.\n');
  if (process.env.TSVISION_REQUIRE_NATIVE === '1') process.exit(1);
}
