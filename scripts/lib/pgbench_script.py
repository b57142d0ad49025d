"""A pgbench script of the statements in a PostgreSQL stderr log (log_statement = 'all'), for
scripts/bench-api: usage LOG ORGANIZATION COLLECTION SCRIPT DEFINES; prints the number of
statements.

Each logged statement becomes one pgbench command, its parameters pgbench variables (written
to DEFINES as `name=value` lines for -D), which `-M prepared` sends as parameters again; a NULL
stays NULL. A UUID among the parameters other than the organization's and the collection's is
one the request made (the new upload's id, and inside its object key): pgbench makes one per
transaction with gen_random_uuid(), as the API does per request, so the inserts never collide.
"""

import re
import sys

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def logged_statements(text):
    """[(sql, {parameter number: value or None})] in log order."""
    statements = []
    # An entry is a line and its continuation lines, which the stderr log starts with a tab.
    for entry in re.split(r"\n(?!\t)", text.strip()):
        entry = entry.replace("\n\t", "\n")
        if match := re.search(r"LOG:  execute [^:]*: (.*)", entry, re.S):
            statements.append((match.group(1).strip().rstrip(";"), {}))
        elif (match := re.search(r"DETAIL:  parameters: (.*)", entry, re.S)) and statements:
            for number, null, quoted in re.findall(
                r"\$(\d+) = (?:(NULL)|'((?:[^']|'')*)')", match.group(1)
            ):
                statements[-1][1][int(number)] = None if null else quoted.replace("''", "'")
    return statements


def main(log, organization, collection, script_path, defines_path):
    statements = logged_statements(open(log).read())
    if not statements:
        sys.exit(f"{log}: no logged statements, nothing to give pgbench")
    defines = []

    def variable(name, value):
        assert "\n" not in value, value
        defines.append(f"{name}={value}")
        return f":{name}"

    def expression(name, value):
        if value is None:
            return "NULL"
        made = set(re.findall(UUID, value)) - {organization, collection}
        if not made:
            return variable(name, value)
        # Odd parts are the request's own UUIDs, even ones the text around them.
        parts = re.split("(" + "|".join(made) + ")", value)
        terms = [
            "gen_random_uuid()" if i % 2 else variable(f"{name}_{i}", part)
            for i, part in enumerate(parts)
            if part
        ]
        return terms[0] if len(terms) == 1 else "(" + " || ".join(terms) + ")"

    with open(script_path, "w") as script:
        for s, (sql, params) in enumerate(statements, 1):
            sql = re.sub(
                r"\$(\d+)",
                lambda m: expression(f"s{s}p{m.group(1)}", params[int(m.group(1))]),
                sql,
            )
            script.write(sql + ";\n")
    with open(defines_path, "w") as out:
        out.writelines(f"{define}\n" for define in defines)
    print(len(statements))


if __name__ == "__main__":
    main(*sys.argv[1:])
