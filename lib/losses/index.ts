/**
 * Losses, each returning its value and the gradient with respect to its inputs from
 * one fused call. Exposed as `bitgrad.losses`.
 * @packageDocumentation
 */
export { bceWithLogits, bceWithLogitsSync } from './bce-with-logits';
export type { BceWithLogitsOptions, BceHostResult, BceTensorResult, WeightLike } from './bce-with-logits';
export {
  binaryCrossEntropy,
  binaryCrossEntropySync,
  sigmoidFocalLoss,
  sigmoidFocalLossSync,
  softMarginLoss,
  softMarginLossSync,
  hingeEmbeddingLoss,
  hingeEmbeddingLossSync,
  klDiv,
  klDivSync,
  marginBce,
  marginBceSync,
} from './elementwise';
export type {
  ElementwiseLossOptions,
  WeightedLossOptions,
  BinaryCrossEntropyOptions,
  SigmoidFocalLossOptions,
  SoftMarginLossOptions,
  HingeEmbeddingLossOptions,
  KlDivOptions,
  MarginBceOptions,
  ElementwiseHostResult,
  ElementwiseTensorResult,
  KlDivHostResult,
  KlDivTensorResult,
} from './elementwise';
export { crossEntropy, crossEntropySync, nllLoss, nllLossSync, multiMarginLoss, multiMarginLossSync } from './cross-entropy';
export type { ClassLossOptions, CrossEntropyOptions, NllLossOptions, MultiMarginLossOptions, ClassLossHostResult, ClassLossTensorResult, ClassTarget } from './cross-entropy';
export {
  zLoss,
  zLossSync,
  compSumLoss,
  compSumLossSync,
  generalizedCrossEntropy,
  generalizedCrossEntropySync,
  rmtSymmetricCrossEntropy,
  rmtSymmetricCrossEntropySync,
  kdLoss,
  kdLossSync,
  decoupledSoftmax,
  decoupledSoftmaxSync,
  plackettLuceDistillation,
  plackettLuceDistillationSync,
  ldrKl,
  ldrKlSync,
  AldrKl,
  cbcLoss,
  cbcLossSync,
  passAtNLoss,
  passAtNLossSync,
} from './rowwise';
export type {
  RowLossOptions,
  RowLossHostResult,
  RowLossTensorResult,
  RowTarget,
  ZLossOptions,
  CompSumOptions,
  GeneralizedCrossEntropyOptions,
  TemperatureOptions,
  LdrScores,
  LdrKlOptions,
  AldrKlConfig,
  AldrKlOptions,
  CbcLossOptions,
  PassAtNOptions,
} from './rowwise';
export {
  diceLoss,
  diceLossSync,
  softIoULoss,
  softIoULossSync,
  basnetHybrid,
  basnetHybridSync,
  anyLoss,
  anyLossSync,
  mwLoss,
  mwLossSync,
  paBce,
  paBceSync,
  triBce,
  triBceSync,
} from './research';
export type {
  ResearchLossOptions,
  ReducibleLossOptions,
  BatchLossOptions,
  ResearchHostResult,
  ResearchTensorResult,
  TriBceHostResult,
  TriBceTensorResult,
  DiceLossOptions,
  SoftIoULossOptions,
  BasnetHybridOptions,
  AnyLossOptions,
  MwLossOptions,
  PaBceOptions,
  TriBceOptions,
} from './research';
