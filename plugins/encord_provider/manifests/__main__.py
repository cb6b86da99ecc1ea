"""`python -m encord_provider.manifests` = `encord-manifest`."""

import sys

from encord_provider.manifests.cli import main

sys.exit(main())
