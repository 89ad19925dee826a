"""Exported graphs, written and run in one place (lesson 9, ``textclf export``, the ONNX Runtime backend).

- ``unpacked.py`` — the recurrent models without packed sequences (``UnpackedRNN``, the GRU/LSTM steps, ``scan``),
  which ``ClassifierNet.unpack`` swaps in before a graph is traced;
- ``write.py`` — ``export_onnx``, ``export_program`` (``torch.export``), ``export_bundle``: write, then check the
  graph's logits against the PyTorch model before the file is kept;
- ``run.py`` — ``OnnxForward`` and ``program_forward``: an exported graph as a ``forward`` for the inference seam.
"""
