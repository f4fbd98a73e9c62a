#!/usr/bin/env python3
"""Compares docs/protocol.md's tables of codes with the code's.

    protocol_codes.py docs/protocol.md src/core/result.h src/codec/frame.h

The result codes: every X(NAME, VALUE, "text") of REJECTS in result.h must
have the line "| VALUE | `NAME` | text |" in the table headed
"| Result | Name | Text |", and that table holds nothing else. The ERROR
frame's codes: every FRAME_ERROR_NAME = VALUE of frame.h must have a line
"| VALUE | meaning | ... |" in the table headed "| Code | Meaning | ...",
whose meaning (before any parenthesis) holds each word of NAME, and that
table holds nothing else. The lists are read from the code, so a new code
needs only its docs line. Prints each mismatch and exits 1, or prints
"protocol codes: N results, N errors match" and exits 0. Run by
test/cli/newcomer.sh (sourced from nothing: it is a program).
"""
import re
import sys


def table_after(lines, header):
    """The rows (lists of cells) of the table whose header line starts so."""
    for index, line in enumerate(lines):
        if line.startswith(header):
            rows = []
            for row in lines[index + 2:]:
                if not row.startswith('|'):
                    break
                rows.append([cell.strip() for cell in row.strip().strip('|').split('|')])
            return rows
    return None


def main():
    doc_path, result_path, frame_path = sys.argv[1:4]
    lines = open(doc_path, encoding='utf-8').read().splitlines()
    result_h = open(result_path, encoding='utf-8').read()
    block = result_h[result_h.index('#define REJECTS(X)'):]
    block = block[:block.index('\n\n')]
    results = {int(v): (n, t) for n, v, t in
               re.findall(r'X\((\w+),\s*(\d+),\s*"([^"]*)"\)', block)}
    errors = {int(v): n for n, v in
              re.findall(r'FRAME_ERROR_(\w+)\s*=\s*(\d+)', open(frame_path).read())}
    problems = []

    rows = table_after(lines, '| Result | Name | Text |')
    if rows is None:
        problems.append('no table "| Result | Name | Text |" in ' + doc_path)
        rows = []
    documented = {}
    for row in rows:
        if len(row) != 3 or not row[0].isdigit():
            problems.append('result table: a bad line: | ' + ' | '.join(row) + ' |')
            continue
        documented[int(row[0])] = (row[1].strip('`'), row[2])
    for value, (name, text) in sorted(results.items()):
        if value not in documented:
            problems.append(f'result {value} {name} ("{text}"): no line in {doc_path}')
        elif documented[value] != (name, text):
            problems.append(f'result {value}: the docs say {documented[value]}, '
                            f'the code says {(name, text)}')
    for value in sorted(set(documented) - set(results)):
        problems.append(f'result {value} {documented[value]}: in the docs, not in the code')

    rows = table_after(lines, '| Code | Meaning |')
    if rows is None:
        problems.append('no table "| Code | Meaning |" in ' + doc_path)
        rows = []
    documented = {int(row[0]): row[1] for row in rows if row and row[0].isdigit()}
    if len(documented) != len(rows):
        problems.append('error table: a line without a code')
    for value, name in sorted(errors.items()):
        meaning = documented.get(value)
        if meaning is None:
            problems.append(f'ERROR {value} FRAME_ERROR_{name}: no line in {doc_path}')
            continue
        said = meaning.split('(')[0].lower().replace('-', ' ').split()
        missing = [w for w in name.lower().split('_') if w not in said]
        if missing:
            problems.append(f'ERROR {value}: the docs say "{meaning}", the code names it '
                            f'FRAME_ERROR_{name}')
    for value in sorted(set(documented) - set(errors)):
        problems.append(f'ERROR {value} ("{documented[value]}"): in the docs, not in the code')

    for problem in problems:
        print('protocol codes: ' + problem)
    if problems or not results or not errors:
        return 1
    print(f'protocol codes: {len(results)} results, {len(errors)} errors match')
    return 0


if __name__ == '__main__':
    sys.exit(main())
