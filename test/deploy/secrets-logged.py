"""Every task through which a secret passes has no_log: true (issue 12, defect 7).

A task passes a secret when its arguments, or the template it renders, name spreekkamer_secrets
or a variable holding a password or secret (…_password, …_secret, vault_…). Without no_log,
`ansible-playbook --diff` or -v prints it. Prints the offenders; exit 1 when there are any.
    python3 secrets-logged.py deploy/ansible/roles
"""
import pathlib
import re
import sys

import yaml

SECRET = re.compile(r"spreekkamer_secrets|\b[a-z_]*(password|secret)[a-z_]*\b|\bvault_[a-z_]+")
# Names that look like secrets but are not (file paths, settings about secrets).
HARMLESS = re.compile(r"secrets_(dir|host|names|database|key_file|appointments)|spreekkamer_secret_values\.keys|secrets_read\.results")

roles = pathlib.Path(sys.argv[1])
offenders = []


def tasks_of(items):
    for t in items or []:
        if not isinstance(t, dict):
            continue
        yield t
        for key in ("block", "rescue", "always"):
            yield from tasks_of(t.get(key))


for f in sorted(roles.glob("*/tasks/*.yml")) + sorted(roles.glob("*/handlers/*.yml")):
    role = f.parent.parent
    for task in tasks_of(yaml.safe_load(f.read_text())):
        if "block" in task:
            continue
        text = yaml.safe_dump({k: v for k, v in task.items() if k not in ("name", "no_log", "when", "register")})
        for mod in ("ansible.builtin.template", "template"):
            if mod in task and isinstance(task[mod], dict):
                src = task[mod].get("src", "")
                for cand in [role / "templates" / src]:
                    if "{{" not in src and cand.exists():
                        text += cand.read_text()
                if "{{" in src:  # a loop of templates: read them all
                    for item in task.get("loop", []):
                        name = item.get("src") if isinstance(item, dict) else f"{item}.j2"
                        cand = role / "templates" / str(name)
                        if cand.exists():
                            text += cand.read_text()
        # Only what is templated can leak: the expressions inside {{ }} and {% %}.
        exprs = " ".join(re.findall(r"\{\{(.*?)\}\}|\{%(.*?)%\}", text, re.S) and
                         [a or b for a, b in re.findall(r"\{\{(.*?)\}\}|\{%(.*?)%\}", text, re.S)])
        hits = [m.group(0) for m in SECRET.finditer(HARMLESS.sub("", exprs))]
        if hits and task.get("no_log") is not True:
            offenders.append(f"{f.relative_to(roles)}: '{task.get('name')}' passes {sorted(set(hits))[:3]} without no_log")

for o in offenders:
    print(o)
sys.exit(1 if offenders else 0)
