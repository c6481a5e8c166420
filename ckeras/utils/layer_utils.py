"""print_summary (``model.summary()``) in Keras 2's table format."""


def count_params(weights):
    return int(sum(w.value.size for w in {id(w): w for w in weights}.values()))


def print_summary(model, line_length=None, positions=None, print_fn=None):
    print_fn = print_fn or print
    sequential_like = type(model).__name__ == "Sequential" or all(
        len(v) <= 1 and (not v or len(v[0].inbound_layers) <= 1)
        for v in model.nodes_by_depth.values())
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        to_display = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        to_display = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    relevant = model._network_nodes

    def print_row(fields):
        line = ""
        for i, field in enumerate(fields):
            if i > 0:
                line = line[:-1] + " "
            line += str(field)
            line = line[:positions[i]]
            line += " " * (positions[i] - len(line))
        print_fn(line)

    print_fn("_" * line_length)
    print_row(to_display)
    print_fn("=" * line_length)

    def row(layer):
        try:
            output_shape = layer.output_shape
        except AttributeError:
            output_shape = "multiple"
        fields = [f"{layer.name} ({type(layer).__name__})", output_shape,
                  layer.count_params()]
        if sequential_like:
            print_row(fields)
            return
        connections = []
        for i, node in enumerate(layer._inbound_nodes):
            if f"{layer.name}_ib-{i}" not in relevant:
                continue
            for inbound, ni, ti in zip(node.inbound_layers, node.node_indices,
                                       node.tensor_indices):
                connections.append(f"{inbound.name}[{ni}][{ti}]")
        print_row(fields + [connections[0] if connections else ""])
        for c in connections[1:]:
            print_row(["", "", "", c])

    layers = model.layers
    for i, layer in enumerate(layers):
        row(layer)
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)
    trainable = count_params(model.trainable_weights)
    non_trainable = count_params(model.non_trainable_weights)
    print_fn(f"Total params: {trainable + non_trainable:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {non_trainable:,}")
    print_fn("_" * line_length)
