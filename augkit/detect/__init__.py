"""Text detection: a DB model's probability map to line boxes, and boxes scored against page
annotations by the ICDAR 2015 protocol (`augkit eval --task det`).

preprocess (page -> model input) -> model (ONNX Runtime) -> postprocess (DB map -> quads)
-> protocol (quads vs. annotated regions) -> evaluate (files) -> report (report.html).
"""
