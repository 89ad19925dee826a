import sys

from textclf.cli import main

sys.exit(main())
