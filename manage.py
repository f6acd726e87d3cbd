#!/usr/bin/env python
import os

from weibao.cli import main

if __name__ == "__main__":
    # manage.py is the developer's tool in a checkout, so it defaults to DEBUG; deployments
    # run the `weibao` console script, which keeps the fail-loudly defaults of settings.py.
    os.environ.setdefault("DEBUG", "1")
    main()
