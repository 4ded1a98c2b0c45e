#!/usr/bin/env python3
"""Checks the broker definitions against the event catalog and the code, and everything that
loads them.

The event catalog (the table in proto/README.md) names each event's producers and consumers.
From it follow each service user's permissions in definitions.json: its own queues
(`<service>.*`), publishing exactly the events it produces and binding exactly the events it
consumes on the events exchange. The code lists the queues the services consume and their
bindings (`QUEUES` in crates/events/src/contracts.rs, which each service's `<X>_QUEUE` and
`<X>_BINDINGS` constants must repeat): definitions.json declares every one of them, with its
`.retry` and `.dlq` queues and exactly the arguments the consumer declares them with
(crates/events/src/broker.rs, `queue_declarations`; the broker refuses a declaration whose
arguments differ), and exactly its bindings, so that no event is dropped before its consumer
first starts. This script checks that definitions.json says that and no more, that no file
holds a user's credentials but dev-users.json (development passwords only), and that compose,
the Kubernetes Job, the Secret's example and `make run` agree on the users.

    deploy/rabbitmq/check-definitions.py           check (scripts/lint-infra.sh runs it)
    deploy/rabbitmq/check-definitions.py --write   rewrite the permissions, queues and bindings
                                                   in definitions.json from the catalog and the
                                                   code (after adding an event or a queue)

Python 3 standard library only.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "deploy" / "rabbitmq"
EXCHANGE = "faded_skies.events"
VHOST = "/"
# Sections a definitions file may hold; "users" is not one: credentials never live there.
SECTIONS = {
    "rabbit_version",
    "rabbitmq_version",
    "vhosts",
    "exchanges",
    "queues",
    "bindings",
    "policies",
    "parameters",
    "global_parameters",
    "permissions",
    "topic_permissions",
}

errors = []


def error(message):
    errors.append(message)


def catalog():
    """(producers, consumers): service -> event names, from proto/README.md's table."""
    text = (ROOT / "proto" / "README.md").read_text()
    table = text.split("## Event catalog", 1)[1].split("\n## ", 1)[0]
    producers, consumers = {}, {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) < 5 or not cells[1].startswith("`"):
            continue
        name = cells[1].strip("`")
        for column, into in ((cells[3], producers), (cells[4], consumers)):
            for service in column.split(","):
                # "orders (optional)" is a consumer like any other.
                service = re.sub(r"\s*\(.*\)$", "", service.strip())
                if service:
                    into.setdefault(service, []).append(name)
    return producers, consumers


def code_queues():
    """[(queue, [bindings])] from `QUEUES` in crates/events/src/contracts.rs, in its order."""
    text = (ROOT / "crates" / "events" / "src" / "contracts.rs").read_text()
    block = re.search(r"pub const QUEUES: &\[Queue\] = &\[(.*?)\n\];", text, re.S)
    if not block:
        error("crates/events/src/contracts.rs: no `pub const QUEUES: &[Queue] = &[...];`")
        return []
    queues = []
    for name, bindings in re.findall(
        r'Queue\s*\{\s*name:\s*"([^"]+)",\s*bindings:\s*&\[(.*?)\],?\s*\}', block.group(1), re.S
    ):
        queues.append((name, re.findall(r'"([^"]+)"', bindings)))
    if not queues:
        error("crates/events/src/contracts.rs: QUEUES lists no queue")
    return queues


def service_queues():
    """{queue: [bindings]} from every service's `<X>_QUEUE` and `<X>_BINDINGS` constants."""
    found = {}
    for path in sorted((ROOT / "services").glob("*/src/**/*.rs")):
        text = path.read_text()
        for prefix, name in re.findall(r'pub const (\w+)_QUEUE: &str = "([^"]+)";', text):
            bindings = re.search(
                rf"pub const {prefix}_BINDINGS: &\[&str\] = &\[(.*?)\];", text, re.S
            )
            where = path.relative_to(ROOT)
            if not bindings:
                error(f"{where}: {prefix}_QUEUE without {prefix}_BINDINGS beside it")
                continue
            if name in found:
                error(f"{where}: queue {name} is declared twice in services/")
            found[name] = re.findall(r'"([^"]+)"', bindings.group(1))
    return found


def queue_arguments(name):
    """The three queues of consumer queue `name` as crates/events/src/broker.rs declares them."""
    def queue(queue_name, arguments):
        return {
            "name": queue_name,
            "vhost": VHOST,
            "durable": True,
            "auto_delete": False,
            "arguments": arguments,
        }

    return [
        queue(f"{name}.dlq", {"x-queue-type": "quorum"}),
        queue(
            name,
            {
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": f"{name}.dlq",
                "x-delivery-limit": 20,
            },
        ),
        queue(
            f"{name}.retry",
            {
                "x-queue-type": "classic",
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
            },
        ),
    ]


def expected_topology(queues):
    """(queues, bindings) sections of definitions.json for the code's queues."""
    declared, bindings = [], []
    for name, keys in queues:
        declared.extend(queue_arguments(name))
        for key in keys:
            bindings.append(
                {
                    "source": EXCHANGE,
                    "vhost": VHOST,
                    "destination": name,
                    "destination_type": "queue",
                    "routing_key": key,
                    "arguments": {},
                }
            )
    return declared, bindings


