/// <reference types="@webgpu/types" />

// WGSL compilation with errors people can act on. Dawn reports problems through
// getCompilationInfo() (line, column, message) and, separately, as an uncaptured validation
// error it prints to stderr; the error scope below captures the latter so that the one thrown
// Error is the whole story.

/** Compile `code`; throws one Error listing every error as file:line:col with the WGSL line. */
export async function compileWgsl(
  device: GPUDevice,
  code: string,
  where: { kernel: string; file: string },
): Promise<GPUShaderModule> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: `${where.kernel} (${where.file})`, code });
  const [info, scopeError] = await Promise.all([module.getCompilationInfo(), device.popErrorScope()]);

  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0) {
    throw new Error(
      `${where.kernel}: WGSL compilation failed\n${errors.map((m) => formatMessage(m, code, where.file)).join("\n")}`,
    );
  }
  if (scopeError) throw new Error(`${where.kernel}: WGSL compilation failed: ${scopeError.message}`);
  return module;
}

/** `file:3:16: error: message`, then the source line and a caret under the offending span. */
export function formatMessage(m: GPUCompilationMessage, code: string, file: string): string {
  if (!m.lineNum) return `${file}: ${m.type}: ${m.message}`;
  const line = code.split(/\r?\n/)[m.lineNum - 1] ?? "";
  const caret =
    " ".repeat(Math.max(0, m.linePos - 1)) +
    "^".repeat(Math.max(1, Math.min(m.length || 1, line.length - m.linePos + 1)));
  return `${file}:${m.lineNum}:${m.linePos}: ${m.type}: ${m.message}\n    ${line}\n    ${caret}`;
}
