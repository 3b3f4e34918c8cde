/**
 * Straight-through binarization: sign forward, surrogate gradients backward, scaling
 * factors and bit packing. Exposed as `bitgrad.binarize`.
 * @packageDocumentation
 */
export {};
