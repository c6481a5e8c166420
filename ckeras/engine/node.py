"""Node: one call of a layer on some tensors (Keras 2's graph edge).

A layer called n times has n inbound nodes. Each node records the layers
that produced its inputs (with their node and tensor indices), the input
and output tensors and their shapes, and the keyword arguments of the
call. Creating a node registers it with every layer it connects.
"""


class Node:
    def __init__(self, outbound_layer, inbound_layers, node_indices, tensor_indices,
                 input_tensors, output_tensors, input_shapes, output_shapes,
                 input_masks=None, output_masks=None, arguments=None):
        self.outbound_layer = outbound_layer
        self.inbound_layers = inbound_layers
        self.node_indices = node_indices
        self.tensor_indices = tensor_indices
        self.input_tensors = input_tensors
        self.output_tensors = output_tensors
        self.input_shapes = input_shapes
        self.output_shapes = output_shapes
        self.input_masks = input_masks or [None] * len(input_tensors)
        self.output_masks = output_masks or [None] * len(output_tensors)
        self.arguments = arguments or {}
        for layer in inbound_layers:
            if layer is not None:
                layer._outbound_nodes.append(self)
        outbound_layer._inbound_nodes.append(self)

    def get_config(self):
        return {"outbound_layer": self.outbound_layer.name,
                "inbound_layers": [l.name for l in self.inbound_layers],
                "node_indices": self.node_indices,
                "tensor_indices": self.tensor_indices}
