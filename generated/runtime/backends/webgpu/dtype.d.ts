/// <reference types="@webgpu/types" />
export { elementBytes, elementCount, isFloat, tensorBytes } from "../../dtype.js";
