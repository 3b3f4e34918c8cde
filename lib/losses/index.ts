/**
 * Losses, each returning its value and the gradient with respect to its inputs from
 * one fused call. Exposed as `bitgrad.losses`.
 * @packageDocumentation
 */
export { bceWithLogits, bceWithLogitsSync } from './bce-with-logits';
export type { BceWithLogitsOptions, BceHostResult, BceTensorResult, WeightLike } from './bce-with-logits';
