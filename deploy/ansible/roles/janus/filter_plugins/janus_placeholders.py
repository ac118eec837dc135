"""fill_placeholders: the @NAME@ substitution of scripts/janus-config.mjs, for Ansible.

deploy/janus/*.jcfg.in are rendered by that script (make run, tests) and by this role from the
same files; an unknown placeholder stops the run, as it stops the script.
"""
import re

from ansible.errors import AnsibleFilterError


def fill_placeholders(text, values):
    def one(match):
        name = match.group(1)
        if name not in values:
            raise AnsibleFilterError("unknown placeholder @%s@" % name)
        return str(values[name])

    return re.sub(r"@([A-Z_]+)@", one, text)


class FilterModule(object):
    def filters(self):
        return {"fill_placeholders": fill_placeholders}
