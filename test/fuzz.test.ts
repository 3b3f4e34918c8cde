// Seeded fuzz: random bad arguments at every public function. Each call must either
// return normally (the arguments happened to be valid) or throw / reject with a
// BitgradError carrying a code — never a TypeError from deep inside, never a crash.
// Later ops add themselves to TARGETS.
import * as bitgrad from '../lib';
import { rng } from './helpers';

type Target = { name: string; call: (a: unknown[]) => unknown };

function pool(r: () => number): unknown[] {
  const disposed = bitgrad.tensor(Float32Array.of(1, 2), [2], { device: 'cpu' });
  disposed.dispose();
  const f2 = bitgrad.tensor(Float32Array.of(0.5, 0.5), [2], { device: 'cpu' });
  const i2 = bitgrad.tensor(Int32Array.of(1, 2), [2], { device: 'cpu' });
  const u3 = bitgrad.tensor(Uint8Array.of(1, 2, 3), [3], { device: 'cpu' });
  return [
    undefined, null, 0, -1, 1, 2.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 31), 'cpu', 'cuda', 'cuda:99', 'x', '',
    true, false, {}, [], [1, 2], [-1], [2.5], [2, 3], [0], [1e12, 1e12], Symbol('s'), () => 1, BigInt(3),
    new Float32Array(0), Float32Array.of(0.5, 0.5), Float32Array.of(NaN, 2), new Float32Array(7).fill(Math.floor(r() * 3)),
    new Float64Array(2), new Int32Array(2), new Uint8Array(3), new ArrayBuffer(8), new DataView(new ArrayBuffer(4)),
    disposed, f2, i2, u3, { reduction: 'bogus' }, { reduction: 'none', gradOutput: 3 }, { weight: 'w' },
    { weight: Float32Array.of(1, 2, 3) }, { posWeight: NaN }, { shape: [3, 3] }, { shape: 'x' }, { grad: 'yes' },
    { checkTargets: 1 }, { device: 'tpu' }, { device: 'cuda:3' }, { weightShape: [-1] }, { gradOutput: f2 },
    { posWeight: i2 }, { weight: disposed }, { gradInto: f2 }, { gradInto: disposed }, { gradInto: new Float32Array(2) }, { into: f2 }, { into: disposed }, Object.create(null), new Proxy({}, {}), new Map(), new Date(0),
  ];
}

const live = bitgrad.tensor(Float32Array.of(1, 2), [2], { device: 'cpu' });

