import sys

from retrain.entrypoints.cli import main

sys.exit(main())
