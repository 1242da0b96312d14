"""Layers that train the DCGAN faster on a CPU with the same weights and results as Keras's own: a fused BatchNorm,
and convolutions between 8x8 and 4x4 maps whose kernel gradient is one matrix product. `portable` swaps them back
for Keras's layers in files meant to load anywhere."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from anime_dcgan import distribute


@keras.saving.register_keras_serializable(package="anime_dcgan")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's BatchNormalization, trained with TensorFlow's fused kernel where it applies (4-d NHWC inputs, training,
    one replica): one op forward and one backward, in the input's dtype, where Keras's own layer runs several
    float32 ops over the whole feature map. The same weights and statistics: the moving variance takes the batch's
    biased variance, as Keras's does.
    """

    portable_class = layers.BatchNormalization

    def call(self, inputs, training=None, mask=None):
        if not training or mask is not None or self.synchronized or len(inputs.shape) != 4 or self.axis not in (-1, 3):
            return super().call(inputs, training=training, mask=mask)
        outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True
        )
        count = ops.cast(ops.prod(ops.shape(inputs)[:-1]), unbiased_variance.dtype)
        variance = unbiased_variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs


def portable(model: keras.Model, dtype: str | None = None) -> keras.Model:
    """A copy of `model` with Keras's own layers in place of the project's, for files that load anywhere with
    `keras.models.load_model` alone; with `dtype` (e.g. "float32"), every layer computes in it, whatever policy the
    model trained in, so that it draws the same on any CPU."""

    def plain(layer: layers.Layer) -> layers.Layer:
        config = layer.get_config()
        if dtype is not None:
            config["dtype"] = dtype
        return getattr(layer, "portable_class", type(layer)).from_config(config)

    copy = keras.models.clone_model(model, clone_function=plain)
    copy.set_weights(model.get_weights())
    return copy


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zeros before and after `size` pixels that TensorFlow's "same" padding adds for this kernel and stride."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def kernel_gradient(inputs, output_gradients, kernel_size: int, stride: int):
    """The gradient of a "same" convolution's kernel, [k, k, in, out], as one matrix product of the input's
    k x k patches by the output's gradients, in place of a backward-filter convolution."""
    rows, columns = (same_padding(size, kernel_size, stride) for size in inputs.shape[1:3])
    padded = tf.pad(inputs, [(0, 0), rows, columns, (0, 0)])
    patches = tf.image.extract_patches(padded, [1, kernel_size, kernel_size, 1], [1, stride, stride, 1],
                                       [1, 1, 1, 1], "VALID")  # fmt: skip
    in_channels, out_channels = inputs.shape[-1], output_gradients.shape[-1]
    product = tf.matmul(
        tf.reshape(patches, (-1, kernel_size * kernel_size * in_channels)),
        tf.reshape(output_gradients, (-1, out_channels)),
        transpose_a=True,
    )
    return tf.reshape(product, (kernel_size, kernel_size, in_channels, out_channels))


def on_accelerator() -> bool:
    """Whether training runs on a GPU or TPU, whose own kernel gradients the small-map layers keep."""
    return bool(tf.config.list_logical_devices("GPU")) or distribute.tpu_attached()


@keras.saving.register_keras_serializable(package="anime_dcgan")
class SmallMapConv2D(layers.Conv2D):
    """Keras's Conv2D ("same" padding, square kernel and stride) whose kernel gradient is one matrix product
    (`kernel_gradient`) when it trains on a CPU, where oneDNN's backward-filter convolution is slow between 8x8 and
    4x4 maps with hundreds of channels (measured by experiments/kernel_gradients.py, docs/performance.md); the
    networks' 8x8 <-> 4x4 layers use this class. The same weights and results as Conv2D."""

    portable_class = layers.Conv2D

    def convolution_op(self, inputs, kernel):
        if on_accelerator():
            return super().convolution_op(inputs, kernel)
        size, stride = self.kernel_size[0], self.strides[0]

        @tf.custom_gradient
        def convolve(inputs, kernel):
            def gradients(output_gradients):
                input_gradients = tf.nn.conv2d_transpose(
                    output_gradients, kernel, tf.shape(inputs), stride, padding="SAME"
                )
                return input_gradients, kernel_gradient(inputs, output_gradients, size, stride)

            return tf.nn.conv2d(inputs, kernel, stride, padding="SAME"), gradients

        return convolve(inputs, tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package="anime_dcgan")
class SmallMapConv2DTranspose(layers.Conv2DTranspose):
    """Keras's Conv2DTranspose ("same" padding, square kernel and stride) with `SmallMapConv2D`'s kernel gradient
    on a CPU: a transposed convolution's kernel gradient is that of the convolution from its output to its input."""

    portable_class = layers.Conv2DTranspose

    def call(self, inputs):
        if on_accelerator():
            return super().call(inputs)
        size, stride = self.kernel_size[0], self.strides[0]

        @tf.custom_gradient
        def convolve(inputs, kernel):
            batch, height, width = tf.shape(inputs)[0], inputs.shape[1], inputs.shape[2]
            output_shape = (batch, height * stride, width * stride, kernel.shape[2])

            def gradients(output_gradients):
                input_gradients = tf.nn.conv2d(output_gradients, kernel, stride, padding="SAME")
                return input_gradients, kernel_gradient(output_gradients, inputs, size, stride)

            return tf.nn.conv2d_transpose(inputs, kernel, output_shape, stride, padding="SAME"), gradients

        outputs = convolve(inputs, tf.convert_to_tensor(self.kernel))
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, (1, 1, 1, self.filters)))
        return self.activation(outputs) if self.activation is not None else outputs
