// The package works in a browser: examples/browser/ (plain ES modules and an import map, no build
// step) runs a paged GQA kernel from generated/ on Chromium's WebGPU (SwiftShader, on the CPU) and
// checks it against its own plain-JS float64 reference. Debian's Chromium is driven headless by
// playwright-core; scripts/ensure-chromium.sh installs it before the test command runs, so a
// missing browser is a failure, never a skip.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../examples/browser/serve.mjs";
import { freshSeed } from "./reference/numeric.ts";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/**
 * --enable-unsafe-webgpu turns WebGPU on in Chromium on Linux; with no usable GPU it comes up on
 * SwiftShader (its Vulkan on the CPU), which --use-webgpu-adapter=swiftshader asks for outright.
 * The rest keeps Chromium off the network (this machine's network refuses its connections).
 */
const CHROMIUM_ARGS = [
  "--no-sandbox", // root in CI
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

interface PageResult {
  ok: boolean;
  error?: string;
  errors?: { out: number; lse: number };
  kernel?: string;
  variant?: string;
  seed?: number;
  adapter?: {
    vendor: string;
    architecture: string;
    isFallbackAdapter: boolean;
    features: string[];
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
    limits: Record<string, number>;
  } | null;
  gpuErrors?: string[];
  ms?: Record<string, number>;
}

describe("the @flashtile/kernels package in a browser", () => {
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run \`bash scripts/ensure-chromium.sh\` (apt-get install -y chromium)`);
    }
    server = await startServer({ port: 0 });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flashtile-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  it("runs gqa_paged.f32.g4.p16 on WebGPU (SwiftShader) and matches the float64 reference", async () => {
    const seed = freshSeed();
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });

    const url = `${server!.url}examples/browser/?seed=${seed}`;
    let result: PageResult;
    try {
      await page.goto(url);
      await page.waitForFunction(() => (window as { flashtileResult?: unknown }).flashtileResult !== undefined, null, {
        timeout: 150_000,
      });
      result = await page.evaluate(() => (window as unknown as { flashtileResult: PageResult }).flashtileResult);
    } catch (e) {
      const shown = await page.locator("body").innerText().catch(() => "(page text unavailable)");
      throw new Error(`${(e as Error).message}\nseed ${seed}\npage:\n${shown}\n${problems.join("\n")}`);
    }
    await page.close();

    const context_ = `seed ${seed} (replay: FLASHTILE_SEED=${seed}, or open ${url})\n` +
      `result: ${JSON.stringify(result, null, 2)}\n${problems.length ? problems.join("\n") : "no console errors"}`;
    expect(result.error, context_).toBeUndefined();
    expect(result.ok, context_).toBe(true);
    expect(result.kernel).toBe("gqa_paged.f32.g4.p16");
    expect(result.adapter, context_).toBeTruthy();
    expect(result.adapter!.architecture || result.adapter!.vendor, context_).not.toBe("");
    expect(result.errors!.out, context_).toBeLessThan(1e-5);
    expect(result.errors!.lse, context_).toBeLessThan(1e-5);
    expect(result.gpuErrors, context_).toEqual([]);
    // Console errors fail the test even when the numbers are right.
    expect(problems.filter((p) => !p.startsWith("console.warning")), context_).toEqual([]);
    console.log(
      `browser: ${result.adapter!.vendor}/${result.adapter!.architecture}, ${result.variant}, ` +
        `errors out ${result.errors!.out.toExponential(2)} lse ${result.errors!.lse.toExponential(2)}, ms ${JSON.stringify(result.ms)}`,
    );
  }, 180_000); // SwiftShader compiles the pipeline in ~10 s alone, more while other suites load the CPU
});
