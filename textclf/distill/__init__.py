"""Distillation: a small fast student trained on a big teacher's soft labels (lesson 13, ``textclf distill``).

- ``augment.py`` — new texts from the training texts (Tang et al. 2019: n-gram sampling, word dropout);
- ``transfer.py`` — ``TransferSet``: the texts, labels and the teacher's logits, encoded for the student;
- ``teacher.py`` — the teacher's logits, through its inference seam, cached in a fingerprinted file;
- ``job.py`` — ``DistillConfig``, ``transfer_set`` and ``distill_job`` (``train_job`` with the transfer set).

The loss itself is the student's (``textclf.models.losses``): the training loop is the ordinary one.
Import from the modules (``from textclf.distill.job import distill_job``): this file imports nothing, so that
the pipeline can use ``transfer.py`` without loading the job above it.
"""
