"""Safe, readable Python identifiers for everything the generated code names."""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Hashable

MAX_IDENTIFIER_LENGTH = 48

# Public attributes of mindspore.nn.Cell (2.10): a layer stored under one of these names
# would shadow the Cell machinery, so they are never used as attribute names.
CELL_ATTRIBUTES = frozenset(
    """
    IGNORE_LIST T_destination add_flags add_flags_recursive apply arguments_key bprop_debug
    buffers cast_inputs cell_init_args cell_type cells cells_and_names check_names
    check_names_and_refresh_name cls_name compile compile_and_run compile_cache
    compile_phase compiled construct create_time enable_backward_hook exist_names exist_objs
    extend_repr generate_scope get_buffer get_extra_state get_flags get_func_graph_proto
    get_inputs get_mixed_precision_type get_parameters get_scope get_sub_cell global_cells
    grad_ops_label has_bprop init_parameters_data insert_child_to_cell insert_param_to_cell
    is_top_cell jit_config_dict load_state_dict mixed_precision_type name_cells
    named_buffers offload parallel_parameter_merge_net_dict parallel_parameter_name_list
    param_prefix parameter_layout_dict parameters_and_names parameters_broadcast_dict
    parameters_dict phase phase_cache pipeline_segment pipeline_stage recompute
    register_backward_hook register_backward_pre_hook register_buffer register_forward_hook
    register_forward_pre_hook register_load_state_dict_post_hook
    register_load_state_dict_pre_hook register_parameter_forward_hook
    register_saved_tensors_hooks register_state_dict_post_hook register_state_dict_pre_hook
    remove_redundant_parameters requires_grad run_construct set_boost set_broadcast_flag
    set_comm_fusion set_data_parallel set_extra_state set_grad set_inputs set_jit_config
    set_mixed_precision_type set_train shard state_dict to to_empty to_float
    total_instance_count trainable_params training untrainable_params update_cell_prefix
    update_cell_type update_parameters_name
    """.split()
)

# Names the generated module itself binds at top level.
MODULE_NAMES = frozenset({"ms", "nn", "ops", "np", "Parameter", "Tensor", "mindspore"})

_PYTHON_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))

# Source names that carry no meaning for a reader: exporter counters and internal ids.
_NOISE = re.compile(
    r"^(n|node|v|val|t|tmp|var|const|constant|initializer|onnx|_?v)?_?\d+$"
    r"|^(onnx|pkg|_)[\w.]*::",
    re.IGNORECASE,
)

# A TensorFlow operation ('Conv2D', 'MatMul_1') as the last segment of a scoped node name.
_TF_OP = re.compile(r"[A-Z][A-Za-z0-9]*(_\d+)?")


def _snake(text: str) -> str:
    """Lower-case ASCII words of text joined by underscores, or '' when none survive."""
    normal = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    normal = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", normal)
    word = re.sub(r"[^0-9A-Za-z]+", "_", normal).strip("_").lower()
    return re.sub(r"_+", "_", word)[:MAX_IDENTIFIER_LENGTH].rstrip("_")


def to_identifier(text: str, fallback: str = "value") -> str:
    """Turns arbitrary source text into a valid, non-keyword ASCII identifier (not yet unique)."""
    word = _snake(text)
    # The fallback is sanitised too: callers derive it from model text such as op types.
    prefix = _snake(fallback)
    if not prefix or prefix[0].isdigit():
        prefix = "value"
    if not word:
        word = prefix
    elif word[0].isdigit():
        word = f"{prefix}_{word}"
    return word + "_" if keyword.iskeyword(word) else word


def _camel(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in _snake(text).split("_") if w)


def _usable_class_name(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and name not in _PYTHON_RESERVED and name not in MODULE_NAMES


def to_class_name(text: str, fallback: str = "Network") -> str:
    """Turns source text into a CamelCase class name, prefixed by fallback when it cannot stand alone."""
    name = _camel(text)
    if _usable_class_name(name):
        return name
    prefix = _camel(fallback)
    return prefix + name if _usable_class_name(prefix + name) else "Network" + name


def safe_label(text: str, limit: int = 80) -> str:
    """Text safe inside a comment or docstring: ASCII word characters and a few marks only."""
    label = re.sub(r"[^0-9A-Za-z_.:+-]", "_", text)
    return label if len(label) <= limit else label[: limit - 3] + "..."


def is_noise(name: str) -> bool:
    """True when a source name is an exporter's counter rather than a meaningful name."""
    return not name or bool(_NOISE.match(name))


def scope_hint(node_name: str, op_type: str) -> str:
    """Derives a module path ('layer1.0.conv1') from a scoped node name, or ''."""
    parts = [p for p in node_name.split("/") if p]
    # Exporters end a scoped name with the operation: PyTorch with the ONNX op ('Conv_1'),
    # TensorFlow with its own CamelCase op ('Conv2D', 'FusedBatchNormV3'); layer names
    # are lower-case by Python and Keras convention.
    if parts and (
        re.fullmatch(rf"{re.escape(op_type)}(_\d+)?", parts[-1], re.IGNORECASE)
        or (len(parts) > 1 and _TF_OP.fullmatch(parts[-1]))
    ):
        parts.pop()
    # PyTorch scopes repeat the parent path: /layer1/layer1.0/conv1 means layer1.0.conv1.
    kept: list[str] = []
    for part in parts:
        if kept and part.startswith(kept[-1] + "."):
            kept[-1] = part
        else:
            kept.append(part)
    path = ".".join(kept)
    return "" if is_noise(path) else path


class Namespace:
    """Hands out unique identifiers in one scope; the same key always gets the same name."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()) -> None:
        self._taken: set[str] = set(reserved) | _PYTHON_RESERVED | MODULE_NAMES
        self._names: dict[Hashable, str] = {}
        # Per base, the counter to probe from (all lower ones are taken): 100k layers all hinted
        # 'conv' would otherwise probe conv_2, conv_3, ... anew each time (quadratic).
        self._probe_from: dict[str, int] = {}

    def name(self, key: Hashable, hint: str, fallback: str = "value") -> str:
        """Returns the identifier for key, creating it from hint on first use."""
        if key in self._names:
            return self._names[key]
        base = to_identifier(hint, fallback)
        counter = self._probe_from.get(base, 1)
        candidate = base if counter == 1 else f"{base}_{counter}"
        while candidate in self._taken:
            counter += 1
            candidate = f"{base}_{counter}"
        self._probe_from[base] = counter
        self._taken.add(candidate)
        self._names[key] = candidate
        return candidate

    def __contains__(self, key: Hashable) -> bool:
        return key in self._names
