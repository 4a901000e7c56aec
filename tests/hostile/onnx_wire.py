"""A tiny protobuf wire-format writer for the ONNX messages the hostile suite needs (standard library only).

Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto,
TypeProto, TensorShapeProto, TensorProto, AttributeProto, OperatorSetIdProto). Strings are bytes, so
names can hold anything: control characters, NUL, bytes that are not UTF-8.
"""
import struct

FLOAT, INT64, BOOL = 1, 7, 9


def varint(v):
    v &= (1 << 64) - 1  # negative int64 values are 10-byte varints
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_varint(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_float(field, v):
    return key(field, 5) + struct.pack("<f", v)


def value_info(name, elem, shape):
    """ValueInfoProto: name, tensor type with `shape` (ints; None for a symbolic 'N')."""
    dims = b"".join(f_bytes(1, f_varint(1, d) if d is not None else f_bytes(2, b"N")) for d in shape)
    tensor_type = f_varint(1, elem) + f_bytes(2, dims)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def tensor(name, dims, elem=FLOAT, raw=None, floats=None):
    """TensorProto with `raw` bytes (raw_data) or `floats` (float_data)."""
    out = b"".join(f_varint(1, d) for d in dims) + f_varint(2, elem) + f_bytes(8, name)
    if floats is not None:
        out += f_bytes(4, b"".join(struct.pack("<f", x) for x in floats))  # packed
    if raw is not None:
        out += f_bytes(9, raw)
    return out


def attr_int(name, v):
    return f_bytes(1, name) + f_varint(3, v) + f_varint(20, 2)  # type INT


def node(op, inputs, outputs, name=b"", attrs=()):
    out = b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs)
    out += f_bytes(3, name) + f_bytes(4, op)
    out += b"".join(f_bytes(5, a) for a in attrs)
    return out


def graph(nodes, inputs, outputs, initializers=(), name=b"g"):
    out = b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, name)
    out += b"".join(f_bytes(5, t) for t in initializers)
    out += b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs)
    return out


def model(graph_bytes, opset=17, ir_version=8, producer=b"hostile"):
    return f_varint(1, ir_version) + f_bytes(2, producer) + f_bytes(7, graph_bytes) + f_bytes(8, f_bytes(1, b"") + f_varint(2, opset))


def relu_model(x=b"x", y=b"y", node_name=b"relu", shape=(1, 4), elem=FLOAT, op=b"Relu", graph_name=b"g", producer=b"hostile"):
    """x -> op -> y with the given names (the suite's carrier for hostile names)."""
    g = graph([node(op, [x], [y], node_name)], [value_info(x, elem, shape)], [value_info(y, elem, shape)], name=graph_name)
    return model(g, producer=producer)


def nested_model(depth):
    """A model whose graph nests `depth` If-node subgraphs (attribute 'then_branch') inside one another:
    ModelProto.graph -> node -> attribute -> g -> node -> ..., three message levels per step."""
    inner = graph([node(b"Relu", [b"x"], [b"y"], b"r")], [value_info(b"x", FLOAT, (1,))], [value_info(b"y", FLOAT, (1,))])
    for _ in range(depth):
        a = f_bytes(1, b"then_branch") + f_bytes(6, inner) + f_varint(20, 5)  # type GRAPH
        inner = graph([node(b"If", [b"c"], [b"y"], b"if", attrs=[a])], [value_info(b"c", BOOL, ())], [value_info(b"y", FLOAT, (1,))])
    return model(inner)


def npy(shape_text, descr="<f4", data=b"", major=1, header=None):
    """A .npy file with header dict text built from `shape_text` (e.g. '(2, 3)'), or `header` verbatim."""
    h = header if header is not None else "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    h = h.encode() if isinstance(h, str) else h
    pre = 10 if major == 1 else 12
    h += b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    out = b"\x93NUMPY" + bytes([major, 0])
    out += struct.pack("<H", len(h)) if major == 1 else struct.pack("<I", len(h))
    return out + h + data
