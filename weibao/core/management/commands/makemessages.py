"""`makemessages` that also finds strings marked with the project's short aliases.

Some modules import `gettext_lazy as _lazy` (where `_` is already `gettext`) or `gettext as _t`
(where `_` is `gettext_lazy`), to keep long tables of labels readable. xgettext only knows the
standard names, so without these keywords those strings never reach the catalogue and show in
English on Chinese pages.
"""

from django.core.management.commands.makemessages import Command as MakeMessagesCommand


class Command(MakeMessagesCommand):
    xgettext_options = [*MakeMessagesCommand.xgettext_options, "--keyword=_lazy", "--keyword=_t"]
