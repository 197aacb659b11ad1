/// <reference types="@webgpu/types" />
/** Compile `code`; throws one Error listing every error as file:line:col with the WGSL line. */
export declare function compileWgsl(
  device: GPUDevice,
  code: string,
  where: {
    kernel: string;
    file: string;
  },
): Promise<GPUShaderModule>;
/** `file:3:16: error: message`, then the source line and a caret under the offending span. */
export declare function formatMessage(m: GPUCompilationMessage, code: string, file: string): string;
