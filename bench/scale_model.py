#!/usr/bin/env python3
"""Writes a chain of N nodes as an ONNX model (opset 17, input [1,16]) for bench/scale.sh: blocks of
SiLU (Sigmoid + Mul), Relu and Clip(x, lo, hi) with two shared scalar initializers, so that the lite
preset rewrites one node in four and removes another (SiLU -> Relu, ReLU6 -> Relu).

    scale_model.py N OUT.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper


def chain(n):
    nodes, prev, i = [], "x", 0
    while len(nodes) < n:
        k = i % 3
        if k == 0 and len(nodes) + 2 <= n:
            s, m = f"s{i}", f"m{i}"
            nodes.append(helper.make_node("Sigmoid", [prev], [s], name=f"sig{i}"))
            nodes.append(helper.make_node("Mul", [prev, s], [m], name=f"mul{i}"))
            prev = m
        elif k == 1:
            r = f"r{i}"
            nodes.append(helper.make_node("Relu", [prev], [r], name=f"relu{i}"))
            prev = r
        else:
            c = f"c{i}"
            nodes.append(helper.make_node("Clip", [prev, "lo", "hi"], [c], name=f"clip{i}"))
            prev = c
        i += 1
    nodes[-1].output[0] = "y"
    lo = helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0])
    hi = helper.make_tensor("hi", TensorProto.FLOAT, [], [6.0])
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])], [lo, hi])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


if __name__ == "__main__":
    onnx.save(chain(int(sys.argv[1])), sys.argv[2])
