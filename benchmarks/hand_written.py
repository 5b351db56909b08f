"""The benchmark architectures written by hand in MindSpore, as a careful person would port them.

Parameter names match the weight dicts of benchmarks/runtime_models.py, so `load_weights` puts
the ONNX model's numbers into these networks.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import nn, ops


class BasicBlock(nn.Cell):
    """Two 3x3 Conv-BN with ReLU and a residual; a 1x1 Conv-BN projection when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, pad_mode="pad", padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, pad_mode="pad", padding=1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.SequentialCell(
                [nn.Conv2d(cin, cout, 1, stride, pad_mode="valid"), nn.BatchNorm2d(cout)]
            )

    def construct(self, x):
        identity = x if self.down is None else self.down(x)
        out = ops.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return ops.relu(out + identity)


class HandResNet(nn.Cell):
    """Stem Conv-BN-ReLU, a block at `width`, a stride-2 block to 2*width, global pool, fc."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, pad_mode="pad", padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.layers = nn.SequentialCell([BasicBlock(width, width, 1), BasicBlock(width, 2 * width, 2)])
        self.fc = nn.Dense(2 * width, 10)

    def construct(self, x):
        x = self.layers(ops.relu(self.bn1(self.conv1(x))))
        return self.fc(ops.mean(x, (2, 3)))


class HandEncoderLayer(nn.Cell):
    """Post-norm self-attention plus ReLU feed-forward, heads split with reshape/transpose."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.scale = 1.0 / float(np.sqrt(self.head_dim))
        self.query, self.key, self.value = nn.Dense(dim, dim), nn.Dense(dim, dim), nn.Dense(dim, dim)
        self.output = nn.Dense(dim, dim)
        self.norm1 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.intermediate = nn.Dense(dim, 4 * dim)
        self.ffn_out = nn.Dense(4 * dim, dim)
        self.norm2 = nn.LayerNorm((dim,), epsilon=1e-5)

    def _heads(self, x, batch: int, seq: int):
        """(batch, seq, dim) to (batch, heads, seq, head_dim)."""
        return ops.transpose(ops.reshape(x, (batch, seq, self.heads, self.head_dim)), (0, 2, 1, 3))

    def construct(self, x):
        batch, seq, dim = x.shape
        q = self._heads(self.query(x), batch, seq)
        k = self._heads(self.key(x), batch, seq)
        v = self._heads(self.value(x), batch, seq)
        probs = ops.softmax(ops.matmul(q, k.swapaxes(-1, -2)) * self.scale, -1)
        context = ops.reshape(ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3)), (batch, seq, dim))
        x = self.norm1(x + self.output(context))
        return self.norm2(x + self.ffn_out(ops.relu(self.intermediate(x))))


class HandEncoder(nn.Cell):
    """A stack of encoder layers."""

    def __init__(self, dim: int, heads: int, layers: int):
        super().__init__()
        self.layers = nn.SequentialCell([HandEncoderLayer(dim, heads) for _ in range(layers)])

    def construct(self, x):
        return self.layers(x)


def load_weights(network: nn.Cell, weights: dict[str, np.ndarray]) -> nn.Cell:
    """Puts the given arrays into the network's parameters; fails unless every name matches."""
    params = {name: ms.Parameter(ms.Tensor(value), name=name) for name, value in weights.items()}
    missing, unexpected = ms.load_param_into_net(network, params)
    if missing or unexpected:
        raise RuntimeError(f"weights do not match: missing {missing}, unexpected {unexpected}")
    network.set_train(False)
    return network
