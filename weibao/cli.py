"""The `weibao` console script: manage.py with Weibao's settings (`weibao migrate`, ...)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weibao.settings")
    from django.core.management import execute_from_command_line

    from weibao.core.context import acting_as

    # Changes made by a command (shell, createsuperuser, imports) are labelled with it in the
    # audit trail; web requests and tasks inside it set their own context.
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    with acting_as(label=f"command:{command}"[:150]):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
