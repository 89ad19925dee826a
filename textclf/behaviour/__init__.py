"""Behavioural tests of a classifier (Ribeiro et al. 2020, CheckList): what accuracy does not tell you.

``templates`` expands templates into labelled texts (MFT), ``perturb`` edits real texts (INV, DIR),
``suite`` reads a suite file and runs it on any model (a bundle through its inference seam), ``report``
prints the table and writes the HTML page, ``counterfactual`` makes label-flipping training edits (Kaushik et
al. 2020) from a lexicon.
"""

from textclf.behaviour.suite import (
    BehaviourTest,
    Suite,
    TestResult,
    bundle_model,
    load_suite,
    run_suite,
    shipped_suite,
    wilson,
)
from textclf.behaviour.templates import Case, expand

__all__ = ["BehaviourTest", "Case", "Suite", "TestResult", "bundle_model", "expand", "load_suite", "run_suite",
           "shipped_suite", "wilson"]
