"""ResNet-50 (He et al. 2015) as a task: the bottleneck network, written as pure functions.

Architecture (arXiv:1512.03385, table 1, "50-layer"): a 7x7/2 convolution with
64 filters, batch norm, ReLU and a 3x3/2 max pool; four stages of [3, 4, 6, 3]
bottleneck blocks of widths 64, 128, 256, 512 (expansion 4: a block outputs
4x its width); global average pooling and a fully connected layer to the
dataset's classes. A bottleneck block is

    y = relu(bn3(conv1x1(relu(bn2(conv3x3(relu(bn1(conv1x1(x)))))))) + shortcut(x))

where the shortcut is the identity, or (first block of a stage, where the shape
changes) a 1x1 convolution with batch norm (the paper's option B). The first
block of stages 2-4 downsamples by 2 in its first 1x1 convolution, as in the
paper (torchvision's "v1.5" moves that stride to the 3x3 convolution; the
parameter count is the same). Convolutions have no bias (batch norm's beta takes
its place), so at 224x224 with 1,000 classes the network has 25,557,032
trainable parameters: convolution kernels, batch norm gamma/beta, fc weights
and bias, exactly torchvision's count.

`width_multiplier` scales every width (stem and stages, rounded, at least 1)
and `image_size` the input resolution, so the same network runs small on a
CPU; the depth stays 50.

Batch norm uses the statistics of the current batch, in training and in
evaluation alike, with no running averages: a task's loss is a pure function
of (params, batch), so there is no state to carry, and this is what TaskSet's
batch-norm tasks do. Evaluation batches are as large as training batches, so
their statistics are as reliable. Consequently the loss and accuracy of an
example depend (slightly) on the other examples of its batch.

Inputs: square images of any stored size and 1 or 3 channels are resized to
`image_size` x `image_size` (averaging blocks when shrinking by a whole
factor, e.g. 128 -> 32, else bilinear), grey images are
repeated to 3 channels, and pixels are mapped from [0, 1] to [-1, 1]. No data
augmentation: the evaluation compares optimizers at a fixed problem.

Init: kernels He-normal (truncated, fan-in; the paper's reference [13]), batch
norm gamma 1 and beta 0, fc Glorot-uniform with zero bias.

References: He et al. 2015, arXiv:1512.03385; Ioffe & Szegedy 2015,
arXiv:1502.03167 (batch norm); He et al. 2015, arXiv:1502.01852 (init).
"""

from __future__ import annotations

from typing import Any

from taskset.datasets.base import DATASETS
from taskset.lazy import tf
from taskset.tasks import nn
from taskset.tasks.base import Task, frozen_config, gather_batch, split_tensors

FAMILY = "resnet50"
STAGE_BLOCKS = (3, 4, 6, 3)
STAGE_WIDTHS = (64, 128, 256, 512)
STEM_WIDTH = 64
EXPANSION = 4
BN_EPSILON = 1e-5
# Datasets the problem accepts: images with labels, all taskset datasets (ImageNet
# and Imagenette in `taskset.datasets.imagenet`); the embedded mnist5k works offline.
DATASET_POOL = ("imagenet2012", "imagenette", "cifar10", "cifar100", "imagenet_resized_32", "mnist5k")


@frozen_config
class ResNet50Config:
    """A ResNet-50 problem.

    Attributes:
      dataset: one of DATASET_POOL; gives the number of classes.
      image_size: input height and width after resizing (>= 32: five stride-2
        steps need at least one pixel left at the end).
      width_multiplier: scales every layer width (1.0 is the paper's network).
      batch_size: examples per training and evaluation batch (>= 2, batch norm
        needs a batch).
    """

    dataset: str
    image_size: int
    width_multiplier: float
    batch_size: int

    def validate(self) -> None:
        if self.dataset not in DATASET_POOL:
            raise ValueError(f"dataset {self.dataset!r} is not usable by resnet50; accepted: {list(DATASET_POOL)!r}")
        if self.image_size < 32:
            raise ValueError(f"image_size must be >= 32 (five stride-2 steps), got {self.image_size!r}")
        if not self.width_multiplier > 0:
            raise ValueError(f"width_multiplier must be > 0, got {self.width_multiplier!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 for batch statistics, got {self.batch_size!r}")


def scaled(width: int, multiplier: float) -> int:
    """`width` x `multiplier`, rounded, at least 1."""
    return max(1, int(round(width * multiplier)))


def block_plan(multiplier: float) -> list[tuple[str, int, int, int]]:
    """(name prefix, input channels, bottleneck width, stride) of every block, in order."""
    plan = []
    channels = scaled(STEM_WIDTH, multiplier)
    for stage, (blocks, width) in enumerate(zip(STAGE_BLOCKS, STAGE_WIDTHS)):
        width = scaled(width, multiplier)
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 0 else 1
            plan.append((f"stage{stage}/block{block}/", channels, width, stride))
            channels = width * EXPANSION
    return plan


def _conv_bn(shapes: dict[str, tuple[int, ...]], prefix: str, kernel: int, cin: int, cout: int) -> None:
    shapes[prefix + "conv/w"] = (kernel, kernel, cin, cout)
    shapes[prefix + "bn/gain"] = (cout,)
    shapes[prefix + "bn/bias"] = (cout,)


