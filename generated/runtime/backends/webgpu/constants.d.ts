/// <reference types="@webgpu/types" />
export declare const BufferUsage: {
  readonly MAP_READ: 1;
  readonly MAP_WRITE: 2;
  readonly COPY_SRC: 4;
  readonly COPY_DST: 8;
  readonly UNIFORM: 64;
  readonly STORAGE: 128;
  readonly QUERY_RESOLVE: 512;
};
export declare const MapMode: {
  readonly READ: 1;
  readonly WRITE: 2;
};
export declare const ShaderStage: {
  readonly COMPUTE: 4;
};
