#!/usr/bin/env node
// The flashtile CLI. The compiler is TypeScript run directly through tsx's loader, so there is no
// build step between editing the compiler and using it.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../compiler/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
