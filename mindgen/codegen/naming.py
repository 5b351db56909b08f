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
    r"|^(onnx|pkg|_)\w*::",
    re.IGNORECASE,
)


def to_identifier(text: str, fallback: str) -> str:
    """Turns arbitrary source text into a plain ASCII identifier (not yet unique)."""
    normal = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    normal = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", normal)
    word = re.sub(r"[^0-9A-Za-z]+", "_", normal).strip("_").lower()
    word = re.sub(r"_+", "_", word)[:MAX_IDENTIFIER_LENGTH].rstrip("_")
    if not word:
        return fallback
    if word[0].isdigit():
        word = f"{fallback}_{word}"
    return word


def to_class_name(text: str, fallback: str = "Network") -> str:
    """Turns source text into a CamelCase class name."""
    words = to_identifier(text, "").split("_")
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    if not name or name[0].isdigit() or name in _PYTHON_RESERVED or name in MODULE_NAMES:
        name = fallback + name
    return name


def safe_label(text: str, limit: int = 80) -> str:
    """Text safe inside a comment or docstring: ASCII word characters and a few marks only."""
    label = re.sub(r"[^0-9A-Za-z_.:+-]", "_", text)
    return label if len(label) <= limit else label[: limit - 3] + "..."


def is_noise(name: str) -> bool:
    """True when a source name is an exporter's counter rather than a meaningful name."""
    return not name or bool(_NOISE.match(name))


def scope_hint(node_name: str, op_type: str) -> str:
    """Derives a module path ('layer1.0.conv1') from a scoped node name, or ''."""
    parts = [p for p in re.split(r"[/]", node_name) if p]
    if parts and re.fullmatch(rf"{re.escape(op_type)}(_\d+)?", parts[-1], re.IGNORECASE):
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

    def name(self, key: Hashable, hint: str, fallback: str = "value") -> str:
        """Returns the identifier for key, creating it from hint on first use."""
        if key in self._names:
            return self._names[key]
        base = to_identifier(hint, fallback)
        candidate, counter = base, 1
        while candidate in self._taken:
            counter += 1
            candidate = f"{base}_{counter}"
        self._taken.add(candidate)
        self._names[key] = candidate
        return candidate

    def __contains__(self, key: Hashable) -> bool:
        return key in self._names