class ResNet50Task(Task):
    """ResNet-50 image classification (see the module docstring)."""

    family = FAMILY

    def required_datasets(self) -> tuple[str, ...]:
        return (self.config.dataset,)

    @property
    def num_classes(self) -> int:
        return DATASETS.get(self.config.dataset).info.num_classes

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        m = self.config.width_multiplier
        shapes: dict[str, tuple[int, ...]] = {}
        _conv_bn(shapes, "stem/", 7, 3, scaled(STEM_WIDTH, m))
        channels = scaled(STEM_WIDTH, m)
        for prefix, cin, width, stride in block_plan(m):
            _conv_bn(shapes, prefix + "a/", 1, cin, width)
            _conv_bn(shapes, prefix + "b/", 3, width, width)
            _conv_bn(shapes, prefix + "c/", 1, width, width * EXPANSION)
            if stride != 1 or cin != width * EXPANSION:
                _conv_bn(shapes, prefix + "shortcut/", 1, cin, width * EXPANSION)
            channels = width * EXPANSION
        shapes["fc/w"] = (channels, self.num_classes)
        shapes["fc/b"] = (self.num_classes,)
        return shapes

    def init(self, seed: int):
        params = {}
        for name, shape in self.param_shapes().items():
            if name.endswith("conv/w"):
                params[name] = nn.initialize("he_normal", shape, nn.param_seed(seed, name))
            elif name == "fc/w":
                params[name] = nn.initialize("glorot_uniform", shape, nn.param_seed(seed, name))
            elif name.endswith("/gain"):
                params[name] = tf.ones(shape)
            else:
                params[name] = tf.zeros(shape)
        return params

    def sample_batch(self, split: str, seed):
        batch = gather_batch(split_tensors(self.config.dataset, split), self.config.batch_size, seed)
        return {"image": preprocess(batch["image"], self.config.image_size), "label": batch["label"]}

    def logits(self, params, images):
        """Class scores [B, classes] of preprocessed `images` [B, S, S, 3]."""
        x = _conv_bn_apply(params, "stem/", images, stride=2)
        x = max_pool_3x3_stride2(tf.nn.relu(x))
        for prefix, cin, width, stride in block_plan(self.config.width_multiplier):
            shortcut = x
            if prefix + "shortcut/conv/w" in params:
                shortcut = _conv_bn_apply(params, prefix + "shortcut/", x, stride=stride)
            h = tf.nn.relu(_conv_bn_apply(params, prefix + "a/", x, stride=stride))
            h = tf.nn.relu(_conv_bn_apply(params, prefix + "b/", h, stride=1))
            x = tf.nn.relu(_conv_bn_apply(params, prefix + "c/", h, stride=1) + shortcut)
        return nn.dense(tf.reduce_mean(x, axis=[1, 2]), params["fc/w"], params["fc/b"])

    def loss(self, params, batch):
        return nn.softmax_cross_entropy(self.logits(params, batch["image"]), batch["label"])

    def accuracy(self, params, batch):
        """Fraction of the batch whose top-scoring class is the label (float32 scalar)."""
        predicted = tf.argmax(self.logits(params, batch["image"]), axis=-1, output_type=tf.int32)
        return tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(batch["label"], tf.int32)), tf.float32))


def max_pool_3x3_stride2(x):
    """`tf.nn.max_pool2d(x, 3, 2, "SAME")` as a max over nine strided slices.

    Same values; but its gradient is made of ordinary ops, whereas MaxPoolGrad
    has no deterministic XLA kernel, and the trainer runs XLA with op determinism.
    """
    height, width = x.shape[1], x.shape[2]
    out_h, out_w = -(-height // 2), -(-width // 2)
    pad_h, pad_w = max(2 * (out_h - 1) + 3 - height, 0), max(2 * (out_w - 1) + 3 - width, 0)
    # SAME padding puts the odd pixel at the bottom/right; padded cells never win the max.
    x = tf.pad(x, [[0, 0], [pad_h // 2, pad_h - pad_h // 2], [pad_w // 2, pad_w - pad_w // 2], [0, 0]],
               constant_values=x.dtype.min)
    windows = [x[:, i:i + 2 * out_h - 1:2, j:j + 2 * out_w - 1:2, :] for i in range(3) for j in range(3)]
    return tf.reduce_max(tf.stack(windows), axis=0)


def _conv_bn_apply(params: dict[str, Any], prefix: str, x, stride: int):
    y = nn.conv2d(x, params[prefix + "conv/w"], stride=stride)
    return batch_norm(y, params[prefix + "bn/gain"], params[prefix + "bn/bias"])


def batch_norm(x, gain, bias, eps: float = BN_EPSILON):
    """Batch norm of NHWC `x` with the batch's mean and (biased) variance, by TF's fused kernel.

    The same function as `taskset.tasks.nn.batch_norm` (equal up to rounding),
    as one op and one gradient op instead of ~10 and ~20: for the 53 batch
    norms of ResNet-50 that is 2.4x fewer graph ops, half the tracing time and
    2.5x faster CPU steps (measured at width 1/8, 32x32, batch 32).
    """
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, gain, bias, epsilon=eps, is_training=True)
    return y


def preprocess(images, size: int):
    """uint8 or [0, 1] float images [B, H, W, C] -> float32 [B, size, size, 3] in [-1, 1]."""
    x = tf.cast(images, tf.float32)
    if images.dtype == tf.uint8:
        x = x / 255.0
    height = x.shape[1]
    if height != size and height % size == 0:
        # Shrinking by a whole factor: average blocks (exact antialiasing, and unlike
        # tf.image.resize(antialias=True) it compiles under XLA).
        x = tf.nn.avg_pool2d(x, ksize=height // size, strides=height // size, padding="VALID")
    elif height != size or x.shape[2] != size:
        x = tf.image.resize(x, [size, size], method="bilinear")
    if x.shape[-1] == 1:
        x = tf.tile(x, [1, 1, 1, 3])
    return x * 2.0 - 1.0
