"""Deployment and training readiness: MINDIR export round trip, and a few optimizer steps."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx_ir as ir

from mindgen.verify.candidate import describe_failure, execution_mode, to_numpy
from mindgen.verify.compare import max_abs_difference, tolerance_for

# A source attribute and the generated cell's value agree within this (both are float32).
_ATTRIBUTE_TOLERANCE = 1e-6
# Dropout's observed drop rate on many ones may differ from p by sampling noise only.
_DROP_SAMPLES, _DROP_SLACK = 4096, 0.05


def export_mindir(
    network: Any,
    batch: Sequence[np.ndarray],
    network_outputs: Sequence[np.ndarray],
    reference_outputs: Sequence[np.ndarray],
    rtol: float | None,
    atol: float | None,
    target: Path | None,
) -> dict[str, object]:
    """Exports with mindspore.export(MINDIR), loads it into nn.GraphCell and compares the outputs."""
    import mindspore as ms
    from mindspore import nn

    tensors = [ms.Tensor(array) for array in batch]
    with tempfile.TemporaryDirectory(prefix="mindgen-mindir-") as folder:
        stem = target.with_suffix("") if target is not None else Path(folder) / "model"
        stem.parent.mkdir(parents=True, exist_ok=True)
        file = stem.with_name(stem.name + ".mindir")
        record: dict[str, object] = {"file": str(file) if target is not None else None, "passed": False}
        try:
            # Static shapes: the batch's own (exporting symbolic dims gave MINDIR files that failed to load).
            ms.export(network, *tensors, file_name=str(stem), file_format="MINDIR")
            record["bytes"] = file.stat().st_size
            graph = nn.GraphCell(ms.load(str(file)))
            results = graph(*tensors)
        except Exception as exc:  # MindSpore raises RuntimeError, ValueError, TypeError...
            record["problem"] = f"export or reload failed: {describe_failure(exc)}"
            return record
    results = [to_numpy(r) for r in (results if isinstance(results, (tuple, list)) else (results,))]
    if len(results) != len(reference_outputs):
        record["problem"] = f"the MINDIR graph returns {len(results)} outputs, not {len(reference_outputs)}"
        return record
    record["max_abs_vs_network"] = max(
        (max_abs_difference(a, b) for a, b in zip(results, network_outputs, strict=True)), default=0.0
    )
    record["max_abs_vs_reference"] = max(
        (max_abs_difference(a, b) for a, b in zip(results, reference_outputs, strict=True)), default=0.0
    )
    record["passed"] = all(
        a.shape == b.shape and tolerance_for(b.dtype, rtol, atol).allows(a, b)
        for a, b in zip(results, reference_outputs, strict=True)
    )
    if not record["passed"]:
        record["problem"] = "the reloaded MINDIR graph does not match the reference"
    return record


def train_step(
    load: Callable[[], Any],
    rows: Sequence[dict],
    members: Sequence[str],
    nodes: Sequence[ir.Node | None],
    batch: Sequence[np.ndarray],
    *,
    steps: int = 3,
    learning_rate: float = 0.01,
    seed: int = 0,
) -> dict[str, object]:
    """A few SGD steps on an MSE loss against random targets (PYNATIVE): do gradients and BN work?

    `members` and `nodes` give, per row of report.json "nodes", the path of the cell the node
    runs and the canonical graph node (for the source's attributes).
    """
    record: dict[str, object] = {"steps": steps, "learning_rate": learning_rate, "mode": "pynative"}
    problems: list[str] = []
    with execution_mode("pynative"):
        try:
            _train(
                load,
                list(zip(rows, members, nodes, strict=True)),
                batch,
                steps,
                learning_rate,
                seed,
                record,
                problems,
            )
        except Exception as exc:  # the network cannot even run: say so in the record
            problems.append(f"the train step failed: {describe_failure(exc)}")
    if "loss_after" in record and abs(record["loss_after"] - record["loss_before"]) <= 1e-7 * max(
        1.0, abs(record["loss_before"])
    ):
        problems.append("the loss did not change")
    record["problems"] = problems
    record["passed"] = not problems
    return record


def _train(
    load: Callable[[], Any],
    layers: list[tuple[dict, str, ir.Node | None]],
    batch: Sequence[np.ndarray],
    steps: int,
    learning_rate: float,
    seed: int,
    record: dict[str, object],
    problems: list[str],
) -> None:
    """The train step itself; fills record and problems as it goes."""
    import mindspore as ms

    network = load()
    inputs = [ms.Tensor(array) for array in batch]
    network.set_train(False)
    rng = np.random.default_rng(seed)
    targets = [
        ms.Tensor(rng.standard_normal(o.shape).astype(np.float32)) if o.dtype.kind == "f" else None
        for o in _as_list(network(*inputs))
    ]
    params = network.trainable_params()
    if not any(t is not None for t in targets) or not params:
        problems.append("no floating-point output to take a loss on" if params else "no trainable parameters")
        return

    def loss_fn(*args: Any) -> Any:
        outputs = network(*args)
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        total = 0.0
        for output, target in zip(outputs, targets, strict=True):
            if target is not None:
                total = total + ((output.astype(ms.float32) - target) ** 2).mean()
        return total

    # On a network of its own: the training forward pass it makes moves the moving statistics.
    record["batchnorm"] = _batchnorm_checks(load(), layers, inputs, problems)
    record["dropout"] = _dropout_checks(dict(network.cells_and_names()), layers, problems)
    record["loss_before"] = float(to_numpy(loss_fn(*inputs)))
    network.set_train(True)
    grad_fn = ms.value_and_grad(loss_fn, None, params)
    optimizer = ms.nn.SGD(params, learning_rate=learning_rate)
    losses: list[float] = []
    record["train_losses"] = losses
    for step in range(steps):
        loss, grads = grad_fn(*inputs)
        if step == 0:
            dead = [p.name for p, g in zip(params, grads, strict=True) if not _flows(to_numpy(g))]
            record["parameters"] = len(params)
            record["parameters_without_gradient"] = dead
            if dead:
                problems.append(f"no gradient reaches {len(dead)} parameter(s): {', '.join(dead[:5])}")
        optimizer(grads)
        losses.append(float(to_numpy(loss)))
    network.set_train(False)
    record["loss_after"] = float(to_numpy(loss_fn(*inputs)))


def _flows(gradient: np.ndarray) -> bool:
    return bool(np.isfinite(gradient).all() and np.any(gradient != 0))


def _batchnorm_checks(
    network: Any, layers: Sequence[tuple[dict, str, ir.Node | None]], inputs: list, problems: list[str]
) -> list[dict[str, object]]:
    """Each source BatchNormalization is a BatchNorm cell with the source momentum and epsilon,
    whose moving mean a training forward pass updates as new = m * old + (1 - m) * batch mean."""
    cells = dict(network.cells_and_names())
    checks = []
    seen: dict[str, np.ndarray] = {}
    handles = []
    for row, member, node in layers:
        if row["op_type"] != "BatchNormalization":
            continue
        cell = cells.get(member)
        bn = getattr(cell, "bn2d", cell)  # BatchNorm3d keeps its statistics in an inner 2-D cell
        if node is None or not hasattr(bn, "moving_mean"):
            problems.append(f"BatchNormalization {row['node']!r} is not a BatchNorm cell in model.py")
            continue
        momentum = node.attributes.get_float("momentum", 0.9)
        epsilon = node.attributes.get_float("epsilon", 1e-5)
        check = {
            "node": row["node"],
            "cell": member,
            "momentum": 1.0 - float(bn.momentum),  # MindSpore keeps 1 - momentum internally
            "epsilon": float(bn.eps),
            "source_momentum": momentum,
            "source_epsilon": epsilon,
        }
        check["attributes_match"] = (
            abs(check["momentum"] - momentum) <= _ATTRIBUTE_TOLERANCE
            and abs(check["epsilon"] - epsilon) <= _ATTRIBUTE_TOLERANCE
        )
        if not check["attributes_match"]:
            problems.append(f"BatchNorm {member} has momentum/epsilon other than the source's")
        check["_before"] = bn.moving_mean.asnumpy().copy()
        check["_bn"] = bn
        handles.append(bn.register_forward_pre_hook(_keep_input(seen, row["node"])))
        checks.append(check)
    if checks:
        network.set_train(True)
        network(*inputs)
        network.set_train(False)
    for handle in handles:
        handle.remove()
    for check in checks:
        before, bn = check.pop("_before"), check.pop("_bn")
        after = bn.moving_mean.asnumpy()
        batch = seen.get(str(check["node"]))
        if batch is None:
            check["statistics_update"] = False
        else:
            axes = tuple(i for i in range(batch.ndim) if i != 1)
            expected = check["source_momentum"] * before + (1 - check["source_momentum"]) * batch.mean(
                axis=axes
            )
            check["statistics_update"] = bool(np.allclose(after, expected, rtol=1e-4, atol=1e-5))
        if not check["statistics_update"]:
            problems.append(
                f"BatchNorm {check['cell']} does not update its moving mean with the source momentum"
            )
    return checks


def _keep_input(seen: dict[str, np.ndarray], key: str) -> Callable:
    def hook(cell: Any, inputs: tuple) -> None:
        seen[key] = to_numpy(inputs[0]).astype(np.float64)

    return hook


def _dropout_checks(
    cells: dict, layers: Sequence[tuple[dict, str, ir.Node | None]], problems: list[str]
) -> list[dict[str, object]]:
    """Each source Dropout: an nn.Dropout with the source ratio that drops that share in training."""
    import mindspore as ms
    from mindspore import nn

    checks = []
    for row, member, node in layers:
        if row["op_type"] != "Dropout":
            continue
        cell = cells.get(member)
        ratio = _dropout_ratio(node)
        check: dict[str, object] = {"node": row["node"], "cell": member, "source_ratio": ratio}
        if not isinstance(cell, nn.Dropout):
            problems.append(f"Dropout {row['node']!r} is not an nn.Dropout in model.py")
            check["p"] = None
            checks.append(check)
            continue
        check["p"] = float(cell.p)
        cell.set_train(True)
        kept = to_numpy(cell(ms.Tensor(np.ones(_DROP_SAMPLES, np.float32))))
        cell.set_train(False)
        check["dropped_in_training"] = float((kept == 0).mean())
        if ratio is not None and abs(check["p"] - ratio) > _ATTRIBUTE_TOLERANCE:
            problems.append(f"nn.Dropout {member} has p={check['p']:g}; the source ratio is {ratio:g}")
        elif abs(check["dropped_in_training"] - check["p"]) > _DROP_SLACK:
            problems.append(f"nn.Dropout {member} does not drop a share p of its input in training")
        checks.append(check)
    return checks


def _dropout_ratio(node: ir.Node | None) -> float | None:
    if node is None:
        return None
    if len(node.inputs) > 1 and node.inputs[1] is not None:
        ratio = node.inputs[1].const_value
        return float(ratio.numpy().item()) if ratio is not None else None
    return node.attributes.get_float("ratio", 0.5)


def _as_list(outputs: Any) -> list[np.ndarray]:
    return [to_numpy(o) for o in (outputs if isinstance(outputs, (tuple, list)) else (outputs,))]