const TARGETS: Target[] = [
  { name: 'tensor', call: (a) => bitgrad.tensor(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'Tensor.to', call: (a) => live.to(a[0] as never) },
  { name: 'Tensor.data', call: (a) => (a[0] instanceof bitgrad.Tensor ? a[0].data() : live.data()) },
  { name: 'setMemoryCap', call: (a) => bitgrad.setMemoryCap(a[0] as never, a[1] as never) },
  { name: 'setSimd', call: (a) => bitgrad.setSimd(a[0] as never) },
  { name: 'setNumThreads', call: (a) => bitgrad.setNumThreads(a[0] as never) },
  { name: 'scope', call: (a) => bitgrad.scope(a[0] as never) },
  { name: 'scopeAsync', call: (a) => bitgrad.scopeAsync(a[0] as never) },
  { name: 'keep', call: (a) => bitgrad.keep(a[0] as never) },
  { name: 'synchronize', call: (a) => bitgrad.synchronize(a[0] as never) },
  { name: 'configure', call: (a) => bitgrad.configure(a[0] as never) },
  { name: 'losses.bceWithLogits', call: (a) => bitgrad.losses.bceWithLogits(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.bceWithLogitsSync', call: (a) => bitgrad.losses.bceWithLogitsSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.binaryCrossEntropy', call: (a) => bitgrad.losses.binaryCrossEntropy(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.binaryCrossEntropySync', call: (a) => bitgrad.losses.binaryCrossEntropySync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.sigmoidFocalLoss', call: (a) => bitgrad.losses.sigmoidFocalLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.sigmoidFocalLossSync', call: (a) => bitgrad.losses.sigmoidFocalLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.softMarginLoss', call: (a) => bitgrad.losses.softMarginLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.softMarginLossSync', call: (a) => bitgrad.losses.softMarginLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.hingeEmbeddingLoss', call: (a) => bitgrad.losses.hingeEmbeddingLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.hingeEmbeddingLossSync', call: (a) => bitgrad.losses.hingeEmbeddingLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.klDiv', call: (a) => bitgrad.losses.klDiv(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.klDivSync', call: (a) => bitgrad.losses.klDivSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.marginBce', call: (a) => bitgrad.losses.marginBce(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.marginBceSync', call: (a) => bitgrad.losses.marginBceSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.crossEntropy', call: (a) => bitgrad.losses.crossEntropy(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.crossEntropySync', call: (a) => bitgrad.losses.crossEntropySync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.nllLoss', call: (a) => bitgrad.losses.nllLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.nllLossSync', call: (a) => bitgrad.losses.nllLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.multiMarginLoss', call: (a) => bitgrad.losses.multiMarginLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.multiMarginLossSync', call: (a) => bitgrad.losses.multiMarginLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.zLoss', call: (a) => bitgrad.losses.zLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.zLossSync', call: (a) => bitgrad.losses.zLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.compSumLoss', call: (a) => bitgrad.losses.compSumLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.compSumLossSync', call: (a) => bitgrad.losses.compSumLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.generalizedCrossEntropy', call: (a) => bitgrad.losses.generalizedCrossEntropy(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.generalizedCrossEntropySync', call: (a) => bitgrad.losses.generalizedCrossEntropySync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.rmtSymmetricCrossEntropy', call: (a) => bitgrad.losses.rmtSymmetricCrossEntropy(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.rmtSymmetricCrossEntropySync', call: (a) => bitgrad.losses.rmtSymmetricCrossEntropySync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.kdLoss', call: (a) => bitgrad.losses.kdLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.kdLossSync', call: (a) => bitgrad.losses.kdLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.decoupledSoftmax', call: (a) => bitgrad.losses.decoupledSoftmax(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.decoupledSoftmaxSync', call: (a) => bitgrad.losses.decoupledSoftmaxSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.ldrKl', call: (a) => bitgrad.losses.ldrKl(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.ldrKlSync', call: (a) => bitgrad.losses.ldrKlSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.cbcLoss', call: (a) => bitgrad.losses.cbcLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.cbcLossSync', call: (a) => bitgrad.losses.cbcLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.passAtNLoss', call: (a) => bitgrad.losses.passAtNLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.passAtNLossSync', call: (a) => bitgrad.losses.passAtNLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.plackettLuceDistillation', call: (a) => bitgrad.losses.plackettLuceDistillation(a[0] as never, a[1] as never, a[2] as never, a[0] as never) },
  { name: 'losses.plackettLuceDistillationSync', call: (a) => bitgrad.losses.plackettLuceDistillationSync(a[0] as never, a[1] as never, a[2] as never, a[1] as never) },
  { name: 'losses.AldrKl', call: (a) => new bitgrad.losses.AldrKl(a[0] as never).lossSync(a[1] as never, a[2] as never, a[0] as never) },
  { name: 'losses.AldrKl.loss', call: (a) => new bitgrad.losses.AldrKl({ nTrain: 4 }).loss(a[0] as never, a[1] as never, a[2] as never, a[1] as never) },
  { name: 'losses.diceLoss', call: (a) => bitgrad.losses.diceLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.diceLossSync', call: (a) => bitgrad.losses.diceLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.softIoULoss', call: (a) => bitgrad.losses.softIoULoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.softIoULossSync', call: (a) => bitgrad.losses.softIoULossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.basnetHybrid', call: (a) => bitgrad.losses.basnetHybrid(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.basnetHybridSync', call: (a) => bitgrad.losses.basnetHybridSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.anyLoss', call: (a) => bitgrad.losses.anyLoss(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.anyLossSync', call: (a) => bitgrad.losses.anyLossSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.paBce', call: (a) => bitgrad.losses.paBce(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.paBceSync', call: (a) => bitgrad.losses.paBceSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.mwLoss', call: (a) => bitgrad.losses.mwLoss(a[0] as never, a[1] as never) },
  { name: 'losses.mwLossSync', call: (a) => bitgrad.losses.mwLossSync(a[0] as never, a[1] as never) },
  { name: 'losses.triBce', call: (a) => bitgrad.losses.triBce(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  { name: 'losses.triBceSync', call: (a) => bitgrad.losses.triBceSync(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  { name: 'binarize.pack', call: (a) => bitgrad.binarize.pack(a[0] as never, (typeof a[1] === 'object' && a[1] !== null ? { layout: ['nhwc', 'weights', 'rows'][Number(a[2] === true) + Number(a[2] === false) * 2], ...a[1] } : a[1]) as never) },
  { name: 'binarize.packSync', call: (a) => bitgrad.binarize.packSync(a[0] as never, (typeof a[1] === 'object' && a[1] !== null ? { layout: 'rows', ...a[1] } : a[1]) as never) },
  { name: 'binarize.unpack', call: (a) => bitgrad.binarize.unpack(a[0] as never) },
  { name: 'binarize.binarizeAndPack', call: (a) => bitgrad.binarize.binarizeAndPack(a[0] as never, (typeof a[1] === 'object' && a[1] !== null ? { layout: 'rows', estimator: a[2] === true ? 'rsign' : undefined, ...a[1] } : a[1]) as never) },
  { name: 'binarize.binarizeAndPackSync', call: (a) => bitgrad.binarize.binarizeAndPackSync(a[0] as never, (typeof a[1] === 'object' && a[1] !== null ? { layout: 'rows', alpha: a[2] as never, ...a[1] } : a[1]) as never) },
  { name: 'binarize.BitTensor.fromWords', call: (a) => bitgrad.binarize.BitTensor.fromWords(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.gemm', call: (a) => bitgrad.xnor.gemm(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.gemmSync', call: (a) => bitgrad.xnor.gemmSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.conv2d', call: (a) => bitgrad.xnor.conv2d(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.conv2dSync', call: (a) => bitgrad.xnor.conv2dSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.linear', call: (a) => bitgrad.xnor.linear(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  { name: 'xnor.linearSync', call: (a) => bitgrad.xnor.linearSync(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  { name: 'xnor.linearBackward', call: (a) => bitgrad.xnor.linearBackward(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  { name: 'xnor.linearBackwardSync', call: (a) => bitgrad.xnor.linearBackwardSync(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  { name: 'xnor.conv2dBackwardInput', call: (a) => bitgrad.xnor.conv2dBackwardInput(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.conv2dBackwardInputSync', call: (a) => bitgrad.xnor.conv2dBackwardInputSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.conv2dBackwardWeight', call: (a) => bitgrad.xnor.conv2dBackwardWeight(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'xnor.conv2dBackwardWeightSync', call: (a) => bitgrad.xnor.conv2dBackwardWeightSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.ste.forward', call: (a) => bitgrad.binarize.ste.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.ste.forwardSync', call: (a) => bitgrad.binarize.ste.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.ste.backward', call: (a) => bitgrad.binarize.ste.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.ste.backwardSync', call: (a) => bitgrad.binarize.ste.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.approxSign.forward', call: (a) => bitgrad.binarize.approxSign.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.approxSign.forwardSync', call: (a) => bitgrad.binarize.approxSign.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.approxSign.backward', call: (a) => bitgrad.binarize.approxSign.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.approxSign.backwardSync', call: (a) => bitgrad.binarize.approxSign.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.swishSign.forward', call: (a) => bitgrad.binarize.swishSign.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.swishSign.forwardSync', call: (a) => bitgrad.binarize.swishSign.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.swishSign.backward', call: (a) => bitgrad.binarize.swishSign.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.swishSign.backwardSync', call: (a) => bitgrad.binarize.swishSign.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.reste.forward', call: (a) => bitgrad.binarize.reste.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.reste.forwardSync', call: (a) => bitgrad.binarize.reste.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.reste.backward', call: (a) => bitgrad.binarize.reste.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.reste.backwardSync', call: (a) => bitgrad.binarize.reste.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.biper.forward', call: (a) => bitgrad.binarize.biper.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.biper.forwardSync', call: (a) => bitgrad.binarize.biper.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.biper.backward', call: (a) => bitgrad.binarize.biper.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.biper.backwardSync', call: (a) => bitgrad.binarize.biper.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.ede.forward', call: (a) => bitgrad.binarize.ede.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.ede.forwardSync', call: (a) => bitgrad.binarize.ede.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.ede.backward', call: (a) => bitgrad.binarize.ede.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.ede.backwardSync', call: (a) => bitgrad.binarize.ede.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.rsign.forward', call: (a) => bitgrad.binarize.rsign.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.rsign.forwardSync', call: (a) => bitgrad.binarize.rsign.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.rsign.backward', call: (a) => bitgrad.binarize.rsign.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.rsign.backwardSync', call: (a) => bitgrad.binarize.rsign.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.fda.forward', call: (a) => bitgrad.binarize.fda.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.fda.forwardSync', call: (a) => bitgrad.binarize.fda.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.fda.backward', call: (a) => bitgrad.binarize.fda.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.fda.backwardSync', call: (a) => bitgrad.binarize.fda.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.magnitudeAwareSign.forward', call: (a) => bitgrad.binarize.magnitudeAwareSign.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.magnitudeAwareSign.forwardSync', call: (a) => bitgrad.binarize.magnitudeAwareSign.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.magnitudeAwareSign.backward', call: (a) => bitgrad.binarize.magnitudeAwareSign.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.magnitudeAwareSign.backwardSync', call: (a) => bitgrad.binarize.magnitudeAwareSign.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.xnor.forward', call: (a) => bitgrad.binarize.xnor.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.xnor.forwardSync', call: (a) => bitgrad.binarize.xnor.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.xnor.backward', call: (a) => bitgrad.binarize.xnor.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.xnor.backwardSync', call: (a) => bitgrad.binarize.xnor.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.xnorActivation.forward', call: (a) => bitgrad.binarize.xnorActivation.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.xnorActivation.backward', call: (a) => bitgrad.binarize.xnorActivation.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.xnorActivation.forwardSync', call: (a) => bitgrad.binarize.xnorActivation.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.xnorActivation.backwardSync', call: (a) => bitgrad.binarize.xnorActivation.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.dorefa.forward', call: (a) => bitgrad.binarize.dorefa.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.dorefa.forwardSync', call: (a) => bitgrad.binarize.dorefa.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.dorefa.backward', call: (a) => bitgrad.binarize.dorefa.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.dorefa.backwardSync', call: (a) => bitgrad.binarize.dorefa.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.ternaryWeights.forward', call: (a) => bitgrad.binarize.ternaryWeights.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.ternaryWeights.forwardSync', call: (a) => bitgrad.binarize.ternaryWeights.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.ternaryWeights.backward', call: (a) => bitgrad.binarize.ternaryWeights.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.ternaryWeights.backwardSync', call: (a) => bitgrad.binarize.ternaryWeights.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.recuActivation.forward', call: (a) => bitgrad.binarize.recuActivation.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.recuActivation.backwardSync', call: (a) => bitgrad.binarize.recuActivation.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.libraPB.forward', call: (a) => bitgrad.binarize.libraPB.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.libraPB.forwardSync', call: (a) => bitgrad.binarize.libraPB.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.libraPB.backward', call: (a) => bitgrad.binarize.libraPB.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.libraPB.backwardSync', call: (a) => bitgrad.binarize.libraPB.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.recu.forward', call: (a) => bitgrad.binarize.recu.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.recu.forwardSync', call: (a) => bitgrad.binarize.recu.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.recu.backward', call: (a) => bitgrad.binarize.recu.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.recu.backwardSync', call: (a) => bitgrad.binarize.recu.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.bivitWeights.forward', call: (a) => bitgrad.binarize.bivitWeights.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.bivitWeights.forwardSync', call: (a) => bitgrad.binarize.bivitWeights.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.bivitWeights.backward', call: (a) => bitgrad.binarize.bivitWeights.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.bivitWeights.backwardSync', call: (a) => bitgrad.binarize.bivitWeights.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.multiBasis.forward', call: (a) => bitgrad.binarize.multiBasis.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.multiBasis.forwardSync', call: (a) => bitgrad.binarize.multiBasis.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.multiBasis.backward', call: (a) => bitgrad.binarize.multiBasis.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.multiBasis.backwardSync', call: (a) => bitgrad.binarize.multiBasis.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.elastic.forward', call: (a) => bitgrad.binarize.elastic.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.elastic.forwardSync', call: (a) => bitgrad.binarize.elastic.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.elastic.backward', call: (a) => bitgrad.binarize.elastic.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.elastic.backwardSync', call: (a) => bitgrad.binarize.elastic.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.xnorPlusPlus.forward', call: (a) => bitgrad.binarize.xnorPlusPlus.forward(a[0] as never, a[1] as never) },
  { name: 'binarize.xnorPlusPlus.forwardSync', call: (a) => bitgrad.binarize.xnorPlusPlus.forwardSync(a[0] as never, a[1] as never) },
  { name: 'binarize.xnorPlusPlus.backward', call: (a) => bitgrad.binarize.xnorPlusPlus.backward(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.xnorPlusPlus.backwardSync', call: (a) => bitgrad.binarize.xnorPlusPlus.backwardSync(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'binarize.xnor.forwardSync into', call: (a) => bitgrad.binarize.xnor.forwardSync(a[0] as never, { into: a[1] as never, shape: a[2] as never }) },
  { name: 'binarize.libraPB.backward into', call: (a) => bitgrad.binarize.libraPB.backward(a[0] as never, a[1] as never, { into: a[2] as never }) },
  { name: 'binarize.multiBasis.backwardSync into', call: (a) => bitgrad.binarize.multiBasis.backwardSync(a[0] as never, a[1] as never, { into: a[2] as never }) },
  { name: 'binarize.recu.forward into', call: (a) => bitgrad.binarize.recu.forward(a[0] as never, { into: a[1] as never }) },
  { name: 'binarize.xnorPlusPlus.forwardSync into', call: (a) => bitgrad.binarize.xnorPlusPlus.forwardSync(a[0] as never, { into: a[1] as never, o: a[2] as never }) },
  { name: 'binarize.xnorKSync into', call: (a) => bitgrad.binarize.xnorKSync(a[0] as never, { kernel: 1, into: a[1] as never }) },
  { name: 'binarize.xnorK', call: (a) => bitgrad.binarize.xnorK(a[0] as never, a[1] as never) },
  { name: 'binarize.xnorKSync', call: (a) => bitgrad.binarize.xnorKSync(a[0] as never, a[1] as never) },
  { name: 'binarize.recuTau', call: (a) => bitgrad.binarize.recuTau(a[0] as never, a[1] as never) },
  { name: 'binarize.elasticInit', call: (a) => bitgrad.binarize.elasticInit(a[0] as never, a[1] as never) },
  { name: 'binarize.resteSchedule', call: (a) => bitgrad.binarize.resteSchedule(a[0] as never, a[1] as never) },
  { name: 'binarize.edeSchedule', call: (a) => bitgrad.binarize.edeSchedule(a[0] as never, a[1] as never) },
  { name: 'binarize.fdaSchedule', call: (a) => bitgrad.binarize.fdaSchedule(a[0] as never, a[1] as never) },
];

function isCoded(e: unknown): boolean {
  return e instanceof bitgrad.BitgradError && typeof e.code === 'string' && /^BITGRAD_[A-Z_]+$/.test(e.code);
}

test('1,500 random bad calls: coded errors only, no crash', async () => {
  const r = rng(20261129);
  const values = pool(r);
  const pick = () => values[Math.floor(r() * values.length)];
  const uncoded: string[] = [];
  let calls = 0;
  let threw = 0;
  for (let i = 0; i < 1500; i++) {
    const t = TARGETS[i % TARGETS.length];
    const args = [pick(), pick(), pick()];
    calls++;
    try {
      const out = t.call(args);
      if (out instanceof Promise) await out;
    } catch (e) {
      threw++;
      if (!isCoded(e)) uncoded.push(`${t.name}(${args.map((x) => String(typeof x === 'symbol' ? 'Symbol' : x)).join(', ')}): ${String(e)}`);
    }
  }
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
  bitgrad.setMemoryCap('cpu', 0);
  expect(uncoded.slice(0, 10)).toEqual([]);
  expect(calls).toBe(1500);
  expect(threw).toBeGreaterThan(1000);
});
