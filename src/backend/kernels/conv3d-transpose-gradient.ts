/**
 * The gradient of Conv3DBackpropInputV2, the op behind tf.conv3dTranspose (and so
 * tf.layers.conv3dTranspose). tfjs-core 4.22 registers none, so a 3D U-Net with transposed-conv
 * upsampling cannot be trained on any backend without this.
 *
 * The op computes Y = C_W^T D: D is its input named `dy` ([b, od, oh, ow, co]), W its input
 * named `filter` ([kd, kh, kw, ci, co]), C_W the forward 3D convolution with W (strides, pad)
 * that maps [b, d, h, w, ci] (attrs.inputShape, the op's output shape) to D's shape, and C_W^T
 * its adjoint. With G = dL/dY (shape of Y):
 *
 *   dL/dD = C_W G                       = conv3d(G, W, strides, pad)
 *   dL/dW: L = <G, C_W^T D> = <C_W G, D>, the forward conv of input G against output-gradient D,
 *          so dL/dW = conv3DBackpropFilter(x = G, dy = D, W.shape, strides, pad)
 *
 * (the same pair tfjs-core uses for Conv2DBackpropInput). Both are ordinary forward-direction
 * kernels (Conv3D, Conv3DBackpropFilterV2), which this project routes to fast and correct
 * implementations on wasm (./conv3d-backprop-filter.ts, ../native/conv-kernels.ts).
 * test/unet3d.test.ts checks the result against finite differences on the cpu backend.
 */
import * as tf from "@tensorflow/tfjs";

let registered = false;

/**
 * Register the gradient (once; later calls do nothing). If tfjs itself registered a gradient for
 * Conv3DBackpropInputV2 (a future version), that one is kept.
 */
export function registerConv3dTransposeGradient(): void {
  if (registered) return;
  registered = true;
  if (tf.getGradient(tf.Conv3DBackpropInputV2) !== undefined) return;
  tf.registerGradient({
    kernelName: tf.Conv3DBackpropInputV2,
    inputsToSave: ["dy", "filter"],
    gradFunc: (grad, saved, attrs) => {
      const g = grad as tf.Tensor5D;
      const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
      const { strides, pad } = attrs as unknown as tf.Conv3DBackpropInputV2Attrs;
      return {
        dy: () => tf.conv3d(g, filter, strides, pad),
        filter: () =>
          tf.engine().runKernel(tf.Conv3DBackpropFilterV2, { x: g, dy }, { strides, pad, filterShape: filter.shape }) as tf.Tensor5D,
      };
    },
  });
}
