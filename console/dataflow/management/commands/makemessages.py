"""Django's makemessages, which also reads the templates given to `said` and `said_n`.

Those store a sentence as its English template and parameters (console.dataflow.words.events); the
template is the msgid its translation is found by when the sentence is shown.
"""

from django.core.management.commands.makemessages import Command as MakeMessages


class Command(MakeMessages):
    xgettext_options = [*MakeMessages.xgettext_options, "--keyword=said:1", "--keyword=said_n:1,2"]
