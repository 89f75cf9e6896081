"""augkit eval: score a recognition model through its deployment path.

The data flow, one module per step: `load` (label file → samples, rejects recorded) →
`preprocess` (PaddleOCR's eval-time resize into width buckets) → `runners` (ONNX Runtime or
TensorRT, loaders apart from runners) → `decode` (greedy CTC against a checked class list) →
`metrics` (scores from prediction files) → `report` (report.html). `pipeline.evaluate` wires
them together; `engine` builds TensorRT engines. Nothing heavy is imported here.
"""
