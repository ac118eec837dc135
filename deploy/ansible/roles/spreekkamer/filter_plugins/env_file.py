"""env_value: one value of /etc/spreekkamer/spreekkamer.env, read the same by systemd and sh.

The env file is read by systemd (EnvironmentFile=) and by sh (`set -a; . spreekkamer.env`, the
migrate step and the CLI). Both agree on one format: the value in double quotes, with \\ before
each of  "  \\  `  $ . Inside double quotes systemd unescapes exactly those four characters and
keeps any other backslash (systemd.exec(5), "EnvironmentFile="), as sh does; neither expands
anything. A newline has no such common form: the run stops (name the setting, not the value).
"""
from ansible.errors import AnsibleFilterError


def env_value(value, name="a setting"):
    text = str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        raise AnsibleFilterError("%s: a value in spreekkamer.env cannot hold a line break" % name)
    out = []
    for ch in text:
        if ch in '"\\`$':
            out.append("\\")
        out.append(ch)
    return '"' + "".join(out) + '"'


class FilterModule(object):
    def filters(self):
        return {"env_value": env_value}
