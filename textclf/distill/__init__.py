"""Distillation: a small fast student trained on a big teacher's soft labels (lesson 13, ``textclf distill``).

- ``augment.py`` — new texts from the training texts (Tang et al. 2019: n-gram sampling, word dropout);
- ``distillation_set.py`` — ``DistillationSet``: the texts, labels and the teacher's logits, encoded for the
  student;
- ``teacher.py`` — the teacher's logits, through its inference seam, cached in a fingerprinted file;
- ``job.py`` — ``DistillConfig``, ``make_distillation_set`` and ``distill_job`` (the pipeline's steps with the
  distillation set as the training data and its loss as the criterion).

The loss itself is a criterion (``textclf.models.losses.Distillation``): the training loop is the ordinary one.
The whole folder is one layer, above the pipeline ("jobs and services"): nothing below it imports it.
"""
