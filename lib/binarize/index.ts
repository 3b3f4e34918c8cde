/**
 * Straight-through binarization: sign forward, surrogate gradients backward, scaling
 * factors and bit packing. Exposed as `bitgrad.binarize`.
 * @packageDocumentation
 */
export { pack, packSync, unpack } from './pack';
export type { PackOptions, PackInputLayout } from './pack';
export { binarizeAndPack, binarizeAndPackSync } from './fused';
export type { BinarizeAndPackOptions, FusedEstimatorName } from './fused';
export { BitTensor } from '../bit-tensor';
export type { BitLayout } from '../bit-tensor';
export { ste, approxSign, swishSign, reste, resteSchedule, biper, ede, edeSchedule, rsign, fda, fdaSchedule } from './estimators';
export { elastic } from './estimators';
export type { ElasticOptions, ElasticGrads } from './estimators';
export {
  magnitudeAwareSign, xnor, xnorActivation, dorefa, ternaryWeights, libraPB, recu, recuTau, recuActivation, bivitWeights, multiBasis, xnorK, xnorKSync, xnorPlusPlus, elasticInit,
} from './scaling';
export type {
  ScaleInput, ScaleOutput, RowOptions, RowForward, RowBackward, RowBinarizer, MeanAbsSignOptions, DorefaOptions, TernaryOptions,
  LibraOptions, RecuOptions, RecuActivationOptions, BivitOptions, MultiBasisOptions, XnorKOptions, XnorPPOptions, XnorPPGrads,
} from './scaling';
export type {
  Estimator, EstimatorInput, EstimatorOutput, EstimatorOptions, BackwardResult, SteOptions, SwishSignOptions, ResteOptions,
  BiperOptions, EdeOptions, RsignOptions, RsignGrads, FdaOptions,
} from './estimators';
