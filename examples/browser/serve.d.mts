// Types of serve.mjs, for TypeScript importers (test/browser.test.ts).
export declare const ROOT: string;
export declare function startServer(opts?: { root?: string; port?: number; host?: string }): Promise<{
  port: number;
  url: string;
  close: () => Promise<void>;
}>;
