"""`textclf train` under torchrun whose rank 1 dies in the middle of epoch 2 on the first attempt only.

Used by tests/test_distributed.py: torchrun (--max-restarts=1) must restart the workers, which resume from
the checkpoint of epoch 1 and finish the job.
"""

import os
import sys

from textclf import cli, training

if os.environ.get("TORCHELASTIC_RESTART_COUNT") == "0" and os.environ.get("RANK") == "1":
    original, calls = training.training_loss, []

    def dying(model, batch):
        calls.append(1)
        if len(calls) == int(os.environ["DIE_AT_STEP"]):
            os._exit(1)  # killed: no exception, no clean-up, as a crash or an OOM kill
        return original(model, batch)

    training.training_loss = dying

sys.exit(cli.main(sys.argv[1:]))
