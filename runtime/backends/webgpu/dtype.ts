// Element sizes of WebGPU buffers: the shared table (f16 and bf16 packed two to a 32-bit word,
// fp8 four to a word); buffers themselves are padded to 4 bytes by their creators.
export { elementBytes, elementCount, isFloat, tensorBytes } from "../../dtype.ts";
