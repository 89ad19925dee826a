"""Making prediction fast, measured: fair timing, int8, ONNX Runtime, torch.compile, bf16 and IPEX checks.

Every variant plugs into the one inference seam (``textclf.inference``) as a ``forward``
callable ``(ids, mask) -> logits``: ``backends.with_backend(bundle, quantize="int8", backend="onnxruntime")``
sets ``Bundle.forward``, and every prediction path (predict, evaluate, the server) uses it.
``textclf bench DIR`` and ``benchmarks/speed.py`` compare them side by side.
"""

from textclf.speed.hardware import bf16_supported, cpu_capability, int8_dot_product, ipex_status
from textclf.speed.quantize import dequantize, int8_dynamic, quantize_tensor
from textclf.speed.timing import Timing, compare

__all__ = ["Timing", "bf16_supported", "compare", "cpu_capability", "dequantize", "int8_dot_product", "int8_dynamic",
           "ipex_status",
           "quantize_tensor"]
