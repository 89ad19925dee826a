"""Small programs the lessons start in separate processes (``python -m textclf.demos.NAME`` or under torchrun)."""
