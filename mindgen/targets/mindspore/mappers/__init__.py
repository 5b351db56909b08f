"""Built-in mappers, one module per operator family; importing a module registers its mappers."""

from mindgen.targets.mindspore.mappers import (  # noqa: F401
    activation,
    argmax,
    attention,
    conv,
    cumulative,
    elementwise,
    fused,
    indexing,
    linear,
    logic,
    losses,
    normalization,
    pooling,
    reduce,
    shape_ops,
    sorting,
    tensor_ops,
    transformer_ops,
)
