"""A recognition model that reads crops held in memory, as `augkit eval` reads files.

`augkit audit` scores thousands of augmented crops that never touch the disk. It reads them
through the same parts as eval: the runner (ONNX Runtime or TensorRT), PaddleOCR's eval-time
resize and normalisation into width buckets, batches always run at the full batch size (so a
crop's reading does not depend on its neighbours), and the greedy CTC decode.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np

from augkit.eval.decode import Classes, ctc_greedy, make_classes
from augkit.eval.pipeline import _assign_widths, _default_widths, _dictionary, _warm_up
from augkit.eval.preprocess import check_shape, normalised, place
from augkit.eval.runners import make_runner


class Recognizer:
    """Open with a model; `read(images)` gives (text, confidence) per BGR uint8 crop.

    Use as a context manager (or call `close`): the runner holds a session or an engine.
    """

    def __init__(self, model: str | Path, *, dict_file: str | Path | None = None, space: bool | None = None,
                 height: int = 48, widths: tuple[int, ...] = (), batch: int = 16, backend: str = "auto",
                 dynamic_widths: tuple[int, ...] = ()):
        """`dynamic_widths`: the width buckets for a model of dynamic width when `widths` is not
        given (default: eval's own choice, 320)."""
        self._stack = ExitStack()
        try:
            self.runner = self._stack.enter_context(make_runner(model, backend, batch))
            # the choices `augkit eval` makes, made by its own helpers
            if widths:
                self.widths = check_shape(height, widths)
            elif dynamic_widths and self.runner.input_range().fixed(3) is None:
                self.widths = check_shape(height, dynamic_widths)
            else:
                self.widths = _default_widths([self.runner])
            _assign_widths([self.runner], height, self.widths, batch)
            entries, source = _dictionary(dict_file, [self.runner])
            n_classes = _warm_up({self.widths[0]: self.runner}, height, batch, 1)[self.widths[0]][1]
            self.classes: Classes = make_classes(entries, n_classes, space, source)
        except BaseException:
            self._stack.close()
            raise
        self.height, self.batch = height, batch

    def describe(self) -> dict:
        return {"model": self.runner.describe(), **self.runner.info(), "height": self.height,
                "widths": list(self.widths), "batch": self.batch, "classes": len(self.classes),
                "space": self.classes.space, "dict": self.classes.source}

    def read(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        """The model's reading of every crop, in order."""
        out: list[tuple[str, float] | None] = [None] * len(images)
        buckets: dict[int, list[tuple[int, np.ndarray]]] = {}
        for i, image in enumerate(images):
            placement = place(image.shape[0], image.shape[1], self.height, self.widths)
            buckets.setdefault(placement.width, []).append((i, normalised(image, self.height, placement)))
        for width, items in buckets.items():
            for start in range(0, len(items), self.batch):
                chunk = items[start:start + self.batch]
                array = np.zeros((self.batch, 3, self.height, width), np.float32)
                for row, (_, x) in enumerate(chunk):
                    array[row, :, :, :x.shape[2]] = x
                decoded = ctc_greedy(self.runner.infer(array), self.classes)
                for (i, _), reading in zip(chunk, decoded):
                    out[i] = reading
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Recognizer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