def check_queues(queues, services, consumers):
    """The code's queues: the services' constants say the same, and each binds only events the
    catalog names its service a consumer of."""
    in_services = service_queues()
    listed = dict(queues)
    if len(listed) != len(queues):
        error("crates/events/src/contracts.rs: a queue is listed twice in QUEUES")
    for name in sorted(set(listed) | set(in_services)):
        if name not in in_services:
            error(f"QUEUES names {name}, which no service's <X>_QUEUE constant declares")
        elif name not in listed:
            error(f"a service consumes {name}, which QUEUES in crates/events/src/contracts.rs "
                  "does not list (the definitions would not declare it)")
        elif sorted(listed[name]) != sorted(in_services[name]):
            error(f"{name}: the service binds {in_services[name]}, QUEUES says {listed[name]}")
    for name, keys in queues:
        service = name.split(".")[0]
        if service not in services:
            error(f"queue {name}: {service} is not a service of the catalog")
            continue
        if len(set(keys)) != len(keys):
            error(f"queue {name} binds an event twice")
        for key in keys:
            if key not in consumers.get(service, []):
                error(f"queue {name} binds {key}, which the catalog does not name {service} a "
                      "consumer of (proto/README.md)")


def alternatives(names):
    if not names:
        return "^$"  # nothing
    return "^(" + "|".join(re.escape(name) for name in names) + ")$"


def expected_permissions(services, producers, consumers):
    permissions, topic_permissions = [], []
    for service in services:
        own = re.escape(service)
        permissions.append(
            {
                "user": service,
                "vhost": VHOST,
                # Its queues: <service>.<purpose>, .retry and .dlq.
                "configure": f"^{own}\\.",
                # The exchange (publish), the default exchange (retries and dead letters
                # re-published to its own queues), its queues (bindings).
                "write": f"^({re.escape(EXCHANGE)}|amq\\.default|{own}\\..+)$",
                "read": f"^({re.escape(EXCHANGE)}|{own}\\..+)$",
            }
        )
        topic_permissions.append(
            {
                "user": service,
                "vhost": VHOST,
                "exchange": EXCHANGE,
                "write": alternatives(producers.get(service, [])),
                "read": alternatives(consumers.get(service, [])),
            }
        )
    return permissions, topic_permissions


def dump(value):
    return json.dumps(value, indent=2) + "\n"


def load(path):
    try:
        text = path.read_text()
        return text, json.loads(text)
    except (OSError, ValueError) as err:
        error(f"{path.relative_to(ROOT)}: {err}")
        return "", None


def check_regexes(definitions):
    for section in ("permissions", "topic_permissions"):
        for entry in definitions.get(section, []):
            for key in ("configure", "write", "read"):
                if key in entry:
                    try:
                        re.compile(entry[key])
                    except re.error as err:
                        error(f"definitions.json {section} {entry.get('user')}.{key}: {err}")


def check_definitions(definitions, services, producers, consumers, queues):
    extra = set(definitions) - SECTIONS
    if extra:
        error(f"definitions.json: unexpected sections {sorted(extra)} (users live in "
              "dev-users.json locally and in the Secret in production)")
    if not any(vhost.get("name") == VHOST for vhost in definitions.get("vhosts", [])):
        error(f"definitions.json: vhost {VHOST!r} missing")
    exchanges = [x for x in definitions.get("exchanges", []) if x.get("name") == EXCHANGE]
    if len(exchanges) != 1 or exchanges[0].get("type") != "topic" or not exchanges[0].get("durable"):
        error(f"definitions.json: exactly one durable topic exchange {EXCHANGE} expected")
    check_regexes(definitions)
    permissions, topic_permissions = expected_permissions(services, producers, consumers)
    fix = f"(run {Path(__file__).relative_to(ROOT)} --write)"
    for section, expected in (("permissions", permissions), ("topic_permissions", topic_permissions)):
        found = {entry.get("user"): entry for entry in definitions.get(section, [])}
        for entry in expected:
            user = entry["user"]
            if found.get(user) != entry:
                error(f"definitions.json: {section} of {user} do not follow the event catalog "
                      f"in proto/README.md {fix}:\n  expected {json.dumps(entry)}\n"
                      f"  found    {json.dumps(found.get(user))}")
        for user in sorted(set(found) - {entry["user"] for entry in expected}):
            error(f"definitions.json: {section} of {user}, which the catalog does not name {fix}")
        if definitions.get(section) != expected and not errors:
            error(f"definitions.json: {section} out of order {fix}")
    declared, bindings = expected_topology(queues)
    for section, expected in (("queues", declared), ("bindings", bindings)):
        found = definitions.get(section, [])
        if found == expected:
            continue
        key = (lambda q: q.get("name")) if section == "queues" else (
            lambda b: (b.get("destination"), b.get("routing_key")))
        found_by, expected_by = {key(x): x for x in found}, {key(x): x for x in expected}
        for item in sorted(set(expected_by) - set(found_by), key=str):
            error(f"definitions.json: {section} lacks {item} {fix}")
        for item in sorted(set(found_by) - set(expected_by), key=str):
            error(f"definitions.json: {section} has {item}, which no consumer declares {fix}")
        for item in sorted(set(found_by) & set(expected_by), key=str):
            if found_by[item] != expected_by[item]:
                error(f"definitions.json: {section} {item} differs from what its consumer "
                      f"declares {fix}:\n  expected {json.dumps(expected_by[item])}\n"
                      f"  found    {json.dumps(found_by[item])}")
        if set(found_by) == set(expected_by) and all(
                found_by[k] == expected_by[k] for k in found_by):
            error(f"definitions.json: {section} out of order {fix}")


