// Exit 0 and print the adapter when Node can get a WebGPU adapter through Dawn; exit 1 otherwise.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
let dawn;
try {
  dawn = process.env.DAWN_NODE_PATH ? require(process.env.DAWN_NODE_PATH) : await import("webgpu");
} catch (e) {
  console.error(`cannot load Dawn for Node: ${e.message}`);
  process.exit(1);
}
const gpu = dawn.create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) process.exit(1);
const i = adapter.info;
console.log(`${i.vendor} ${i.architecture} ${i.description}`.trim());
process.exit(0);
