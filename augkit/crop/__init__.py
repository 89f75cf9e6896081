"""`augkit crop`: real annotated pages (PaddleOCR det labels, ICDAR 2015, SROIE) cut into
rectified line crops in generate's output layout."""