def check_dev_users(users, services):
    names = [user.get("name") for user in users.get("users", [])]
    if sorted(names) != sorted(services) or set(users) != {"users"}:
        error(f"dev-users.json: exactly the users {services} expected, found {names}")
    for user in users.get("users", []):
        name = user.get("name")
        if user.get("tags") not in ([], ""):
            # Above all never `impersonator`: it may publish any user_id.
            error(f"dev-users.json: {name} must have no tags, has {user.get('tags')}")
        if user.get("password") != f"{name}-dev" or "password_hash" in user:
            error(f"dev-users.json: {name}'s development password is {name}-dev (scripts/run.sh "
                  "and docker-compose.yml build URLs with it)")


def check_loaders(services):
    users = " ".join(services)
    compose = (ROOT / "docker-compose.yml").read_text()
    if f"AMQP_USERS: {users}\n" not in compose:
        error(f"docker-compose.yml: rabbitmq-definitions needs AMQP_USERS: {users}")
    job = (HERE / "job.yaml").read_text()
    if f"value: {users}\n" not in job:
        error(f"deploy/rabbitmq/job.yaml: AMQP_USERS must be {users}")
    secrets = (ROOT / "deploy" / "k8s" / "secrets.example.env").read_text()
    for service in services:
        upper = service.upper().replace("-", "_")
        if f"AMQP_PASSWORD_{upper}: {service}-dev\n" not in compose:
            error(f"docker-compose.yml: rabbitmq-definitions needs AMQP_PASSWORD_{upper}: {service}-dev")
        if f"AMQP_URL: amqp://{service}:{service}-dev@rabbitmq:5672/%2f\n" not in compose:
            error(f"docker-compose.yml: {service} must connect as its own user")
        if not re.search(rf"name: AMQP_PASSWORD_{upper}\n\s+valueFrom:\n\s+secretKeyRef:\n"
                         rf"\s+name: faded-skies-secrets\n\s+key: {service}-amqp-password\n", job):
            error(f"deploy/rabbitmq/job.yaml: AMQP_PASSWORD_{upper} from {service}-amqp-password")
        if not re.search(rf"^{re.escape(service)}-amqp-password=", secrets, re.M):
            error(f"deploy/k8s/secrets.example.env: {service}-amqp-password missing")
        kustomization = ROOT / "deploy" / "k8s" / "base" / "services" / service / "kustomization.yaml"
        if kustomization.exists():
            text = kustomization.read_text()
            if (f"key: {service}-amqp-password" not in text
                    or f"value: amqps://{service}:$(AMQP_PASSWORD)@$(AMQP_ADDRESS)/%2f" not in text):
                error(f"{kustomization.relative_to(ROOT)}: AMQP_URL as {service} with its password")


def main():
    write = sys.argv[1:] == ["--write"]
    if sys.argv[1:] and not write:
        print(__doc__, file=sys.stderr)
        return 64
    producers, consumers = catalog()
    services = sorted(
        set(producers) | set(consumers),
        key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s),
    )
    queues = code_queues()
    check_queues(queues, services, consumers)
    path = HERE / "definitions.json"
    text, definitions = load(path)
    if definitions is None:
        return report()
    if write:
        permissions, topic_permissions = expected_permissions(services, producers, consumers)
        declared, bindings = expected_topology(queues)
        generated = {"queues": declared, "bindings": bindings, "permissions": permissions,
                     "topic_permissions": topic_permissions}
        ordered = {}
        for section in ("vhosts", "exchanges", "queues", "bindings", "permissions",
                        "topic_permissions"):
            if section in generated:
                ordered[section] = generated[section]
            elif section in definitions:
                ordered[section] = definitions[section]
        ordered.update({k: v for k, v in definitions.items() if k not in ordered})
        path.write_text(dump(ordered))
        print(f"wrote {path.relative_to(ROOT)}")
        return report()
    # The loader reads the users off `"user": "..."` lines: keep one key per line.
    if text != dump(definitions):
        error("definitions.json: not formatted as json.dumps(indent=2) writes it (run with --write)")
    check_definitions(definitions, services, producers, consumers, queues)
    _, users = load(HERE / "dev-users.json")
    if users is not None:
        check_dev_users(users, services)
    check_loaders(services)
    return report()


# Services in the order the files list them (the catalog's own order is by event).
ORDER = ["auth", "catalog", "orders", "payments", "tracking", "chat", "notification", "realtime"]


def report():
    for message in errors:
        print(f"check-definitions: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
