"""Keras 2's ``keras.engine.topology`` path: the graph classes."""
from ckeras.engine.base_layer import Layer, to_list
from ckeras.engine.input_layer import Input, InputLayer
from ckeras.engine.input_spec import InputSpec
from ckeras.engine.network import GraphError, Network
from ckeras.engine.node import Node

Container = Network


def get_source_inputs(tensor, layer=None, node_index=None):
    """The Input tensors a tensor was computed from (deduplicated)."""
    if not hasattr(tensor, "_keras_history"):
        return tensor
    if layer is None or node_index is None:
        layer, node_index, _ = tensor._keras_history
    node = layer._inbound_nodes[node_index]
    if not node.inbound_layers:
        return node.input_tensors
    sources = []
    for x, inbound, ni in zip(node.input_tensors, node.inbound_layers, node.node_indices):
        for s in get_source_inputs(x, inbound, ni):
            if all(s is not t for t in sources):
                sources.append(s)
    return sources


__all__ = ["Layer", "Input", "InputLayer", "InputSpec", "Node", "Network", "Container",
           "GraphError", "get_source_inputs", "to_list"]
