// Print the plain `N passed, N failed` line CI reads, from vitest's JSON report.
import fs from "node:fs";
const file = process.argv[2];
let r;
try {
  r = JSON.parse(fs.readFileSync(file, "utf8"));
} catch (e) {
  console.log("0 passed, 1 failed");
  console.error(`no test report at ${file}: ${e.message}`);
  process.exit(1);
}
// Suites that failed to load count as failures too.
const failedSuites = (r.testResults ?? []).filter((s) => s.status === "failed" && (s.assertionResults ?? []).length === 0).length;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed`);
