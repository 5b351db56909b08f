"""Built-in mappers, one module per operator family; importing a module registers its mappers."""

from mindgen.targets.mindspore.mappers import (  # noqa: F401
    activation,
    conv,
    elementwise,
    fused,
    linear,
    logic,
    normalization,
    pooling,
    reduce,
    shape_ops,
    tensor_ops,
)
